'use strict';
// The flows of bench/cache.js: one alltalk-config and one timed loop per condition (GET
// /t/<key>?mode=miss|hit|nocache&n=N sends N messages round alltalk-tts → loop function → back,
// and answers with the time of each), a no-op loop (Node-RED alone), a loop that reads a file
// (what a hit costs at least), and the simulator process.
const path = require('node:path');
const { spawn } = require('node:child_process');
const { readyRoute } = require('./node-red');
const { track } = require('./children');
const { stopChild } = require('./fake-alltalk');

const TAB = 'cache';
/** The condition keys: `<simulator>-<cache>` (empty2: a second empty cache, for the noise floor); `noop` is Node-RED alone. */
const KEYS = ['def-empty', 'def-full', 'def-empty2', 'fast-empty', 'fast-full', 'fast-empty2'];

/** The simulator in its own process (as in bench/run.js), tracked so it never outlives the bench. */
function startSimulator(options) {
  const code = `const { AllTalkSimulator } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'simulator'))});
    const sim = new AllTalkSimulator(${JSON.stringify(options)});
    sim.start().then(() => console.log(JSON.stringify({ url: sim.url, port: sim.port })));
    process.on('SIGTERM', () => sim.stop().then(() => process.exit(0)));`;
  const child = track(spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] }));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`the simulator exited (${c})`)));
    child.stdout.once('data', (d) => resolve({ ...JSON.parse(String(d)), pid: child.pid, stop: () => stopChild(child, 'SIGTERM') }));
  });
}

function fn(id, name, func, outputs, wires) {
  return { id, type: 'function', z: TAB, name, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

// Sets the next text: mode hit repeats one text, miss and nocache (msg.alltalk.cache = false)
// take a new one each time; all texts are 48 characters (the same generation time).
const NEXT = `function next(msg, perf) {
  const b = msg.bench;
  let k = 999999;
  if (b.mode !== 'hit') {
    k = (global.get('seq') || 0) + 1;
    global.set('seq', k);
  }
  msg.payload = 'Bench phrase for the audio cache, number ' + String(k).padStart(6, '0') + '.';
  if (b.mode === 'nocache') msg.alltalk = { cache: false };
  else delete msg.alltalk;
  b.t = perf.now();
}`;

const START = `${NEXT}
const perf = global.get('perf');
const q = msg.req.query;
msg.bench = { n: Number(q.n) || 1, i: 0, mode: String(q.mode), file: q.file, times: [], cached: { hit: 0, miss: 0, none: 0 }, bytes: [], gen: 0, dl: 0 };
msg.bench.t0 = perf.now();
next(msg, perf);
return msg;`;

// Output 1: back into the node under test; output 2: the result, when n messages went round.
const LOOP = `${NEXT}
const perf = global.get('perf');
const now = perf.now();
const b = msg.bench;
b.times.push(now - b.t);
const a = msg.alltalk;
b.cached[a && a.cached === true ? 'hit' : a && a.cached === false ? 'miss' : 'none']++;
if (a && a.timing) {
  b.gen += a.timing.generationMs;
  b.dl += a.timing.downloadMs;
}
const bytes = Buffer.isBuffer(msg.payload) ? msg.payload.length : -1;
if (!b.bytes.includes(bytes)) b.bytes.push(bytes);
if (++b.i < b.n) {
  next(msg, perf);
  return [msg, null];
}
msg.payload = { n: b.n, mode: b.mode, ms: now - b.t0, times: b.times, cached: b.cached, bytes: b.bytes, generationMs: b.gen, downloadMs: b.dl };
delete msg.bench;
delete msg.alltalk;
return [null, msg];`;

// For scale: the file (GET /t/read?file=…) read into msg.payload with fs.promises.readFile, as the cache reads a hit.
const READ = `global.get('fsp').readFile(msg.bench.file).then((b) => {
  msg.payload = b;
  node.send(msg);
}, (err) => node.error(err, msg));
return null;`;

/**
 * GET /t/<key>?mode=miss|hit|nocache&n=N: N messages round the loop of that condition: through
 * alltalk-tts with the config `server`, or else through a function node running `func`.
 */
function segment(key, server, func = 'return msg;') {
  const unit = server ? `${key}-tts` : `${key}-fn`;
  const node = server
    ? { id: unit, type: 'alltalk-tts', z: TAB, name: key, server, property: 'payload', propertyType: 'msg', output: 'buffer', filePath: '', maxCharacters: '', splitLongText: false, cache: true, wires: [[`${key}-loop`]] }
    : fn(unit, key, func, 1, [[`${key}-loop`]]);
  return [
    { id: `${key}-in`, type: 'http in', z: TAB, url: `/t/${key}`, method: 'get', wires: [[`${key}-start`]] },
    fn(`${key}-start`, 'start', START, 1, [[unit]]),
    node,
    fn(`${key}-loop`, 'loop', LOOP, 2, [[unit], [`${key}-out`]]),
    { id: `${key}-out`, type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
  ];
}

function config(id, port) {
  return {
    id, type: 'alltalk-config', name: `simulator ${id.slice(4)}`, protocol: 'http', host: '127.0.0.1', port, timeout: 5, generationTimeout: 30,
    concurrency: 1, queueLimit: 50, healthInterval: 0, cacheMaxMb: 1000, cacheMaxDays: 30, speakerUrl: '',
  };
}

/** The flows: one config node and one loop per condition, plus the no-op and readFile loops (Node-RED needs `fsp` in its globals). */
function cacheFlows(defPort, fastPort) {
  return [
    { id: TAB, type: 'tab', label: 'audio cache' },
    ...KEYS.map((k) => config(`cfg-${k}`, k.startsWith('def') ? defPort : fastPort)),
    ...readyRoute(TAB),
    ...KEYS.flatMap((k) => segment(k, `cfg-${k}`)),
    ...segment('noop'),
    ...segment('read', undefined, READ),
    { id: 'on-error', type: 'catch', z: TAB, scope: null, uncaught: false, wires: [['err']] },
    fn('err', 'error reply', 'msg.statusCode = 500; msg.payload = { error: msg.error && msg.error.message }; return msg;', 1, [['err-out']]),
    { id: 'err-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
  ];
}

/** The folder of a config node's cache (src/nodes/alltalk-config/audio-setup.ts). */
function cacheDir(userDir, configId) {
  return path.join(userDir, 'alltalk-cache', configId.replace(/[^A-Za-z0-9_-]/g, '_') || 'server');
}

module.exports = { cacheFlows, cacheDir, startSimulator, KEYS };
