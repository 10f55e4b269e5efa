'use strict';
// The audio cache on its own (dist/runtime/audio-cache.js), in this process: what a miss costs the
// cache in a cache of 0 entries vs one of 10 000, rounds alternating, medians compared. The row
// is the in-memory part (idFor + a lookup that finds nothing); the put of the new audio is
// reported next to it (it is disk-bound, so its ratio is mostly the disk's noise). Also the
// start-up read of the folder (the first message after a start waits for it) and the put that
// sweeps for old entries (at most once a minute, it looks at every entry). fillCache() also fills
// the folder a bench Node-RED reads (bench/cache.js).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { execFileSync } = require('node:child_process');
const { AudioCache } = require('../dist/runtime/audio-cache');
const { encodeWav } = require('../dist/api');
const { tempFolder, removeFolder } = require('./children');

const MB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;
/** As a config node with cacheMaxMb 1000 and cacheMaxDays 30 opens it: nothing is evicted. */
const OPTIONS = { maxBytes: 1000 * MB, maxAgeMs: 30 * DAY_MS };
/** A small filler entry: a 44-byte header and 8 samples (60 bytes). */
const FILLER = encodeWav(Float32Array.from({ length: 8 }, (_, i) => 0.1 * i), { sampleRate: 24000, encoding: 's16' });
const META = { contentType: 'audio/wav', ext: 'wav', extra: {} };

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The parts of a request's id, shaped like those of alltalk-tts (cached-audio.ts). */
function parts(label, i) {
  return {
    v: 1, node: 'alltalk-tts', origin: 'http://127.0.0.1:7851', engine: 'xtts', model: 'xtts - xttsv2_2.0.3',
    sound: [{ text_input: `${label} ${i}`, character_voice_gen: 'female_01.wav', language: 'en', output_file_timestamp: 'true' }],
  };
}

/**
 * Fills `dir` with `count` small entries through AudioCache (which makes the folder's secret when
 * it is the first to open it), `parallel` puts at a time; resolves { entries, bytes, ms }.
 */
async function fillCache(dir, count, { parallel = 16 } = {}) {
  const t0 = performance.now();
  const cache = new AudioCache({ dir, ...OPTIONS });
  await cache.ready;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (!(await cache.put(await cache.idFor(parts('filler', i)), META, FILLER))) throw new Error(`filler entry ${i} was not kept`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const stats = cache.stats();
  await cache.close();
  if (stats.entries !== count) throw new Error(`the filled cache has ${stats.entries} entries, not ${count}`);
  return { entries: stats.entries, bytes: stats.bytes, ms: performance.now() - t0 };
}

/** Opens the cache in `dir`; resolves it and the ms until it was ready (the folder read). */
async function open(dir) {
  const t0 = performance.now();
  const cache = new AudioCache({ dir, ...OPTIONS });
  await cache.ready;
  return { cache, loadMs: performance.now() - t0 };
}

/** Writes out what earlier steps left for the disk to write, so it is not timed later (Linux `sync`; best effort). */
function settleDisk() {
  try {
    execFileSync('sync');
  } catch {
    // no sync command
  }
}

/** µs per call of `op(i)` over `k` calls (awaited one after the other when `async`). */
async function perOp(k, op, async) {
  const t0 = performance.now();
  if (async) for (let i = 0; i < k; i++) await op(i);
  else for (let i = 0; i < k; i++) op(i);
  return ((performance.now() - t0) * 1000) / k;
}

/** One round on one cache: idFor, and lookup of an id that is not there, as µs per call. */
async function round(cache, label, r, { k = 2000, kSync = 20000 } = {}) {
  const absent = await cache.idFor(parts(`absent ${label}`, r));
  const idFor = await perOp(k, (i) => cache.idFor(parts(`id ${label} ${r}`, i)), true);
  const lookup = await perOp(kSync, () => cache.lookup(absent), false);
  return { idFor, lookup, memory: idFor + lookup };
}

/**
 * Puts of new 4 KB entries, one into each cache in turn (the disk's slow spells hit both alike),
 * each timed on its own; resolves { empty: [µs], full: [µs] }.
 */
async function puts(caches, k, label) {
  const audio = encodeWav(Float32Array.from({ length: 2048 }, (_, i) => 0.25 * Math.sin(i / 8)), { sampleRate: 24000, encoding: 's16' });
  const us = { empty: [], full: [] };
  for (let i = 0; i < k; i++) {
    for (const which of i % 2 ? ['full', 'empty'] : ['empty', 'full']) {
      const cache = caches[which];
      const id = await cache.idFor(parts(`put ${label} ${which}`, i));
      const t0 = performance.now();
      if (cache.lookup(id)) throw new Error('a new id was found in the cache');
      if (!(await cache.put(id, META, audio))) throw new Error('a new entry was not kept');
      us[which].push((performance.now() - t0) * 1000);
    }
  }
  return us;
}

/** ms of a put that sweeps for old entries (forced: the sweep's time stamp is set back), median of `k`. */
async function sweepingPut(cache, label, k = 5) {
  const ms = [];
  for (let i = 0; i < k; i++) {
    cache.lastSweep = 0;
    const id = await cache.idFor(parts(`sweep ${label}`, i));
    const t0 = performance.now();
    await cache.put(id, META, FILLER);
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/**
 * The benchmark: a cache filled with `entries` entries (or the folder `filledDir`, filled
 * already) vs an empty one, `rounds` rounds alternating, then puts in turn; resolves the table row.
 */
async function cacheMicro({ entries = 10_000, rounds = 7, putCount = 1500, filledDir, emptyDir: emptyAt } = {}) {
  const dir = tempFolder(fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-cache-micro-')));
  try {
    // `filledDir`: a filled folder to use (and change) in place, e.g. a copy of a bench's;
    // `emptyDir`: an empty one made at the same time (a fresh folder can be slower to write on some disks).
    const fullDir = filledDir ?? path.join(dir, 'full');
    const emptyDir = emptyAt ?? path.join(dir, 'empty');
    const fill = filledDir ? undefined : await fillCache(fullDir, entries);
    const full = await open(fullDir);
    const empty = await open(emptyDir);
    if (full.cache.stats().entries !== entries) throw new Error(`the full cache has ${full.cache.stats().entries} entries, not ${entries}`);
    const samples = { empty: [], full: [] };
    settleDisk();
    // Warm-up (code optimised), then the measured rounds, the order swapped every round.
    await round(empty.cache, 'empty', -1);
    await round(full.cache, 'full', -1);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? ['full', 'empty'] : ['empty', 'full'];
      for (const which of order) samples[which].push(await round(which === 'full' ? full.cache : empty.cache, which, r));
    }
    const m = (which, key) => median(samples[which].map((s) => s[key]));
    await puts({ empty: empty.cache, full: full.cache }, 100, 'warm-up');
    const put = await puts({ empty: empty.cache, full: full.cache }, putCount, 'measured');
    const pm = { empty: median(put.empty), full: median(put.full) };
    const half = (xs) => median(xs.slice(0, xs.length >> 1));
    const sweep = { empty: await sweepingPut(empty.cache, 'empty'), full: await sweepingPut(full.cache, 'full') };
    const sizes = { empty: empty.cache.stats().entries, full: full.cache.stats().entries };
    const reload = (await open(fullDir)).loadMs;
    await Promise.all([full.cache.close(), empty.cache.close()]);
    const paired = (key) => {
      const r = samples.full.map((s, i) => s[key] / samples.empty[i][key]);
      return `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`;
    };
    const f = (x) => x.toFixed(1);
    return [{
      name: `AudioCache: the in-memory part of a miss (idFor + lookup), ${entries} entries vs empty (median µs)`,
      baseline: m('empty', 'memory'),
      ours: m('full', 'memory'),
      ratio: m('full', 'memory') / m('empty', 'memory'),
      note: `the cache alone in the bench process, ${rounds} rounds alternating; per-round ratios ${paired('memory')}; empty vs full: ` +
        `idFor ${f(m('empty', 'idFor'))} vs ${f(m('full', 'idFor'))} µs, lookup of an absent id ${m('empty', 'lookup').toFixed(3)} vs ` +
        `${m('full', 'lookup').toFixed(3)} µs (ratio ${(m('full', 'lookup') / m('empty', 'lookup')).toFixed(2)}, per round ${paired('lookup')}); ` +
        `the put of a new 4 KB entry (disk-bound: files written and renamed; ${putCount} into each, in turn) ${f(pm.empty)} vs ${f(pm.full)} µs ` +
        `(ratio ${(pm.full / pm.empty).toFixed(2)}; first and second half ${(half(put.full) / half(put.empty)).toFixed(2)}, ` +
        `${(median(put.full.slice(putCount >> 1)) / median(put.empty.slice(putCount >> 1))).toFixed(2)}); ` +
        `the cache grew to ${sizes.empty} / ${sizes.full} entries; ` +
        `once a minute a put sweeps for old entries: such a put ${f(sweep.empty * 1000)} µs empty, ${f(sweep.full * 1000)} µs full (median of 5); ` +
        `start-up (folder read): ${full.loadMs.toFixed(0)} ms with ${entries} entries, ${reload.toFixed(0)} ms with ${sizes.full}, ${empty.loadMs.toFixed(1)} ms empty` +
        `${fill ? `; filling ${entries} entries took ${(fill.ms / 1000).toFixed(1)} s` : ''}`,
      details: { samples, putUs: pm, sweepMs: sweep, loadMs: { full: full.loadMs, reload, empty: empty.loadMs }, sizes, fill },
    }];
  } finally {
    removeFolder(dir);
  }
}

module.exports = { cacheMicro, fillCache, settleDisk, median, FILLER };

if (require.main === module) {
  cacheMicro().then((rows) => {
    console.log(rows.map((r) => `| ${r.name} | ${r.baseline.toFixed(2)} | ${r.ours.toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.note} |`).join('\n'));
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
