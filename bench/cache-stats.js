'use strict';
// Statistics and checks for bench/cache.js. A run is the reply of one loop in the flow:
// { n, mode, ms, times: [ms per message], cached: { hit, miss, none }, bytes: [distinct sizes],
//   generationMs, downloadMs (sums of msg.alltalk.timing), cpuMs (of Node-RED, added by the bench) }.
const { median } = require('./cache-micro');

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** Pooled over runs: median, p25, p75 of the per-message times; means per message of CPU, generation, download. */
function stats(runs) {
  const times = runs.flatMap((r) => r.times).sort((a, b) => a - b);
  const messages = runs.reduce((a, r) => a + r.n, 0);
  const sum = (key) => runs.reduce((a, r) => a + r[key], 0);
  return {
    messages,
    median: median(times),
    p25: quantile(times, 0.25),
    p75: quantile(times, 0.75),
    cpuMs: sum('cpuMs') / messages,
    generationMs: sum('generationMs') / messages,
    downloadMs: sum('downloadMs') / messages,
    roundMedians: runs.map((r) => median(r.times)),
  };
}

/** A deterministic PRNG (mulberry32), so the interval is the same for the same samples. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 95% percentile-bootstrap interval of median(b) / median(a), from `k` resamples. */
function bootstrapRatio(a, b, k = 2000) {
  const rnd = random(12345);
  const resampledMedian = (xs) => {
    const s = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) s[i] = xs[Math.floor(rnd() * xs.length)];
    s.sort();
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const ratios = [];
  for (let i = 0; i < k; i++) ratios.push(resampledMedian(b) / resampledMedian(a));
  ratios.sort((x, y) => x - y);
  return { low: quantile(ratios, 0.025), high: quantile(ratios, 0.975) };
}

/**
 * Checks every run: each message answered as its key says (`<key> hit`: from the cache, `miss`:
 * generated after a look in the cache, `nocache` and the no-op and read loops: no look), with audio (one
 * size per simulator, the key's first word: all texts are as long). `expect`: { key: 'hit' |
 * 'miss' | 'none' } overrides.
 * Returns the problems found.
 */
function checkRuns(runs, expect = {}) {
  const problems = [];
  const sizes = {};
  for (const [key, list] of Object.entries(runs)) {
    const kind = expect[key] ?? (/^(noop|read)/.test(key) || key.endsWith('nocache') ? 'none' : key.endsWith('hit') ? 'hit' : 'miss');
    list.forEach((r, i) => {
      if (r.cached[kind] !== r.n) problems.push(`${key} round ${i + 1}: ${JSON.stringify(r.cached)}, expected ${r.n} ${kind}`);
      if (key.startsWith('noop')) return;
      for (const b of r.bytes) {
        if (b <= 44) problems.push(`${key} round ${i + 1}: audio of ${b} bytes`);
        (sizes[key.split('-')[0]] ??= new Set()).add(b);
      }
    });
  }
  for (const [sim, set] of Object.entries(sizes)) if (set.size > 1) problems.push(`${sim}: audio of different sizes, ${[...set].join(', ')} bytes`);
  return problems;
}

module.exports = { stats, bootstrapRatio, checkRuns, quantile };
