'use strict';
// What bench/failover.js runs on: the AllTalk simulator in a process of its own that can be killed
// (SIGKILL: a crash, its connections reset by the kernel) and started again on the same port, and
// the Node-RED flows: server configurations with fallbacks, one alltalk-tts per condition, a sender
// (GET /fo/send: n messages to one node, at once or paced) and a collector that keeps, per run,
// every output and error (GET /fo/results?run=…) with the wall-clock time it arrived.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { spawn } = require('node:child_process');
const { readyRoute } = require('./node-red');
const { track } = require('./children');
const { stopChild } = require('./fake-alltalk');

const TAB = 'failover';

/** Wall-clock time in ms with sub-ms resolution, comparable between processes on this machine. */
const wallNow = () => performance.timeOrigin + performance.now();

/**
 * The simulator in a process of its own (as bench/cache-flows.js starts it), on a port that stays
 * its own: kill() ends the process at once, start() brings it back on the same port.
 */
class SimProcess {
  constructor(options) {
    this.options = { port: 0, ...options };
    this.port = this.options.port;
    this.child = undefined;
    this.upAt = NaN;
    /** How long a start takes (measured by the caller). */
    this.startupMs = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive() {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** Starts the process (the same port as before, after the first start); resolves once it listens. */
  async start() {
    // The port of a killed process may take a moment to be free again: a few tries.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.spawnOnce();
      } catch (err) {
        if (attempt >= 20 || this.port === 0) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  spawnOnce() {
    const options = { ...this.options, port: this.port };
    const code = `const { AllTalkSimulator } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'simulator'))});
      const sim = new AllTalkSimulator(${JSON.stringify(options)});
      sim.start().then(() => console.log(JSON.stringify({ port: sim.port })), (err) => { console.error(String(err)); process.exit(3); });
      process.on('SIGTERM', () => sim.stop().then(() => process.exit(0)));`;
    const child = track(spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => reject(new Error(`the simulator exited (${c}): ${err.trim()}`)));
      child.stdout.once('data', (d) => {
        this.port = JSON.parse(String(d)).port;
        this.child = child;
        this.upAt = wallNow();
        resolve(this);
      });
    });
  }

  /** SIGKILL (a crash); resolves the wall-clock time it was sent, once the process is gone. */
  async kill() {
    const child = this.child;
    if (!this.alive) return NaN;
    const exited = new Promise((r) => child.once('exit', r));
    const at = wallNow();
    child.kill('SIGKILL');
    await exited;
    return at;
  }

  stop() {
    return this.alive ? stopChild(this.child, 'SIGTERM') : Promise.resolve();
  }
}

function fn(id, name, func, outputs, wires) {
  return { id, type: 'function', z: TAB, name, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

/** A server configuration (`fallbacks`: ids of others, in order). No cache, no periodic health check. */
function config(id, name, port, { fallbacks = [], share = false, probeInterval = 5, timeout = 5, generationTimeout = 30, queueLimit = 100 } = {}) {
  return {
    id, type: 'alltalk-config', name, protocol: 'http', host: '127.0.0.1', port, timeout, generationTimeout,
    concurrency: 1, queueLimit, healthInterval: 0, cacheMaxMb: 0, cacheMaxDays: 0, speakerUrl: '',
    fallbacks: fallbacks.map((f) => ({ id: f })), share, standInVoice: '', probeInterval,
  };
}

function tts(id, server) {
  return {
    id, type: 'alltalk-tts', z: TAB, name: id, server, property: 'payload', propertyType: 'msg',
    // The cache off: every message is generated (the same texts come again).
    output: 'buffer', filePath: '', maxCharacters: '', splitLongText: false, cache: false, wires: [['fo-collect']],
  };
}

/**
 * GET /fo/send?node=<tts id>&run=<name>&n=N&intervalMs=ms&text=…: N messages (payload "<text> 0001.",
 * msg.fo = { run, i, sentAt }) to that node, all at once (intervalMs 0) or message i at t0 + i × intervalMs;
 * answers { t0 } at once.
 */
const SEND = (nodes) => `const q = msg.req.query;
const nodes = ${JSON.stringify(nodes)};
const port = nodes.indexOf(String(q.node));
if (port < 0) throw new Error('no such node: ' + q.node);
const n = Number(q.n) || 1;
const iv = Number(q.intervalMs) || 0;
const perf = global.get('perf');
const now = () => perf.timeOrigin + perf.now();
const t0 = now();
const make = (i) => ({ payload: String(q.text || 'Failover bench message') + ' ' + String(i).padStart(4, '0') + '.', fo: { run: String(q.run), i, sentAt: now() } });
const out = nodes.map(() => null);
out.push(null);
if (iv <= 0) {
  const list = [];
  for (let i = 0; i < n; i++) list.push(make(i));
  out[port] = list;
} else {
  let i = 0;
  const tick = () => {
    const due = Math.min(n, Math.floor((now() - t0) / iv) + 1);
    const list = [];
    for (; i < due; i++) list.push(make(i));
    if (list.length) {
      const o = nodes.map(() => null);
      o[port] = list;
      node.send(o);
    }
    if (i < n) setTimeout(tick, Math.max(0, t0 + i * iv - now()));
  };
  tick();
}
msg.payload = { t0 };
out[nodes.length] = msg;
return out;`;

// Every output (and error, from the catch node) of the tts nodes, kept per run without its audio.
const COLLECT = `const fo = msg.fo;
if (!fo) return null;
const perf = global.get('perf');
const at = perf.timeOrigin + perf.now();
const runs = global.get('foRuns') || {};
const a = msg.alltalk || {};
const rec = { i: fo.i, sentAt: fo.sentAt, at };
if (msg.error) {
  rec.error = String(msg.error.message);
} else {
  rec.server = a.server ? a.server.id : null;
  rec.rerouted = a.rerouted;
  if (a.reroutedBecause) rec.because = a.reroutedBecause;
  rec.generationMs = a.timing ? a.timing.generationMs : null;
  rec.bytes = Buffer.isBuffer(msg.payload) ? msg.payload.length : -1;
}
(runs[fo.run] = runs[fo.run] || []).push(rec);
global.set('foRuns', runs);
return null;`;

const RESULTS = `const runs = global.get('foRuns') || {};
msg.payload = runs[String(msg.req.query.run)] || [];
return msg;`;

/**
 * The flows. `ports`: { kA, kB, sA, sB, hA, hB } of the simulators: k = row 1 (a primary killed
 * mid-queue), s = the soak, h = shared load. `soak`: { probeInterval, timeout, generationTimeout }.
 */
function failoverFlows(ports, soak) {
  const nodes = ['tts-k', 'tts-k-b', 'tts-s', 'tts-solo', 'tts-h'];
  return [
    { id: TAB, type: 'tab', label: 'failover' },
    config('cfg-k-a', 'kill-primary', ports.kA, { fallbacks: ['cfg-k-b'], probeInterval: 1 }),
    config('cfg-k-b', 'kill-fallback', ports.kB),
    config('cfg-s-a', 'soak-primary', ports.sA, { fallbacks: ['cfg-s-b'], queueLimit: 3000, ...soak }),
    config('cfg-s-b', 'soak-fallback', ports.sB, { queueLimit: 3000, ...soak }),
    config('cfg-solo', 'one-server', ports.hA),
    config('cfg-h-a', 'share-primary', ports.hA, { fallbacks: ['cfg-h-b'], share: true }),
    config('cfg-h-b', 'share-second', ports.hB),
    ...readyRoute(TAB),
    tts('tts-k', 'cfg-k-a'),
    tts('tts-k-b', 'cfg-k-b'),
    tts('tts-s', 'cfg-s-a'),
    tts('tts-solo', 'cfg-solo'),
    tts('tts-h', 'cfg-h-a'),
    { id: 'fo-send-in', type: 'http in', z: TAB, url: '/fo/send', method: 'get', wires: [['fo-send']] },
    fn('fo-send', 'send', SEND(nodes), nodes.length + 1, [...nodes.map((n) => [n]), ['fo-send-out']]),
    { id: 'fo-send-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
    { id: 'fo-catch', type: 'catch', z: TAB, scope: nodes, uncaught: false, wires: [['fo-collect']] },
    fn('fo-collect', 'collect', COLLECT, 1, [[]]),
    { id: 'fo-results-in', type: 'http in', z: TAB, url: '/fo/results', method: 'get', wires: [['fo-results']] },
    fn('fo-results', 'results', RESULTS, 1, [['fo-results-out']]),
    { id: 'fo-results-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
    // A failed request to the bench's own routes answers with the error instead of hanging.
    { id: 'fo-on-error', type: 'catch', z: TAB, scope: ['fo-send', 'fo-results'], uncaught: false, wires: [['fo-err']] },
    fn('fo-err', 'error reply', 'msg.statusCode = 500; msg.payload = { error: msg.error && msg.error.message }; return msg;', 1, [['fo-err-out']]),
    { id: 'fo-err-out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
  ];
}

module.exports = { SimProcess, failoverFlows, wallNow };
