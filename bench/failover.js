'use strict';
// Failover between AllTalk servers (alltalk-config's fallbacks, shared load and probes) in a real
// Node-RED, against simulators in processes of their own (bench/failover-setup.js), which are killed
// with SIGKILL (a crash: their connections are reset, new ones refused) and started again on the same
// port. Three goals from the issue, each measured in one run:
// (1) a primary killed mid-queue: 6 messages queued at once on alltalk-tts (concurrency 1, a
//     simulator taking 200 ms + 4 ms/char, ≈ 0.45 s for the 64-character texts); half a generation
//     after the first answer (the second message is generating) the primary's process is killed.
//     The time from the kill to the next answer must be at most the fallback's own generation time
//     for such a text + 1 s (measured before, on a node that uses the fallback server directly: the
//     median of msg.alltalk.timing.generationMs of 3 messages). The answer must come from the
//     fallback. The primary is then started again and must get messages again.
// (2) a soak: 2000 messages paced through one alltalk-tts (fast simulators: msPerChar 0,
//     minGenerationMs 5, probeInterval 0.5 s, timeout 1 s, generation timeout 3 s) while the
//     primary's process is killed for 5 s of every 15 s (three times). Goal: every message answered
//     exactly once (0 lost, 0 duplicated); the server of each answer is counted; after each restart
//     the primary must get messages again.
// (3) shared load: a burst of 30 messages through one server (share off, no fallbacks) vs the same
//     burst through a server sharing its load with a second one (share on), both at concurrency 1,
//     simulators taking 150 ms per generation; alternating rounds. Goal: throughput ≥ 1.8× one server.
// A missed goal marks its row **FAIL** (the run exits with code 1). `node bench/failover.js` runs it alone.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('./node-red');
const { tempFolder, removeFolder } = require('./children');
const { median, startAll } = require('./node-path');
const { SimProcess, failoverFlows, wallNow } = require('./failover-setup');

const GOAL_EXTRA_MS = 1000;
const GOAL_SHARE = 1.8;
/** Row 1's simulators (a real generation time, so that a kill lands in one) and texts (64 characters). */
const KILL_SIM = { profile: 'xtts', msPerChar: 4, minGenerationMs: 200, audioSecondsPerChar: 0.02 };
const KILL_TEXT = 'The primary server goes away in the middle of the queue: msg';
const SOAK_SIM = { profile: 'xtts', msPerChar: 0, minGenerationMs: 5, audioSecondsPerChar: 0 };
const SOAK_CONFIG = { probeInterval: 0.5, timeout: 1, generationTimeout: 3 };
const SHARE_SIM = { profile: 'xtts', msPerChar: 0, minGenerationMs: 150, audioSecondsPerChar: 0 };

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sleepUntil = (t) => sleep(t - wallNow());
const s1 = (ms) => (ms / 1000).toFixed(1);
const ms0 = (ms) => ms.toFixed(0);

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

function countBy(xs, key) {
  const out = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

const fmtCounts = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

/** Talks to the flows of bench/failover-setup.js. */
function benchClient(red) {
  let seq = 0;
  const api = {
    /** Sends n messages to `node` (paced when intervalMs > 0); resolves { run, t0 }. */
    async send(node, n, { intervalMs = 0, text = '' } = {}) {
      const run = `${node}-${++seq}`;
      const q = new URLSearchParams({ node, run, n: String(n), intervalMs: String(intervalMs), text });
      const { t0 } = await red.get(`/fo/send?${q}`);
      return { run, t0, n };
    },
    results: (run) => red.get(`/fo/results?run=${encodeURIComponent(run)}`),
    /** Resolves the records of `run` once `atLeast` ended (outputs or errors), then a little later (a second end would show). */
    async done({ run, n }, timeoutMs = 60_000, atLeast = n) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const recs = await api.results(run);
        if (recs.length >= atLeast) break;
        if (Date.now() > until) throw new Error(`${run}: ${recs.length} of ${atLeast} messages ended in ${timeoutMs} ms`);
        await sleep(50);
      }
      await sleep(300);
      return api.results(run);
    },
    /** One message at a time, `times` times; resolves the records. */
    async oneByOne(node, times, text) {
      const out = [];
      for (let k = 0; k < times; k++) out.push(...await api.done(await api.send(node, 1, { text })));
      return out;
    },
  };
  return api;
}

/** Waits until each configuration is ready and each fallback listed counts as up. */
async function waitReady(red, ids, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (const id of ids) {
    for (;;) {
      const s = await (await fetch(`${red.base}/alltalk/server/${id}`)).json();
      if (s.state === 'ready' && (s.fallbacks ?? []).every((f) => f.up)) break;
      if (Date.now() > until) throw new Error(`${id} not ready in ${timeoutMs} ms: ${JSON.stringify(s).slice(0, 400)}`);
      await sleep(100);
    }
  }
}

/** Ends messages once each: lost (none ended with audio), duplicated (ended more than once), errors. */
function tally(recs, n) {
  const seen = new Map();
  for (const r of recs) seen.set(r.i, (seen.get(r.i) ?? 0) + 1);
  const errors = recs.filter((r) => r.error);
  const answered = new Set(recs.filter((r) => !r.error && r.bytes > 0).map((r) => r.i));
  const lost = Array.from({ length: n }, (_, i) => i).filter((i) => !answered.has(i));
  const duplicated = [...seen].filter(([, c]) => c > 1).map(([i]) => i);
  return { lost, duplicated, errors, once: [...seen].filter(([i, c]) => c === 1 && answered.has(i)).length };
}

/**
 * After a restart of the primary (`sim`), one message every 200 ms to `node` until one is answered
 * by `primaryId`; resolves the ms from the restart to that answer, or NaN after `limitMs`.
 */
async function primaryBack(client, node, primaryId, sim, limitMs = 10_000) {
  for (;;) {
    const [r] = await client.done(await client.send(node, 1, { text: 'Is the primary back' }));
    if (r && r.server === primaryId) return r.at - sim.upAt;
    if (wallNow() - sim.upAt > limitMs) return NaN;
    await sleep(200);
  }
}

// ---- (1) a primary killed mid-queue ---------------------------------------------------------

async function killedMidQueue(red, client, sims) {
  await client.oneByOne('tts-k', 1, KILL_TEXT);
  // The fallback's own time for such a text: a node that uses it directly.
  const own = await client.oneByOne('tts-k-b', 3, KILL_TEXT);
  const fallbackGen = median(own.map((r) => r.generationMs));
  const fallbackE2e = median(own.map((r) => r.at - r.sentAt));
  const n = 6;
  const job = await client.send('tts-k', n, { text: KILL_TEXT });
  let first;
  for (const until = Date.now() + 20_000; !first; await sleep(10)) {
    [first] = await client.results(job.run);
    if (Date.now() > until) throw new Error('failover: the first queued message never ended');
  }
  // The second message is generating now (concurrency 1): kill halfway through its generation.
  await sleepUntil(first.at + fallbackGen / 2);
  const killAt = await sims.kA.kill();
  const recs = await client.done(job, 30_000);
  const t = tally(recs, n);
  const before = recs.filter((r) => r.at < killAt);
  const after = recs.filter((r) => r.at >= killAt).sort((a, b) => a.at - b.at);
  const next = after[0];
  const took = next ? next.at - killAt : NaN;
  await sims.kA.start();
  const back = await primaryBack(client, 'tts-k', 'cfg-k-a', sims.kA);
  const problems = [];
  if (t.lost.length || t.duplicated.length) problems.push(`lost ${t.lost.length}, duplicated ${t.duplicated.length}${t.errors[0] ? ` (first error: ${t.errors[0].error})` : ''}`);
  if (!next) problems.push('no answer after the kill');
  else if (next.server !== 'cfg-k-b' || next.rerouted !== true) problems.push(`the next answer came from ${next.server} (rerouted ${next.rerouted})`);
  if (before.length !== 1) problems.push(`${before.length} answers before the kill, not 1 (the kill did not land in the second generation)`);
  if (!Number.isFinite(back)) problems.push('the primary got no message in the 10 s after its restart');
  const met = took <= fallbackGen + GOAL_EXTRA_MS;
  const fail = problems.length > 0 || !met;
  return {
    name: 'failover: primary killed mid-queue → next answer (fallback\'s own generation ms vs ms from the kill)',
    baseline: fallbackGen,
    ours: took,
    ratio: took / fallbackGen,
    goal: `≤ baseline + ${GOAL_EXTRA_MS} ms`,
    note: `${fail ? `**FAIL** ${problems.map((x) => `${x}; `).join('')}` : ''}goal ≤ ${ms0(fallbackGen)} + ${GOAL_EXTRA_MS} ms: ${met ? 'met' : '**missed**'}; ` +
      `${n} messages queued at once on alltalk-tts (concurrency 1; simulators 200 ms + 4 ms/char, ${KILL_TEXT.length + 6}-char texts), ` +
      `the primary's process killed (SIGKILL) ${ms0(killAt - first.at)} ms after the first answer, while the second generated; ` +
      `the next answer: ${next ? `${next.server}, rerouted ${next.rerouted}${next.because ? ` ("${next.because.slice(0, 90)}")` : ''}, its generation ${next.generationMs} ms` : 'none'}; ` +
      `the fallback alone: generation ${ms0(fallbackGen)} ms, whole message ${ms0(fallbackE2e)} ms (median of 3); ` +
      `all ${n}: answered once ${t.once}, by server ${fmtCounts(countBy(recs, (r) => r.server ?? 'error'))}, the last ${s1(Math.max(...recs.map((r) => r.at)) - killAt)} s after the kill; ` +
      `restarted, the primary answered again ${Number.isFinite(back) ? `${s1(back)} s after it listened (probe interval 1 s, 2 good probes)` : '**never** (10 s)'}`,
    failed: fail,
    details: { records: recs, killAt, fallbackGen, fallbackE2e, back },
  };
}

// ---- (2) the soak ---------------------------------------------------------------------------

async function soak(red, client, sims, { messages, intervalMs, cycleMs, downMs, firstDownMs }) {
  await client.oneByOne('tts-s', 2, 'Soak warm-up');
  const startupMs = sims.sA.startupMs;
  const job = await client.send('tts-s', messages, { intervalMs, text: 'Soak message' });
  const sendEnd = job.t0 + messages * intervalMs;
  const outages = [];
  for (let downAt = job.t0 + firstDownMs; downAt + downMs < sendEnd; downAt += cycleMs) {
    await sleepUntil(downAt);
    const killAt = await sims.sA.kill();
    // Started that much earlier, so that it listens again about downMs after the kill.
    await sleepUntil(killAt + downMs - startupMs);
    await sims.sA.start();
    outages.push({ killAt, upAt: sims.sA.upAt });
  }
  const recs = await client.done(job, sendEnd - wallNow() + 60_000);
  const t = tally(recs, messages);
  const ok = recs.filter((r) => !r.error).sort((a, b) => a.at - b.at);
  const byServer = countBy(ok, (r) => r.server);
  const retried = ok.filter((r) => r.rerouted && /failed/.test(r.because ?? '')).length;
  const direct = ok.filter((r) => r.rerouted && / is down/.test(r.because ?? '')).length;
  const problems = [];
  for (const [k, o] of outages.entries()) {
    const next = outages[k + 1]?.killAt ?? Infinity;
    o.toFallback = ok.filter((r) => r.server === 'cfg-s-b' && r.at >= o.killAt && r.at < next).length;
    const home = ok.find((r) => r.server === 'cfg-s-a' && r.sentAt >= o.upAt && r.at < next);
    o.backMs = home ? home.at - o.upAt : NaN;
    if (o.toFallback === 0) problems.push(`outage ${k + 1}: no message went to the fallback`);
    if (!home) problems.push(`outage ${k + 1}: the primary got no message after its restart`);
  }
  // The fallback outside the outages (from a restart + the time the primary took to be used again, to the next kill).
  const outside = ok.filter((r) => r.server === 'cfg-s-b' && r.sentAt < (outages[0]?.killAt ?? Infinity)).length +
    outages.reduce((sum, o, k) => sum + ok.filter((r) => r.server === 'cfg-s-b' && r.sentAt > o.upAt + (o.backMs || 0) && r.at < (outages[k + 1]?.killAt ?? Infinity)).length, 0);
  const lat = recs.map((r) => r.at - r.sentAt);
  // Messages that took long, and where they ended: queued on the primary when it went away, each
  // tries it in turn before it is rerouted (or it is still there when the primary is back).
  const slow = ok.filter((r) => r.at - r.sentAt > 1000);
  const during = (r) => outages.some((o) => r.sentAt >= o.killAt && r.sentAt < o.upAt);
  const waitedOut = ok.filter((r) => r.server === 'cfg-s-a' && during(r)).length;
  const slowNote = slow.length
    ? `${slow.length} took > 1 s (${fmtCounts(countBy(slow, (r) => `${r.server}${r.rerouted ? ' rerouted' : ''}`))}; the longest ${s1(Math.max(...slow.map((r) => r.at - r.sentAt)))} s); ` +
      `sent while the primary was down yet answered by it once back (they waited out the outage in its queue): ${waitedOut}`
    : 'none took > 1 s';
  if (t.lost.length) problems.push(`lost ${t.lost.length} (first: #${t.lost.slice(0, 5).join(', #')})${t.errors[0] ? `; first error: ${t.errors[0].error}` : ''}`);
  if (t.duplicated.length) problems.push(`duplicated ${t.duplicated.length} (first: #${t.duplicated.slice(0, 5).join(', #')})`);
  if (outages.length < 3) problems.push(`only ${outages.length} outages`);
  const fail = problems.length > 0;
  const span = Math.max(...recs.map((r) => r.at)) - job.t0;
  return {
    name: `failover: soak ${messages} msgs, primary killed 5 s of every 15 s (sent vs answered exactly once)`,
    baseline: messages,
    ours: t.once,
    ratio: t.once / messages,
    goal: '0 lost, 0 duplicated',
    note: `${fail ? `**FAIL** ${problems.join('; ')}; ` : ''}goal 0 lost, 0 duplicated: lost ${t.lost.length}, duplicated ${t.duplicated.length}, errors ${t.errors.length}; ` +
      `answers by server: ${fmtCounts(byServer)} (rerouted after a failed try ${retried}, sent to the fallback because the primary was down ${direct}; ` +
      `the fallback while the primary was up and used again: ${outside}); ` +
      `one alltalk-tts, a message every ${intervalMs} ms (${s1(messages * intervalMs)} s), all ended ${s1(span)} s after the first; ` +
      `outages (kill → listening again, answers by the fallback, restart → first answer by the primary): ` +
      `${outages.map((o) => `${s1(o.killAt - job.t0)} s: ${s1(o.upAt - o.killAt)} s, ${o.toFallback}, ${Number.isFinite(o.backMs) ? `${s1(o.backMs)} s` : '**never**'}`).join('; ')}; ` +
      `message latency p50 ${ms0(quantile(lat, 0.5))}, p99 ${ms0(quantile(lat, 0.99))}, max ${ms0(Math.max(...lat))} ms, ${slowNote}; ` +
      `settings: simulators msPerChar 0, minGenerationMs 5, audio 0.2 s; config concurrency 1, probeInterval ${SOAK_CONFIG.probeInterval} s, ` +
      `timeout ${SOAK_CONFIG.timeout} s, generationTimeout ${SOAK_CONFIG.generationTimeout} s, healthInterval 0, cache off`,
    failed: fail,
    details: { outages, waitedOut, slow: slow.slice(0, 60), byServer, lost: t.lost, duplicated: t.duplicated, errors: t.errors.slice(0, 20), t0: job.t0 },
  };
}

// ---- (3) shared load --------------------------------------------------------------------------

async function sharedLoad(red, client, { burst, rounds }) {
  await client.oneByOne('tts-solo', 2, 'Share warm-up');
  await client.oneByOne('tts-h', 2, 'Share warm-up');
  const runs = { solo: [], share: [] };
  const once = async (node) => {
    const job = await client.send(node, burst, { text: 'Shared load message' });
    const recs = await client.done(job, 60_000);
    const t = tally(recs, burst);
    const start = Math.min(...recs.map((r) => r.sentAt));
    const ms = Math.max(...recs.map((r) => r.at)) - start;
    return { ms, perSec: (burst * 1000) / ms, byServer: countBy(recs, (r) => r.server ?? 'error'), lost: t.lost.length, duplicated: t.duplicated.length, firstError: t.errors[0]?.error };
  };
  for (let r = 0; r < rounds; r++) {
    // Balanced order: solo, share, share, solo, …
    const order = r % 2 ? ['share', 'solo'] : ['solo', 'share'];
    for (const k of order) runs[k].push(await once(k === 'solo' ? 'tts-solo' : 'tts-h'));
  }
  const base = median(runs.solo.map((x) => x.perSec));
  const ours = median(runs.share.map((x) => x.perSec));
  const ratio = ours / base;
  const all = [...runs.solo, ...runs.share];
  const problems = all.filter((x) => x.lost || x.duplicated).map((x) => `lost ${x.lost}, duplicated ${x.duplicated}${x.firstError ? ` (${x.firstError})` : ''}`);
  const met = ratio >= GOAL_SHARE;
  const fail = problems.length > 0 || !met;
  return {
    name: `failover: shared load, burst of ${burst}, concurrency 1 each (msgs/s: one server vs two sharing)`,
    baseline: base,
    ours,
    ratio,
    goal: GOAL_SHARE,
    note: `${fail ? `**FAIL** ${problems.map((x) => `${x}; `).join('')}` : ''}goal ≥ ${GOAL_SHARE}×: ${met ? 'met' : '**missed**'}; ` +
      `${burst} messages at once through alltalk-tts, simulators 150 ms per generation (msPerChar 0), ${rounds} rounds each alternating; ` +
      `one server (share off, no fallbacks) ${runs.solo.map((x) => s1(x.ms)).join(' / ')} s, ` +
      `two (share on) ${runs.share.map((x) => s1(x.ms)).join(' / ')} s; answers by server with share on: ${runs.share.map((x) => fmtCounts(x.byServer)).join(' / ')}; ` +
      `the generations alone: ≥ ${s1(burst * 150)} s on one server, ≥ ${s1(Math.ceil(burst / 2) * 150)} s on two`,
    failed: fail,
    details: runs,
  };
}

/** Runs the three rows; resolves them. `packageDir`: another build of this package. */
async function failover({ soakMessages = 2000, soakIntervalMs = 22, shareBurst = 30, shareRounds = 2, packageDir } = {}) {
  const scratch = tempFolder(fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-failover-')));
  const sim = (name, options) => {
    const dir = path.join(scratch, name);
    fs.mkdirSync(dir);
    return new SimProcess({ ...options, outputDir: dir });
  };
  const sims = {
    kA: sim('kA', KILL_SIM), kB: sim('kB', KILL_SIM), sA: sim('sA', SOAK_SIM), sB: sim('sB', SOAK_SIM), hA: sim('hA', SHARE_SIM), hB: sim('hB', SHARE_SIM),
  };
  let red;
  try {
    const t0 = wallNow();
    await startAll(Object.values(sims).map((s) => s.start()));
    // How long a start takes here (the soak starts its primary that much before the end of an outage).
    sims.sA.startupMs = Math.min(1000, wallNow() - t0);
    await sims.sA.kill();
    const t1 = wallNow();
    await sims.sA.start();
    sims.sA.startupMs = Math.min(1000, wallNow() - t1);
    const ports = Object.fromEntries(Object.entries(sims).map(([k, s]) => [k, s.port]));
    red = await startNodeRed(failoverFlows(ports, SOAK_CONFIG), { label: 'failover', packageDir });
    await waitReady(red, ['cfg-k-a', 'cfg-k-b', 'cfg-s-a', 'cfg-s-b', 'cfg-solo', 'cfg-h-a', 'cfg-h-b']);
    const client = benchClient(red);
    const rows = [];
    rows.push(await killedMidQueue(red, client, sims));
    rows.push(await soak(red, client, sims, { messages: soakMessages, intervalMs: soakIntervalMs, cycleMs: 15_000, downMs: 5000, firstDownMs: 3000 }));
    rows.push(await sharedLoad(red, client, { burst: shareBurst, rounds: shareRounds }));
    return rows;
  } finally {
    await red?.stop();
    await Promise.all(Object.values(sims).map((s) => s.stop()));
    removeFolder(scratch);
  }
}

module.exports = { failover };

if (require.main === module) {
  // node bench/failover.js [package dir]: another build of this package, to compare a change.
  failover({ packageDir: process.argv[2] && path.resolve(process.argv[2]) }).then((rows) => {
    console.log(rows.map((r) => `| ${r.name} | ${r.baseline.toFixed(2)} | ${r.ours.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.note} |`).join('\n'));
    if (rows.some((r) => r.failed)) process.exitCode = 1;
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
