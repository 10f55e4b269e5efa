#!/usr/bin/env node
'use strict';
// Where the time of the node path goes (not part of `npm run bench`): runs the node-path loop in
// a real Node-RED with the CPU profiler on (in-process inspector, started after the warm-up,
// so start-up is not counted), then prints
// - the share of the profile per owner: this package (dist/), undici, Node-RED, other modules,
//   Node core, GC, idle;
// - the same with the time of Node core and native frames charged to the nearest package frame
//   that called them ("attributed": what each owner causes);
// - the top functions by self time, and our functions by attributed self time and by total time.
// Usage: node bench/profile.js [messages=6000] [--out=dir] [--package=dir]
//   --out: where the .cpuprofile files are kept; --package: another build of this package to
//   profile (the layer loops always use this one's dist/).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startFakeAllTalk } = require('./fake-alltalk');
const { startNodeRed, cpuMs } = require('./node-red');
const { nodePathFlows, loop, median, startAll } = require('./node-path');
const { startBaseline, TEXT } = require('./undici-baseline');

const root = fs.realpathSync(path.join(__dirname, '..'));

function owner(frame) {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'program';
    return 'native';
  }
  if (url.includes(`${root}/dist/`) || /\/dist\/(api|runtime|nodes)\//.test(url)) return 'ours';
  if (url.includes('/node_modules/undici/') || url.startsWith('wasm://')) return 'undici';
  if (url.includes('/node_modules/@node-red/') || url.includes('/node_modules/node-red/') || url.startsWith('Function node:')) return 'node-red';
  if (url.includes('/node_modules/')) return 'other modules';
  if (url.startsWith('node:')) return 'node core';
  if (url.startsWith('file://') || url.startsWith('/')) return 'other modules';
  return 'native';
}

const PACKAGE_OWNERS = new Set(['ours', 'undici', 'node-red', 'other modules']);

function short(frame) {
  const { url, functionName, lineNumber } = frame;
  let where = url;
  const i = url.indexOf('/node_modules/');
  if (url.includes(`${root}/`)) where = url.slice(url.indexOf(`${root}/`) + root.length + 1);
  else if (i >= 0) where = url.slice(i + 14);
  return `${functionName || '(anonymous)'} ${where ? `${where.replace(/^file:\/\//, '')}:${lineNumber + 1}` : ''}`.trim();
}

function analyse(profile, messages) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  // The time of a sample is the delta to the next one.
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const nearestPackageFrame = (id) => {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      if (PACKAGE_OWNERS.has(owner(byId.get(cur).callFrame))) return cur;
    }
    return undefined;
  };
  const byOwner = {};
  const attributedOwner = {};
  const fnSelf = new Map();
  const fnAttributed = new Map();
  const fnTotal = new Map();
  const key = (id) => short(byId.get(id).callFrame);
  for (const [id, ms] of self) {
    const frame = byId.get(id).callFrame;
    const o = owner(frame);
    byOwner[o] = (byOwner[o] ?? 0) + ms;
    fnSelf.set(key(id), { owner: o, ms: (fnSelf.get(key(id))?.ms ?? 0) + ms });
    let a = o;
    if (!PACKAGE_OWNERS.has(o) && o !== 'idle' && o !== 'gc' && o !== 'program') {
      const p = nearestPackageFrame(id);
      if (p !== undefined) {
        a = owner(byId.get(p).callFrame);
        const k = key(p);
        fnAttributed.set(k, { owner: a, ms: (fnAttributed.get(k)?.ms ?? 0) + ms });
      } else {
        a = 'node core (event loop, no package frame)';
      }
    } else if (PACKAGE_OWNERS.has(o)) {
      fnAttributed.set(key(id), { owner: o, ms: (fnAttributed.get(key(id))?.ms ?? 0) + ms });
    }
    attributedOwner[a] = (attributedOwner[a] ?? 0) + ms;
    // Total (inclusive) time of our functions: once per function per sample.
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      if (owner(f) !== 'ours') continue;
      const k = key(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      fnTotal.set(k, (fnTotal.get(k) ?? 0) + ms);
    }
  }
  return { wallMs, messages, byOwner, attributedOwner, fnSelf, fnAttributed, fnTotal };
}

function printAnalysis(a, title) {
  const busy = a.wallMs - (a.byOwner.idle ?? 0);
  const perMsg = (ms) => (ms * 1000 / a.messages).toFixed(1);
  const pct = (ms) => `${(100 * ms / busy).toFixed(1)}%`;
  const lines = [`### ${title}`, '',
    `${a.messages} messages in ${a.wallMs.toFixed(0)} ms of profile (${(a.wallMs * 1000 / a.messages).toFixed(0)} µs/msg wall); ` +
      `CPU busy (not idle) ${busy.toFixed(0)} ms = ${perMsg(busy)} µs/msg. Percentages are of the busy time.`, '',
    '| owner | self ms | µs/msg | share | attributed ms | µs/msg | share |', '|---|---:|---:|---:|---:|---:|---:|'];
  const owners = [...new Set([...Object.keys(a.byOwner), ...Object.keys(a.attributedOwner)])].filter((o) => o !== 'idle');
  owners.sort((x, y) => (a.attributedOwner[y] ?? 0) - (a.attributedOwner[x] ?? 0));
  for (const o of owners) {
    const s = a.byOwner[o] ?? 0;
    const t = a.attributedOwner[o] ?? 0;
    lines.push(`| ${o} | ${s.toFixed(0)} | ${perMsg(s)} | ${pct(s)} | ${t.toFixed(0)} | ${perMsg(t)} | ${pct(t)} |`);
  }
  const top = (map, n, filter = () => true) => [...map].filter(([, v]) => filter(v)).sort((x, y) => (y[1].ms ?? y[1]) - (x[1].ms ?? x[1])).slice(0, n);
  lines.push('', 'Top 30 functions by self time:', '', '| function | owner | ms | µs/msg | share |', '|---|---|---:|---:|---:|');
  for (const [k, v] of top(a.fnSelf, 30)) lines.push(`| ${k} | ${v.owner} | ${v.ms.toFixed(0)} | ${perMsg(v.ms)} | ${pct(v.ms)} |`);
  lines.push('', 'Our functions (dist/) by attributed self time (own code + the Node core/native work they call directly):', '',
    '| function | ms | µs/msg | share |', '|---|---:|---:|---:|');
  for (const [k, v] of top(a.fnAttributed, 30, (v) => v.owner === 'ours')) lines.push(`| ${k} | ${v.ms.toFixed(0)} | ${perMsg(v.ms)} | ${pct(v.ms)} |`);
  lines.push('', 'Top undici and Node-RED functions by attributed self time:', '', '| function | owner | ms | µs/msg | share |', '|---|---|---:|---:|---:|');
  for (const [k, v] of top(a.fnAttributed, 25, (v) => v.owner === 'undici' || v.owner === 'node-red')) {
    lines.push(`| ${k} | ${v.owner} | ${v.ms.toFixed(0)} | ${perMsg(v.ms)} | ${pct(v.ms)} |`);
  }
  lines.push('', 'Our functions by total time (on the stack):', '', '| function | ms | µs/msg | share |', '|---|---:|---:|---:|');
  for (const [k, ms] of top(a.fnTotal, 25)) lines.push(`| ${k} | ${ms.toFixed(0)} | ${perMsg(ms)} | ${pct(ms)} |`);
  return lines.join('\n');
}

/**
 * GET /layer?mode=M&n=N: N messages' worth of the same two calls, in a loop inside one function
 * node of the same Node-RED process, through one more layer each:
 * undici (a bare Pool), client (AllTalkClient.ttsGenerateForm + fetchAudio), connection
 * (ServerConnection.runGeneration around them, as alltalk-tts does). With the full node path
 * (/bench) and the no-op loop (/noop) this splits our cost per message by layer.
 */
function layerFlows(fakePort) {
  const func = `const mode = msg.req.query.mode;
const n = Number(msg.req.query.n);
const text = ${JSON.stringify(TEXT)};
let one = context.get(mode);
if (!one) {
  if (mode === 'undici') {
    const pool = new (global.get('undici').Pool)('http://127.0.0.1:${fakePort}', { connections: 1 });
    one = async () => {
      const gen = await pool.request({ method: 'POST', path: '/api/tts-generate', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ text_input: text }).toString() });
      const r = await gen.body.json();
      const audio = await pool.request({ method: 'GET', path: r.output_file_url });
      await audio.body.arrayBuffer();
    };
  } else if (mode === 'client') {
    const client = new (global.get('alltalkApi').AllTalkClient)({ host: '127.0.0.1', port: ${fakePort}, connections: 5 });
    one = async () => {
      const r = await client.ttsGenerateForm({ text_input: text });
      await client.fetchAudio(r.output_file_url);
    };
  } else {
    const conn = new (global.get('alltalkConnection').ServerConnection)({ host: '127.0.0.1', port: ${fakePort}, connections: 5, concurrency: 1, queueLimit: 50, healthIntervalMs: 0 });
    one = () => conn.runGeneration(async (signal) => {
      const r = await conn.client.ttsGenerateForm({ text_input: text }, { signal });
      await conn.client.fetchAudio(r.output_file_url, { signal });
    }, { onPosition: () => undefined });
  }
  context.set(mode, one);
}
const perf = global.get('perf');
const t0 = perf.now();
for (let i = 0; i < n; i++) await one();
msg.payload = { n, ms: perf.now() - t0 };
return msg;`;
  return [
    { id: 'l-in', type: 'http in', z: 'np', url: '/layer', method: 'get', wires: [['l-run']] },
    { id: 'l-run', type: 'function', z: 'np', name: 'layer loop', func, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires: [['l-out']] },
    { id: 'l-out', type: 'http response', z: 'np', statusCode: '', headers: {}, wires: [] },
  ];
}

/** Wall and Node-RED CPU µs per message of each layer, `rounds` alternating runs of `n`. */
async function layers(red, baseline, n, rounds) {
  const runs = {
    'bare undici, own process': { pid: baseline.pid, run: async () => (await baseline.run(n)) / n },
    'bare undici in Node-RED': { pid: red.pid, run: async () => (await red.get(`/layer?mode=undici&n=${n}`)).ms / n },
    'AllTalkClient in Node-RED': { pid: red.pid, run: async () => (await red.get(`/layer?mode=client&n=${n}`)).ms / n },
    '+ ServerConnection.runGeneration': { pid: red.pid, run: async () => (await red.get(`/layer?mode=connection&n=${n}`)).ms / n },
    'alltalk-tts node path (+1 function hop)': { pid: red.pid, run: () => loop(red, 'bench', n) },
    'no-op function loop (2 hops)': { pid: red.pid, run: () => loop(red, 'noop', n) },
  };
  const wall = {};
  const cpu = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, { pid, run }] of Object.entries(runs)) {
      const c0 = cpuMs(pid);
      (wall[name] ??= []).push(await run());
      (cpu[name] ??= []).push((cpuMs(pid) - c0) / n);
    }
  }
  const lines = [`### Layers (median of ${rounds} alternating runs of ${n} messages; CPU = user + system time of that process)`, '',
    '| layer | wall µs/msg | CPU µs/msg |', '|---|---:|---:|'];
  for (const name of Object.keys(runs)) lines.push(`| ${name} | ${(median(wall[name]) * 1000).toFixed(0)} | ${(median(cpu[name]) * 1000).toFixed(0)} |`);
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const messages = Number(args.find((x) => /^\d+$/.test(x)) ?? 6000);
  const outArg = args.find((x) => x.startsWith('--out='));
  const packageArg = args.find((x) => x.startsWith('--package='));
  const packageDir = packageArg ? path.resolve(packageArg.slice(10)) : undefined;
  const outDir = outArg ? path.resolve(outArg.slice(6)) : fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-profile-'));
  fs.mkdirSync(outDir, { recursive: true });
  const fake = await startFakeAllTalk();
  let red;
  let baseline;
  try {
    const globals = {
      undici: require.resolve('undici'),
      alltalkApi: path.join(root, 'dist', 'api'),
      alltalkConnection: path.join(root, 'dist', 'runtime', 'server-connection'),
    };
    [red, baseline] = await startAll([
      startNodeRed([...nodePathFlows(fake.port), ...layerFlows(fake.port)], { label: 'profile', globals, packageDir }),
      startBaseline(fake.url),
    ]);
    for (let i = 0; i < 3; i++) {
      await loop(red, 'bench', 1000);
      await loop(red, 'noop', 1000);
      await baseline.run(1000);
      for (const mode of ['undici', 'client', 'connection']) await red.get(`/layer?mode=${mode}&n=1000`);
    }
    const layerTable = await layers(red, baseline, 3000, 5);
    const unprofiled = { ours: await loop(red, 'bench', messages), baseline: (await baseline.run(messages)) / messages };
    const reports = [];
    for (const route of ['bench', 'noop']) {
      const file = path.join(outDir, `node-red-${route}.cpuprofile`);
      await red.message({ cmd: 'profile-start', intervalUs: 100 });
      const msPerMsg = await loop(red, route, messages);
      await red.message({ cmd: 'profile-stop', file });
      const a = analyse(JSON.parse(fs.readFileSync(file, 'utf8')), messages);
      reports.push(printAnalysis(a, `${route === 'bench' ? 'alltalk-tts loop' : 'no-op function loop'} (${(msPerMsg * 1000).toFixed(0)} µs/msg in the flow while profiled)`));
    }
    console.log(`Without the profiler: alltalk-tts loop ${(unprofiled.ours * 1000).toFixed(0)} µs/msg, bare undici ${(unprofiled.baseline * 1000).toFixed(0)} µs/msg ` +
      `(ratio ${(unprofiled.ours / unprofiled.baseline).toFixed(2)}).\nProfiles: ${outDir}\n`);
    console.log(`${layerTable}\n\n${reports.join('\n\n')}`);
  } finally {
    await Promise.all([red?.stop(), baseline?.stop()]);
    await fake.stop();
  }
}

module.exports = { analyse, printAnalysis };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
