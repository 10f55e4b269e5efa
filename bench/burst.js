'use strict';
// Burst: 1000 messages at once from 5 alltalk-tts nodes that share one alltalk-config, against
// the fake AllTalk with a few ms per generation. Checks that every message ends (an output or an
// error), that the server never sees more generations at once than the configured concurrency,
// and how much the Node-RED process grows while 1000 messages wait in the queue.
const { startFakeAllTalk } = require('./fake-alltalk');
const { startNodeRed, readyRoute, rssBytes, cpuMs } = require('./node-red');
const { TEXT } = require('./undici-baseline');

const TAB = 'burst';
const NODES = 5;

function fn(id, name, func, outputs, wires) {
  return { id, type: 'function', z: TAB, name, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], wires };
}

// Outputs 1–5: `per` messages to each tts node; output 6: the request (with req/res) to the counter.
const FAN = `const per = Number(msg.req.query.per) || 200;
const timeoutMs = Number(msg.req.query.timeoutMs) || 60000;
const outs = [];
for (let k = 0; k < ${NODES}; k++) {
  const list = [];
  for (let j = 0; j < per; j++) list.push({ payload: ${JSON.stringify(TEXT)}, burst: { k, j } });
  outs.push(list);
}
msg.control = { total: per * ${NODES}, sent: per * ${NODES}, timeoutMs, t0: Date.now() };
outs.push([msg]);
return outs;`;

// Counts outputs and errors (from the catch node); answers the request when all have ended.
const COUNT = `let s = context.get('s');
if (msg.control) {
  s = { ...msg.control, outputs: 0, errors: 0, firstError: null, request: msg, done: false };
  s.timer = setTimeout(() => finish(true), s.timeoutMs);
  context.set('s', s);
  return null;
}
if (!s || s.done) return null;
if (msg.error) {
  s.errors++;
  if (!s.firstError) s.firstError = String(msg.error.message);
} else if (Buffer.isBuffer(msg.payload)) {
  s.outputs++;
} else {
  s.errors++;
  if (!s.firstError) s.firstError = 'an output without audio';
}
if (s.outputs + s.errors >= s.total) finish(false);
return null;
function finish(timedOut) {
  if (s.done) return;
  s.done = true;
  clearTimeout(s.timer);
  const out = s.request;
  out.payload = { sent: s.sent, outputs: s.outputs, errors: s.errors, firstError: s.firstError, timedOut, ms: Date.now() - s.t0 };
  delete out.control;
  node.send(out);
}`;

function burstFlows(fakePort, concurrency, queueLimit) {
  const tts = Array.from({ length: NODES }, (_, k) => ({
    id: `tts${k}`, type: 'alltalk-tts', z: TAB, name: `tts ${k}`, server: 'cfg', property: 'payload', propertyType: 'msg',
    // The cache off: every message is generated (one text for all, which the cache would answer).
    output: 'buffer', filePath: '', maxCharacters: '', splitLongText: false, cache: false, wires: [['count']],
  }));
  return [
    { id: TAB, type: 'tab', label: 'burst' },
    { id: 'cfg', type: 'alltalk-config', name: 'fake', protocol: 'http', host: '127.0.0.1', port: fakePort, timeout: 5, generationTimeout: 60, concurrency, queueLimit, healthInterval: 0 },
    ...readyRoute(TAB),
    { id: 'in', type: 'http in', z: TAB, url: '/burst', method: 'get', wires: [['fan']] },
    fn('fan', 'fan out', FAN, NODES + 1, [...tts.map((t) => [t.id]), ['count']]),
    ...tts,
    { id: 'on-error', type: 'catch', z: TAB, scope: tts.map((t) => t.id), uncaught: false, wires: [['count']] },
    fn('count', 'count', COUNT, 1, [['out']]),
    { id: 'out', type: 'http response', z: TAB, statusCode: '', headers: {}, wires: [] },
  ];
}

/** One burst of `NODES` × `per` messages; samples the Node-RED RSS every 50 ms meanwhile. */
async function oneBurst(red, fake, per) {
  await fake.reset();
  // Start from live data only: what the warm-up left behind is collected first.
  await red.message({ cmd: 'gc' });
  const before = rssBytes(red.pid);
  const cpu0 = cpuMs(red.pid);
  let peak = before;
  const sampler = setInterval(() => {
    const rss = rssBytes(red.pid);
    if (rss > peak) peak = rss;
  }, 50);
  try {
    const result = await red.get(`/burst?per=${per}&timeoutMs=90000`, 120_000);
    const stats = await fake.stats();
    const after = rssBytes(red.pid);
    if (after > peak) peak = after;
    return { ...result, cpuMs: cpuMs(red.pid) - cpu0, maxInFlight: stats.maxInFlight, generated: stats.requests['POST /api/tts-generate'] ?? 0, rssBefore: before, rssPeak: peak, rssAfter: after };
  } finally {
    clearInterval(sampler);
  }
}

const mb = (bytes) => bytes / (1024 * 1024);

/**
 * Bursts of 1000 messages with concurrency 1 and 2 (a fresh Node-RED each); returns the table rows.
 * `packageDir`: another build of this package to install (default: this one).
 */
async function burst({ per = 200, delayMs = 3, concurrencies = [1, 2], queueLimit = 1000, packageDir } = {}) {
  const fake = await startFakeAllTalk();
  const rows = [];
  try {
    for (const concurrency of concurrencies) {
      const red = await startNodeRed(burstFlows(fake.port, concurrency, queueLimit), { label: `burst-c${concurrency}`, packageDir });
      try {
        // Warm-up (code compiled, sockets open) without the delay, then the measured burst.
        await fake.delay(0);
        await oneBurst(red, fake, 20);
        await fake.delay(delayMs);
        const r = await oneBurst(red, fake, per);
        const total = per * NODES;
        const ok = r.sent === total && r.outputs === total && r.errors === 0 && !r.timedOut && r.maxInFlight <= concurrency;
        const growth = mb(r.rssPeak - r.rssBefore);
        rows.push({
          name: `burst ${total} msgs, ${NODES} nodes, 1 server, concurrency ${concurrency} (max in flight)`,
          baseline: concurrency,
          ours: r.maxInFlight,
          ratio: r.maxInFlight / concurrency,
          note: `${ok ? '' : '**FAIL** '}sent/outputs/errors ${r.sent}/${r.outputs}/${r.errors}${r.timedOut ? ' (timed out)' : ''}` +
            `${r.firstError ? ` (first error: ${r.firstError})` : ''}; ${r.generated} generations, ${delayMs} ms each; ` +
            `${(r.ms / 1000).toFixed(2)} s in all (the generations alone ≥ ${(total * delayMs / concurrency / 1000).toFixed(1)} s), ` +
            `Node-RED CPU ${(r.cpuMs / total).toFixed(2)} ms/msg; ` +
            `RSS ${mb(r.rssBefore).toFixed(0)} → peak ${mb(r.rssPeak).toFixed(0)} MB (+${growth.toFixed(1)} MB)`,
          failed: !ok,
          details: { ...r, concurrency, queueLimit, delayMs },
        });
      } finally {
        await red.stop();
      }
    }
  } finally {
    await fake.stop();
  }
  return rows;
}

module.exports = { burst, burstFlows };

if (require.main === module) {
  // node bench/burst.js [package dir]: another build of this package, to compare a change.
  burst({ packageDir: process.argv[2] && require('node:path').resolve(process.argv[2]) }).then((rows) => console.log(JSON.stringify(rows, null, 2)), (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
