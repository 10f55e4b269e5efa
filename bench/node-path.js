'use strict';
// The node path vs raw undici: alltalk-tts (output buffer: POST /api/tts-generate, then GET the
// audio) in a real Node-RED process, in a loop of N messages timed inside the flow, vs a plain
// minimal node (bench/raw-undici) making the same two calls with a bare undici Pool in the same
// loop of the same Node-RED, so that Node-RED's own hops count in both and the ratio is this
// package's cost. Both talk to the same fake AllTalk (its own process, answers at once). Runs
// alternate; medians are compared. For context: the same calls from a plain Node process, and
// the loop with a function node that does nothing (Node-RED's own cost, two function hops).
const { startFakeAllTalk } = require('./fake-alltalk');
const { startNodeRed, readyRoute, cpuMs } = require('./node-red');
const { startBaseline, TEXT } = require('./undici-baseline');

const TAB = 'np';

function fn(id, name, func, outputs, wires) {
  return { id, type: 'function', z: TAB, name, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

const START = `const n = Number(msg.req.query.n) || 1;
msg.bench = { n, i: 0, t0: global.get('perf').now() };
msg.payload = ${JSON.stringify(TEXT)};
return msg;`;

// Output 1: back into the node under test; output 2: the result, when n messages went round.
const LOOP = `const b = msg.bench;
b.i++;
if (b.i < b.n) {
  msg.payload = ${JSON.stringify(TEXT)};
  return [msg, null];
}
const bytes = Buffer.isBuffer(msg.payload) ? msg.payload.length : -1;
msg.payload = { n: b.n, ms: global.get('perf').now() - b.t0, bytes };
return [null, msg];`;

/** The flows: GET /bench?n=N loops through alltalk-tts, GET /noop?n=N through a no-op function. */
function nodePathFlows(fakePort) {
  return [
    { id: TAB, type: 'tab', label: 'node path' },
    { id: 'cfg', type: 'alltalk-config', name: 'fake', protocol: 'http', host: '127.0.0.1', port: fakePort, timeout: 5, generationTimeout: 30, concurrency: 1, queueLimit: 50, healthInterval: 0 },
    ...readyRoute(TAB),
    { id: 'b-in', type: 'http in', z: TAB, url: '/bench', method: 'get', wires: [['b-start']] },
    fn('b-start', 'start', START, 1, [['b-tts']]),
    // The cache off: every message generates and downloads (the cache has its own bench, bench/cache.js).
    { id: 'b-tts', type: 'alltalk-tts', z: TAB, name: 'tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'buffer', filePath: '', maxCharacters: '', splitLongText: false, cache: false, wires: [['b-loop']] },
    fn('b-loop', 'loop', LOOP, 2, [['b-tts'], ['b-out']]),
    { id: 'b-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
    { id: 'n-in', type: 'http in', z: TAB, url: '/noop', method: 'get', wires: [['n-start']] },
    fn('n-start', 'start', START, 1, [['n-noop']]),
    fn('n-noop', 'no-op', 'return msg;', 1, [['n-loop']]),
    fn('n-loop', 'loop', LOOP, 2, [['n-noop'], ['n-out']]),
    { id: 'n-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
    { id: 'r-in', type: 'http in', z: TAB, url: '/raw', method: 'get', wires: [['r-start']] },
    fn('r-start', 'start', START, 1, [['r-undici']]),
    { id: 'r-undici', type: 'bench-undici', z: TAB, origin: `http://127.0.0.1:${fakePort}`, wires: [['r-loop']] },
    fn('r-loop', 'loop', LOOP, 2, [['r-undici'], ['r-out']]),
    { id: 'r-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
    // A failed message answers its request with the error instead of leaving it hanging.
    { id: 'on-error', type: 'catch', z: TAB, scope: null, uncaught: false, wires: [['err']] },
    fn('err', 'error reply', 'msg.statusCode = 500; msg.payload = { error: msg.error && msg.error.message }; return msg;', 1, [['err-out']]),
    { id: 'err-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
  ];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Resolves all of `starting`; when one fails, stops those that started and rejects. */
async function startAll(starting) {
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((r) => r.status === 'rejected');
  if (!failed) return settled.map((r) => r.value);
  await Promise.all(settled.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop()));
  throw failed.reason;
}

/** ms per message of one timed loop through `route` (bench or noop). */
async function loop(red, route, n) {
  const r = await red.get(`/${route}?n=${n}`);
  if (r.n !== n) throw new Error(`/${route}: ${JSON.stringify(r)}`);
  if ((route === 'bench' || route === 'raw') && r.bytes !== 4140) throw new Error(`/${route}: the audio has ${r.bytes} bytes, not 4140`);
  return r.ms / n;
}

/**
 * Runs the benchmark: warm-up, then `rounds` × (baseline, node, no-op) of `n` messages each.
 * Returns the table row(s).
 */
async function nodePath({ n = 3000, rounds = 5, warmup = 500, packageDir } = {}) {
  const fake = await startFakeAllTalk();
  let red;
  let baseline;
  try {
    [red, baseline] = await startAll([startNodeRed(nodePathFlows(fake.port), { label: 'node-path', packageDir }), startBaseline(fake.url)]);
    for (let i = 0; i < 2; i++) {
      await loop(red, 'bench', warmup);
      await loop(red, 'raw', warmup);
      await baseline.run(warmup);
      await loop(red, 'noop', warmup);
    }
    await fake.reset();
    const samples = { raw: [], ours: [], outside: [], noop: [] };
    // CPU time of the process under test per message (user + system), next to the wall time.
    const cpu = { raw: [], ours: [], outside: [], noop: [] };
    const timed = async (key, pid, run) => {
      const c0 = cpuMs(pid);
      samples[key].push(await run());
      cpu[key].push((cpuMs(pid) - c0) / n);
    };
    for (let r = 0; r < rounds; r++) {
      await timed('raw', red.pid, () => loop(red, 'raw', n));
      await timed('ours', red.pid, () => loop(red, 'bench', n));
      await timed('outside', baseline.pid, async () => (await baseline.run(n)) / n);
      await timed('noop', red.pid, () => loop(red, 'noop', n));
    }
    const stats = await fake.stats();
    const expected = 3 * rounds * n;
    const generated = stats.requests['POST /api/tts-generate'];
    const downloaded = stats.requests['GET /audio/out.wav'];
    if (generated !== expected || downloaded !== expected) {
      throw new Error(`the fake server saw ${generated} generations and ${downloaded} downloads, not ${expected}`);
    }
    const base = median(samples.raw);
    const ours = median(samples.ours);
    const outside = median(samples.outside);
    const noop = median(samples.noop);
    const us = (ms) => (ms * 1000).toFixed(0);
    const paired = samples.ours.map((o, i) => o / samples.raw[i]);
    return [{
      name: 'node path: generate + download (median µs per message)',
      baseline: base * 1000,
      ours: ours * 1000,
      ratio: ours / base,
      goal: 1.25,
      note: `alltalk-tts vs a bare undici Pool in a minimal node, same loop in the same Node-RED, ${rounds} × ${n} msgs alternating, goal ≤ 1.25 ` +
        `(per-round ratios ${Math.min(...paired).toFixed(2)}–${Math.max(...paired).toFixed(2)}); ` +
        `CPU/msg ${us(median(cpu.ours))} vs ${us(median(cpu.raw))} µs; ` +
        `the same calls from a plain Node process: ${us(outside)} µs/msg (ours ${(ours / outside).toFixed(2)}×); ` +
        `Node-RED alone (no-op function loop, 2 hops) ${us(noop)} µs/msg`,
      samples,
      cpu,
      noopMs: noop,
    }];
  } finally {
    await Promise.all([red?.stop(), baseline?.stop()]);
    await fake.stop();
  }
}

module.exports = { nodePath, nodePathFlows, loop, median, startAll };

if (require.main === module) {
  // node bench/node-path.js [package dir]: another build of this package, to compare a change.
  nodePath({ packageDir: process.argv[2] && require('node:path').resolve(process.argv[2]) }).then((rows) => console.log(JSON.stringify(rows, null, 2)), (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
