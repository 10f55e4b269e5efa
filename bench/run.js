#!/usr/bin/env node
'use strict';
// Benchmarks (`npm run bench`): each compares our code with a baseline measured in the same run,
// so the ratios mean something on a shared, noisy machine. Prints a table and writes
// bench/results/latest.json. The burst rows compare with a limit instead (baseline = the
// configured concurrency, ours = the most generations the server saw at once). The stream rows
// (bench/stream.js) compare alltalk-stream with a bare reader in a plain process and check the
// product owner's goals (chunk latency median ≤ 5 ms; RSS growth ≤ 30 MB while streaming 200 MB to
// a file). The cache rows (bench/cache.js) check the audio cache's goals: a hit ≥ 100× faster than
// generating against the simulator at its default speed, and a miss as fast with 10 000 entries
// as with none. The wyoming rows (bench/wyoming.js) check alltalk-wyoming, the Wyoming server for
// Home Assistant, in a real Node-RED against the simulator; their ratio column holds a value: the
// node's own delay to the first audio-chunk beyond AllTalk's own first audio (median ≤ 10 ms), a
// cached phrase's synthesize → audio-stop (median ≤ 20 ms), and the requests lost of 20 clients at
// once (0). The failover rows (bench/failover.js) check routing between AllTalk servers (fallbacks,
// shared load) in a real Node-RED against simulators whose processes are killed and started again:
// a primary killed mid-queue → the next message answered by the fallback within the fallback's own
// generation time + 1 s; a soak of 2 000 messages with the primary down 5 s of every 15 s → every
// message answered exactly once (0 lost, 0 duplicated), the server of each counted; shared load over
// two servers at concurrency 1 each → throughput ≥ 1.8× one server. A row whose check fails is
// marked **FAIL** and the run exits with code 1.
// `node bench/run.js [group…]` (`npm run bench -- cache`) runs only those groups (client,
// node-path, burst, stream, cache, wyoming, failover) and writes bench/results/latest-<groups>.json instead.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { AllTalkClient, encodeWav, joinWavs } = require('../dist/api');
const { RequestQueue } = require('../dist/runtime/request-queue');
const { spawn } = require('node:child_process');
const { nodePath } = require('./node-path');
const { burst } = require('./burst');
const { stream } = require('./stream');
const { cache } = require('./cache');
const { wyoming } = require('./wyoming');
const { failover } = require('./failover');

const GROUPS = ['client', 'node-path', 'burst', 'stream', 'cache', 'wyoming', 'failover'];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn, rounds) {
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

async function clientOverhead(sim) {
  // Generate + download with the client vs the same two requests with Node's fetch.
  const client = new AllTalkClient({ host: '127.0.0.1', port: sim.port });
  const body = 'text_input=The+washing+machine+is+done.';
  const raw = async () => {
    const r = await fetch(`${sim.url}/api/tts-generate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const j = await r.json();
    await (await fetch(`${sim.url}${j.output_file_url}`)).arrayBuffer();
  };
  const ours = async () => {
    const r = await client.ttsGenerate({ text_input: 'The washing machine is done.' });
    await client.fetchAudio(r.output_file_url);
  };
  await raw();
  await ours();
  const rounds = 60;
  const a = await time(raw, rounds);
  const b = await time(ours, rounds);
  await client.close();
  return { name: 'generate + download (median ms)', baseline: a, ours: b, ratio: b / a, note: 'client vs plain fetch, simulator on loopback' };
}

async function statusCalls(sim) {
  const client = new AllTalkClient({ host: '127.0.0.1', port: sim.port });
  const raw = async () => (await fetch(`${sim.url}/api/currentsettings`)).json();
  const ours = () => client.currentSettings();
  await raw();
  await ours();
  const a = await time(raw, 200);
  const b = await time(ours, 200);
  await client.close();
  return { name: 'currentSettings (median ms)', baseline: a, ours: b, ratio: b / a, note: 'client (keep-alive pool) vs plain fetch' };
}

async function queueOverhead() {
  const jobs = 20000;
  const work = () => new Promise((resolve) => setImmediate(resolve));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: jobs }, work));
  const direct = performance.now() - t0;
  const q = new RequestQueue(jobs, jobs, 'bench');
  const t1 = performance.now();
  await Promise.all(Array.from({ length: jobs }, () => q.run(work)));
  const queued = performance.now() - t1;
  return { name: `${jobs} jobs (total ms)`, baseline: direct, ours: queued, ratio: queued / direct, note: 'through RequestQueue vs Promise.all' };
}

function joinSpeed() {
  // 10 parts of 5 s each (24 kHz float, like XTTS) joined, vs copying the same bytes once.
  const part = encodeWav(new Float32Array(24000 * 5).map((_, i) => Math.sin(i / 10)), { sampleRate: 24000, encoding: 'f32', factChunk: true });
  const parts = Array.from({ length: 10 }, () => part);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) Buffer.concat(parts);
  const copy = (performance.now() - t0) / 5;
  const t1 = performance.now();
  for (let i = 0; i < 5; i++) joinWavs(parts);
  const join = (performance.now() - t1) / 5;
  return { name: 'join 10 × 5 s WAV parts (ms)', baseline: copy, ours: join, ratio: join / copy, note: 'joinWavs (decode, convert, encode) vs Buffer.concat' };
}

/** Runs `body` (an async function body with `client`, `params`, `file` in scope) in a fresh
 * process and returns the growth of its peak RSS in MB over an idle process. */
function peakRssMb(sim, params, file, body) {
  const code = `const { AllTalkClient } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'api'))});
    const client = new AllTalkClient({ host: '127.0.0.1', port: ${sim.port} });
    const params = ${JSON.stringify(params)}; const file = ${JSON.stringify(file)};
    const before = process.resourceUsage().maxRSS;
    (async () => { ${body} })().then(async () => {
      await client.close();
      console.log(JSON.stringify((process.resourceUsage().maxRSS - before) / 1024));
    });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${c}`))));
  });
}

async function streamMemory(sim) {
  // Peak memory while saving a long stream: streamTtsToFile (streams to disk) vs
  // streamTtsToBuffer (holds it all), each in a fresh process.
  const text = 'Streaming memory benchmark sentence. '.repeat(60).slice(0, 1990);
  const params = { text, voice: sim.voices[0], language: 'en' };
  const file = path.join(os.tmpdir(), `alltalk-bench-${process.pid}.wav`);
  const toBuffer = await peakRssMb(sim, params, file, 'await client.streamTtsToBuffer(params);');
  const toFile = await peakRssMb(sim, params, file, 'await client.streamTtsToFile(params, file);');
  const size = fs.statSync(file).size / 1e6;
  fs.rmSync(file, { force: true });
  return { name: `save a ${size.toFixed(1)} MB stream (peak RSS growth, MB)`, baseline: toBuffer, ours: toFile, ratio: toFile / toBuffer, note: 'streamTtsToFile vs streamTtsToBuffer, each in a fresh process' };
}

/** The simulator in its own process, so its memory and CPU are not counted as ours. */
function startSimulator(options) {
  const code = `const { AllTalkSimulator } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'simulator'))});
    const sim = new AllTalkSimulator(${JSON.stringify(options)});
    sim.start().then(() => console.log(JSON.stringify({ url: sim.url, port: sim.port, voices: sim.voices })));
    process.on('SIGTERM', () => sim.stop().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d) => {
      const info = JSON.parse(String(d));
      resolve({ ...info, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
    });
  });
}

async function main() {
  const only = process.argv.slice(2);
  const unknown = only.filter((g) => !GROUPS.includes(g));
  if (unknown.length) throw new Error(`unknown benchmark group ${unknown.join(', ')}: choose from ${GROUPS.join(', ')}`);
  const want = (group) => only.length === 0 || only.includes(group);
  const results = [];
  if (want('client')) {
    const sim = await startSimulator({ port: 0, profile: 'xtts', msPerChar: 0, minGenerationMs: 0, streamChunkIntervalMs: 0, audioSecondsPerChar: 0.3 });
    try {
      results.push(await statusCalls(sim));
      results.push(await clientOverhead(sim));
      results.push(await queueOverhead());
      results.push(joinSpeed());
      results.push(await streamMemory(sim));
    } finally {
      await sim.stop();
    }
  }
  // Real Node-RED processes against the fake AllTalk (bench/fake-alltalk.js), each in its own process.
  if (want('node-path')) results.push(...await nodePath());
  if (want('burst')) results.push(...await burst());
  if (want('stream')) results.push(...await stream());
  // The audio cache in a real Node-RED against the simulator (its own processes).
  if (want('cache')) results.push(...await cache());
  // alltalk-wyoming (the Wyoming server for Home Assistant) in a real Node-RED against the simulator.
  if (want('wyoming')) results.push(...await wyoming());
  // Routing between AllTalk servers (fallbacks, shared load) in a real Node-RED against simulators killed and restarted.
  if (want('failover')) results.push(...await failover());
  const rows = results.map((r) => `| ${r.name} | ${r.baseline.toFixed(2)} | ${r.ours.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.note} |`);
  console.log(['| benchmark | baseline | ours | ratio | compared |', '|---|---:|---:|---:|---|', ...rows].join('\n'));
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = only.length ? `latest-${[...new Set(only)].join('+')}.json` : 'latest.json';
  fs.writeFileSync(path.join(dir, file), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2));
  const failed = results.filter((r) => r.failed);
  if (failed.length) {
    console.error(`FAILED: ${failed.map((r) => r.name).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
