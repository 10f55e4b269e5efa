'use strict';
// Shared helpers for the simulator tests: starting simulators with fast timings, HTTP requests
// (fetch for normal calls, raw http for streams and cut connections), form bodies, WAV chunks.

const http = require('http');
const { AllTalkSimulator } = require('../../dist/simulator');

const FAST = { msPerChar: 0, minGenerationMs: 2, modelLoadMs: 5, streamChunkIntervalMs: 1 };

/** Starts a simulator with fast timings; registers it for stopAll(). */
const running = new Set();
async function startSim(options = {}) {
  const sim = new AllTalkSimulator({ ...FAST, ...options });
  running.add(sim);
  await sim.start();
  return sim;
}

async function stopAll() {
  const sims = [...running];
  running.clear();
  await Promise.all(sims.map((s) => s.stop()));
}

/** fetch() that never follows redirects and returns the body read as a Buffer. */
async function request(sim, path, init = {}) {
  const res = await fetch(sim.url + path, { redirect: 'manual', ...init });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: res.headers,
    body,
    text: body.toString('utf8'),
    json() {
      return JSON.parse(body.toString('utf8'));
    },
  };
}

function postForm(sim, path, fields, init = {}) {
  return request(sim, path, { method: 'POST', body: new URLSearchParams(fields), ...init });
}

function postJson(sim, path, value, init = {}) {
  return request(sim, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof value === 'string' ? value : JSON.stringify(value),
    ...init,
  });
}

/** A multipart/form-data body built by hand (so the test controls the exact bytes). */
function multipart(fields) {
  const boundary = '----alltalkTestBoundary7MA4YWxkTrZu0gW';
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return {
    body: `${parts.join('')}--${boundary}--\r\n`,
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/**
 * A raw HTTP request that records every body chunk as it arrives and whether the message
 * completed (false when the connection was cut before the end of a chunked body).
 */
function rawRequest(url, { method = 'GET', headers = {}, body, onChunk, pauseMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    // Split the URL by hand so the path goes out exactly as written (no dot-segment resolution).
    const m = /^http:\/\/([^/:]+|\[[^\]]+\]):(\d+)(\/.*)?$/.exec(url);
    if (!m) throw new Error(`unsupported URL: ${url}`);
    const target = { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), path: m[3] || '/' };
    const req = http.request({ ...target, method, headers, agent: false }, (res) => {
      const chunks = [];
      const times = [];
      if (pauseMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      }
      res.on('data', (c) => {
        chunks.push(c);
        times.push(performance.timeOrigin + performance.now());
        if (onChunk) onChunk(c, chunks);
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        resolve({
          status: res.statusCode,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          chunks,
          times,
          body: Buffer.concat(chunks),
          complete: res.complete,
        });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Resolves with the first event `name` of `emitter` for which `predicate` holds. */
function waitFor(emitter, name, predicate = () => true) {
  return new Promise((resolve) => {
    const listener = (value) => {
      if (!predicate(value)) return;
      emitter.off(name, listener);
      resolve(value);
    };
    emitter.on(name, listener);
  });
}

/** Polls `predicate` until it holds (fails after `timeoutMs`). */
async function until(predicate, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** The chunk ids of a RIFF file in order (to check where `fact` and `data` sit). */
function riffChunkIds(buf) {
  const ids = [];
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    ids.push(id);
    if (id === 'data') break;
    offset += 8 + size + (size % 2);
  }
  return ids;
}

/** The error code of a failed fetch (e.g. ECONNREFUSED). */
async function fetchErrorCode(url) {
  try {
    await fetch(url);
    return undefined;
  } catch (err) {
    return (err.cause && err.cause.code) || err.code || err.message;
  }
}

module.exports = {
  FAST,
  startSim,
  stopAll,
  request,
  postForm,
  postJson,
  multipart,
  rawRequest,
  waitFor,
  until,
  riffChunkIds,
  fetchErrorCode,
};
