'use strict';
// alltalk-wyoming (the Wyoming TTS server for Home Assistant) in a real Node-RED process, against
// the AllTalk simulator (xtts profile, default speed: its streaming GET sends a 44-byte WAV header,
// waits minGenerationMs = 20 ms, then 4800-sample s16 chunks 10 ms apart) in a process of its own.
// The clients (bench/wyoming-client.js, Home Assistant's requests) run in this process. Three goals
// from the issue, each measured in one run:
// (1) the node's own delay: `synthesize` → first `audio-chunk` at a Wyoming client, minus AllTalk's
//     own time to first audio for the same request (the same text, voice and language asked of the
//     simulator's streaming route by a bare keep-alive http.get: time to the first byte after the
//     44-byte header). Texts never said before (no cache hits); the bare and the Wyoming request
//     alternate in order round by round; the value is the median of the per-round differences.
//     Goal: ≤ 10 ms.
// (2) a cached phrase: `synthesize` → `audio-stop` for a phrase said once before: each round a new
//     phrase is said once (the miss, reported as the baseline), then again (the hit, from the audio
//     cache). Goal: the hit's median ≤ 20 ms.
// (3) 20 clients at once: 20 connections opened together, each with its own new text (every fifth
//     the streaming sequence of two sentences, the others one-shot), a few rounds. A client counts
//     as answered when it got the whole audio (the exact PCM length the simulator makes for its
//     text) and `audio-stop` / `synthesize-stopped`; otherwise lost. Goal: 0 lost.
// A missed goal marks its row **FAIL** (the run exits with code 1). `node bench/wyoming.js` runs it alone.
const http = require('node:http');
const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { startNodeRed, readyRoute, cpuMs } = require('./node-red');
const { startSimulator } = require('./cache-flows');
const { median, startAll } = require('./node-path');
const wy = require('./wyoming-client');

const TAB = 'wyoming';
const GOAL_OWN_MS = 10;
const GOAL_HIT_MS = 20;
const CLIENTS = 20;
/** The simulator's audio length per character (its default, passed explicitly: the bench checks lengths with it). */
const AUDIO_SECONDS_PER_CHAR = 0.05;
const SAMPLE_RATE = 24000;
const HEADER_BYTES = 44;

function fn(id, name, func, wires) {
  return { id, type: 'function', z: TAB, name, func, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

/** The config node, alltalk-wyoming (its output messages kept in the global context), GET /wy/reports (and clears them). */
function wyomingFlows(simPort, wyPort) {
  return [
    { id: TAB, type: 'tab', label: 'wyoming' },
    {
      id: 'cfg', type: 'alltalk-config', name: 'simulator', protocol: 'http', host: '127.0.0.1', port: simPort, timeout: 5, generationTimeout: 30,
      concurrency: 1, queueLimit: 50, healthInterval: 0, cacheMaxMb: 1000, cacheMaxDays: 30, speakerUrl: '',
    },
    ...readyRoute(TAB),
    {
      id: 'wy', type: 'alltalk-wyoming', z: TAB, name: 'wyoming', server: 'cfg', host: '127.0.0.1', port: wyPort, zeroconf: false,
      serviceName: 'AllTalk', voice: '', language: 'auto', priority: 5, cache: true, streaming: true, wires: [['collect']],
    },
    fn('collect', 'collect', `const a = global.get('reports') || [];
a.push({ cached: msg.cached, firstAudioMs: msg.firstAudioMs, durationMs: msg.durationMs, streaming: msg.streaming, error: msg.error && msg.error.code });
global.set('reports', a);
return null;`, []),
    { id: 'reports-in', type: 'http in', z: TAB, url: '/wy/reports', method: 'get', wires: [['reports-fn']] },
    fn('reports-fn', 'reports', `msg.payload = global.get('reports') || [];
global.set('reports', []);
return msg;`, [['reports-out']]),
    { id: 'reports-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
  ];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** PCM bytes the simulator streams for `text` (its audio length at 24 kHz, s16 mono). */
function expectedBytes(text) {
  const seconds = Math.max(0.05, Math.max(0.2, [...text].length * AUDIO_SECONDS_PER_CHAR));
  return 2 * Math.max(1, Math.round(seconds * SAMPLE_RATE));
}

let counter = 0;
/** A text never said before in this run; all 53 characters long (the same generation and audio time). */
function phrase() {
  return `Wyoming bench phrase number ${String(++counter).padStart(5, '0')}, never said before.`;
}

/** Resolves the first voice of the `info` event in English, once the node reached AllTalk. */
async function waitForVoice(port, timeoutMs = 60_000) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      const info = await wy.describe(port, { timeoutMs: 1000 });
      const program = info.tts.find((t) => t.installed);
      const v = program && program.voices.find((x) => x.installed && x.languages.includes('en'));
      if (v) {
        const at = v.name.lastIndexOf('@');
        return { name: v.name, voice: v.name.slice(0, at), language: v.name.slice(at + 1) };
      }
      last = 'not installed yet';
    } catch (err) {
      last = err.message;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`alltalk-wyoming on ${port} did not list voices within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The simulator's streaming route asked directly (keep-alive): ms to the first audio byte after
 * the 44-byte header, and to the end.
 */
function bareStream(agent, sim, { text, voice, language }) {
  const q = (v) => encodeURIComponent(v);
  const url = `${sim.url}/api/tts-generate-streaming?text=${q(text)}&voice=${q(voice)}&language=${q(language)}&output_file=stream_output`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      let firstMs;
      res.on('data', (d) => {
        bytes += d.length;
        if (firstMs === undefined && bytes > HEADER_BYTES) firstMs = performance.now() - t0;
      });
      res.on('end', () => {
        if (res.statusCode !== 200 || firstMs === undefined) reject(new Error(`bare stream: ${res.statusCode}, ${bytes} bytes`));
        else resolve({ firstMs, endMs: performance.now() - t0, pcmBytes: bytes - HEADER_BYTES });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A Wyoming one-shot that must succeed (the latency rows); checks the audio's length. */
async function mustSynthesize(port, text, voice, problems) {
  const r = await wy.synthesize(port, text, { voice: voice.name });
  if (!r.ok) throw new Error(`synthesize "${text}": lost (${r.lost}${r.error ? `: ${r.error.text}` : ''})`);
  if (r.pcmBytes !== expectedBytes(text)) problems.push(`"${text}": ${r.pcmBytes} PCM bytes, expected ${expectedBytes(text)}`);
  return r;
}

/** Goal 1: rounds of (bare, Wyoming) for one new text each, the order alternating; `warmup` rounds first, unmeasured. */
async function ownDelay(red, port, sim, voice, { rounds, warmup }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const problems = [];
  const bare = [];
  const ours = [];
  const diff = [];
  try {
    for (let r = -warmup; r < rounds; r++) {
      const text = phrase();
      const b = () => bareStream(agent, sim, { text, voice: voice.voice, language: voice.language });
      const w = () => mustSynthesize(port, text, voice, problems);
      let rb;
      let rw;
      if (r % 2 === 0) {
        rb = await b();
        rw = await w();
      } else {
        rw = await w();
        rb = await b();
      }
      if (rb.pcmBytes !== expectedBytes(text)) problems.push(`bare "${text}": ${rb.pcmBytes} PCM bytes, expected ${expectedBytes(text)}`);
      if (r < 0) continue;
      bare.push(rb.firstMs);
      ours.push(rw.firstChunkMs);
      diff.push(rw.firstChunkMs - rb.firstMs);
    }
  } finally {
    agent.destroy();
  }
  const reports = await red.get('/wy/reports');
  return { bare, ours, diff, problems, reports };
}

/** Goal 2: per round a new phrase said once (the miss, baseline), then again (the hit). */
async function cachedPhrase(red, port, voice, { rounds, warmup }) {
  const problems = [];
  const miss = [];
  const hit = [];
  const hitFirst = [];
  await red.get('/wy/reports');
  for (let r = -warmup; r < rounds; r++) {
    const text = phrase();
    const m = await mustSynthesize(port, text, voice, problems);
    const h = await mustSynthesize(port, text, voice, problems);
    if (r < 0) continue;
    miss.push(m.endMs);
    hit.push(h.endMs);
    hitFirst.push(h.firstChunkMs);
  }
  const reports = await red.get('/wy/reports');
  // The node's output says whether each came from the cache: miss, hit, miss, hit…
  const cachedWrong = reports.filter((x, i) => x.cached !== (i % 2 === 1)).length;
  if (reports.length !== 2 * (rounds + warmup)) problems.push(`${reports.length} output messages for ${2 * (rounds + warmup)} requests`);
  if (cachedWrong) problems.push(`${cachedWrong} output messages with the wrong msg.cached (expected miss, hit alternating)`);
  return { miss, hit, hitFirst, problems, reports };
}

/** One client of goal 3: one-shot, or (every fifth) the streaming sequence of two sentences. */
function oneClient(port, voice, round, i) {
  const id = `${String(round).padStart(2, '0')}-${String(i).padStart(2, '0')}`;
  if (i % 5 === 4) {
    const sentences = [`Streaming client ${id} says hello.`, `Then client ${id} says goodbye.`];
    const whole = sentences.join(' ');
    // Cut as an LLM's answer arrives: a few words at a time, across the sentence end.
    const chunks = [whole.slice(0, 12), whole.slice(12, 30), whole.slice(30, 45), whole.slice(45)];
    const expected = sentences.reduce((n, s) => n + expectedBytes(s), 0);
    return wy.synthesizeStreaming(port, chunks, { voice: voice.name, gapMs: 5 }).then((r) => ({ ...r, expected, streaming: true }));
  }
  const text = `Client ${id} at once: the lights in the hall are now on.`;
  return wy.synthesize(port, text, { voice: voice.name }).then((r) => ({ ...r, expected: expectedBytes(text), streaming: false }));
}

/** Goal 3: `rounds` rounds of `clients` connections at once. */
async function manyClients(red, port, voice, { rounds, clients }) {
  await red.get('/wy/reports');
  const out = { sent: 0, answered: 0, lost: 0, kinds: {}, perRound: [], roundMs: [], streams: 0 };
  const c0 = cpuMs(red.pid);
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: clients }, (_, i) => oneClient(port, voice, round, i)));
    out.roundMs.push(performance.now() - t0);
    let lost = 0;
    for (const r of results) {
      out.sent++;
      if (r.streaming) out.streams++;
      const whole = r.ok && r.pcmBytes === r.expected && r.format && r.format.width === 2;
      if (whole) {
        out.answered++;
        continue;
      }
      lost++;
      const kind = r.ok ? `incomplete audio (${r.pcmBytes} of ${r.expected} bytes)` : r.lost;
      out.kinds[kind] = (out.kinds[kind] || 0) + 1;
    }
    out.lost += lost;
    out.perRound.push(lost);
  }
  out.cpuMs = cpuMs(red.pid) - c0;
  const reports = await red.get('/wy/reports');
  out.reported = { served: reports.filter((x) => !x.error).length, failed: reports.filter((x) => x.error).length };
  return out;
}

const ms = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(Math.abs(x) < 10 ? 2 : 1));

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

const iqr = (xs) => `${ms(quantile(xs, 0.25))}–${ms(quantile(xs, 0.75))}`;

/** Resolves the table rows. */
async function wyoming({ rounds = 30, warmup = 4, hitRounds = 30, crowdRounds = 3, packageDir } = {}) {
  const started = performance.now();
  let red;
  let sim;
  try {
    [sim] = await startAll([startSimulator({ port: 0, profile: 'xtts', audioSecondsPerChar: AUDIO_SECONDS_PER_CHAR })]);
    const port = await freePort();
    red = await startNodeRed(wyomingFlows(sim.port, port), { label: 'wyoming', packageDir });
    const voice = await waitForVoice(port);
    const own = await ownDelay(red, port, sim, voice, { rounds, warmup });
    const cached = await cachedPhrase(red, port, voice, { rounds: hitRounds, warmup: 2 });
    const crowd = await manyClients(red, port, voice, { rounds: crowdRounds, clients: CLIENTS });
    // For comparison: one round of 16 at once (alltalk-wyoming's documented connection limit).
    const sixteen = await manyClients(red, port, voice, { rounds: 1, clients: 16 });
    const seconds = (performance.now() - started) / 1000;
    return rows({ own, cached, crowd, sixteen, voice, rounds, warmup, hitRounds, crowdRounds, seconds });
  } finally {
    await red?.stop();
    await sim?.stop();
  }
}

function rows({ own, cached, crowd, sixteen, voice, rounds, warmup, hitRounds, crowdRounds, seconds }) {
  const ownValue = median(own.diff);
  const ownFailed = own.problems.length > 0 || !(ownValue <= GOAL_OWN_MS);
  const nodeFirst = own.reports.map((x) => x.firstAudioMs).filter((x) => typeof x === 'number');
  const hitValue = median(cached.hit);
  const hitFailed = cached.problems.length > 0 || !(hitValue <= GOAL_HIT_MS);
  const crowdFailed = crowd.lost > 0;
  const kinds = (k) => Object.entries(k).map(([why, n]) => `${n}× ${why}`).join(', ') || 'none';
  const text = `53-character texts (${(expectedBytes('x'.repeat(53)) / 2 / SAMPLE_RATE).toFixed(2)} s of audio), voice ${voice.name}`;
  return [{
    name: 'wyoming: own delay, synthesize → first audio-chunk minus AllTalk\'s first audio (median ms)',
    baseline: median(own.bare),
    ours: median(own.ours),
    ratio: ownValue,
    goal: GOAL_OWN_MS,
    note: `${ownFailed ? '**FAIL** ' : ''}${own.problems.length ? `${own.problems.slice(0, 3).join('; ')}; ` : ''}` +
      `goal median ≤ ${GOAL_OWN_MS} ms: ${ownValue <= GOAL_OWN_MS ? 'met' : '**missed**'}; value = median of the per-round differences ` +
      `(p25–p75 ${iqr(own.diff)}, max ${ms(Math.max(...own.diff))} ms); baseline = a bare keep-alive http.get of the simulator's streaming route ` +
      `(first byte after the 44-byte header; p25–p75 ${iqr(own.bare)} ms), ours = a Wyoming client's synthesize → first audio-chunk ` +
      `(p25–p75 ${iqr(own.ours)} ms) for the same text, ${rounds} rounds (after ${warmup} unmeasured) alternating which goes first, ` +
      `texts never said before (no cache hits); ${text}; simulator at its default speed (first audio 20 ms after the header); ` +
      `the node's own msg.firstAudioMs median ${ms(median(nodeFirst))} ms`,
    failed: ownFailed,
    details: { diff: own.diff, bare: own.bare, ours: own.ours, problems: own.problems },
  }, {
    name: 'wyoming: a cached phrase, synthesize → audio-stop (median ms)',
    baseline: median(cached.miss),
    ours: hitValue,
    ratio: hitValue,
    goal: GOAL_HIT_MS,
    note: `${hitFailed ? '**FAIL** ' : ''}${cached.problems.length ? `${cached.problems.slice(0, 3).join('; ')}; ` : ''}` +
      `goal median ≤ ${GOAL_HIT_MS} ms: ${hitValue <= GOAL_HIT_MS ? 'met' : '**missed**'}; value = the hit's median; ${hitRounds} rounds ` +
      `(after 2 unmeasured) of a new phrase said once (baseline: the miss, generated and streamed, synthesize → audio-stop) and then again ` +
      `(ours: the hit, from the cache, the whole WAV as audio-chunks); hit p25–p75 ${iqr(cached.hit)} ms, max ${ms(Math.max(...cached.hit))} ms, ` +
      `first audio-chunk of a hit median ${ms(median(cached.hitFirst))} ms; miss p25–p75 ${iqr(cached.miss)} ms; ` +
      `msg.cached of the node's output checked (miss, hit alternating); ${text}`,
    failed: hitFailed,
    details: { miss: cached.miss, hit: cached.hit, problems: cached.problems },
  }, {
    name: `wyoming: ${CLIENTS} clients at once, ${crowdRounds} rounds (requests sent / answered whole; value = lost)`,
    baseline: crowd.sent,
    ours: crowd.answered,
    ratio: crowd.lost,
    goal: 0,
    note: `${crowdFailed ? '**FAIL** ' : ''}goal 0 lost: ${crowdFailed ? '**missed**' : 'met'}; lost per round ${crowd.perRound.join(', ')}: ${kinds(crowd.kinds)}; ` +
      `${CLIENTS} connections opened together each round, every one its own new text (${crowd.streams / crowdRounds} per round the streaming sequence ` +
      'of two sentences cut into 4 synthesize-chunks, the rest one-shot), answered = audio-stop / synthesize-stopped with the exact PCM length the ' +
      `simulator makes; rounds took ${crowd.roundMs.map((x) => (x / 1000).toFixed(1)).join(', ')} s (config concurrency 1, queue limit 50); ` +
      `the node's output: ${crowd.reported.served} served, ${crowd.reported.failed} failed; Node-RED CPU ${(crowd.cpuMs / crowd.sent).toFixed(1)} ms/request; ` +
      `for comparison, 16 at once (the node's documented connection limit): ${sixteen.lost} of ${sixteen.sent} lost${sixteen.lost ? ` (${kinds(sixteen.kinds)})` : ''}; ` +
      `the whole group took ${seconds.toFixed(0)} s`,
    failed: crowdFailed,
    details: crowd,
  }];
}

module.exports = { wyoming, wyomingFlows };

if (require.main === module) {
  // node bench/wyoming.js [package dir]: another build of this package, to compare a change.
  wyoming({ packageDir: process.argv[2] && require('node:path').resolve(process.argv[2]) }).then((rows) => {
    console.log(rows.map((r) => `| ${r.name} | ${r.baseline.toFixed(2)} | ${r.ours.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.note} |`).join('\n'));
    if (rows.some((r) => r.failed)) process.exitCode = 1;
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
