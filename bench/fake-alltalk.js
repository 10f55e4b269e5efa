'use strict';
// A fake AllTalk server that answers at once, for the benchmarks. Run as its own process
// (startFakeAllTalk() forks this file) so its CPU is not counted as ours.
//
// Routes: GET /api/ready, /api/currentsettings, /api/voices, /api/rvcvoices,
// POST /api/tts-generate, GET /audio/out.wav, GET /api/tts-generate-streaming, and the admin routes
//   GET  /__stats  -> { requests: { 'METHOD /path': n }, inFlight, maxInFlight, delayMs, stream, streams }
//   POST /__reset  -> zeroes the counters and the highest in-flight count
//   POST /__delay  {"ms": n} -> every /api/tts-generate waits n ms before it answers
//   POST /__stream {"chunkBytes": b, "chunks": n, "intervalMs": ms} -> the shape of the next streams.
//
// The streaming GET answers as AllTalk does (200, audio/wav, chunked): the 44-byte streaming
// header (RIFF size 36, data size 0) in a write of its own, then `chunks` writes of `chunkBytes`
// bytes of s16le 24 kHz mono PCM, one every `intervalMs` (0: as fast as the socket takes them,
// waiting for 'drain' when it pushes back). The first 8 bytes of every chunk are the wall-clock
// time it was written (performance.timeOrigin + performance.now(), float64 LE), for the latency
// bench (bench/stream.js); chunkBytes is a multiple of 8, so samples stay whole.
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { fork } = require('node:child_process');
const { encodeWav } = require('../dist/api');
const { engineProfile } = require('../dist/simulator/profiles');

/** The 24 keys of /api/currentsettings: those of the simulator's XTTS server, which can stream. */
const SETTINGS = engineProfile('xtts').settings;

/** A 44-byte PCM header and 4 KB of 16-bit mono 24 kHz samples. */
function smallWav() {
  return encodeWav(Float32Array.from({ length: 2048 }, (_, i) => 0.25 * Math.sin(i / 8)), { sampleRate: 24000, encoding: 's16' });
}

/** The streaming header: a 44-byte PCM 24 kHz mono 16-bit header with RIFF size 36, data size 0. */
function streamingHeader() {
  const h = smallWav().subarray(0, 44);
  h.writeUInt32LE(36, 4);
  h.writeUInt32LE(0, 40);
  return Buffer.from(h);
}

/** `bytes` of a 16-bit sine, the audio every stream chunk is copied from (before its stamp). */
function pcmTemplate(bytes) {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i + 1 < bytes; i += 2) b.writeInt16LE(Math.round(8000 * Math.sin(i / 16)), i);
  return b;
}

/** Checks a /__stream body; returns the stream shape or throws. */
function streamShape(o) {
  const chunkBytes = Number(o.chunkBytes);
  const chunks = Number(o.chunks);
  const intervalMs = Number(o.intervalMs ?? 0);
  if (!Number.isInteger(chunkBytes) || chunkBytes < 8 || chunkBytes % 8 !== 0) throw new Error('chunkBytes: a multiple of 8, at least 8');
  if (!Number.isInteger(chunks) || chunks < 0) throw new Error('chunks: a whole number ≥ 0');
  if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new Error('intervalMs: a number ≥ 0');
  return { chunkBytes, chunks, intervalMs };
}

function serve() {
  const json = (o) => Buffer.from(JSON.stringify(o));
  const replies = {
    settings: json(SETTINGS),
    voices: json({ status: 'success', voices: ['female_01.wav'] }),
    rvcvoices: json({ status: 'success', rvcvoices: ['Disabled'] }),
    generated: json({ status: 'generate-success', output_file_path: '/x/out.wav', output_file_url: '/audio/out.wav', output_cache_url: '/audiocache/out.wav' }),
    wav: smallWav(),
    streamHeader: streamingHeader(),
  };
  let requests = {};
  let inFlight = 0;
  let maxInFlight = 0;
  let delayMs = 0;
  let stream = { chunkBytes: 9600, chunks: 100, intervalMs: 0 };
  let template = pcmTemplate(stream.chunkBytes);
  // Streams answered: ended (every chunk written), closed early (the client went away), and how
  // often a write found the socket full (only waited for when intervalMs is 0).
  let streams = { ended: 0, closedEarly: 0, fullWrites: 0 };

  /** Writes one stream with the current shape (see the top of the file). */
  const streamAudio = (res) => {
    const { chunkBytes, chunks, intervalMs } = stream;
    const pcm = template;
    let i = 0;
    let finished = false;
    let closed = false;
    res.once('finish', () => {
      finished = true;
      streams.ended++;
    });
    res.once('close', () => {
      closed = true;
      if (!finished) streams.closedEarly++;
    });
    res.writeHead(200, { 'content-type': 'audio/wav' });
    res.write(replies.streamHeader);
    const t0 = performance.now();
    const writeOne = () => {
      const chunk = Buffer.allocUnsafe(chunkBytes);
      pcm.copy(chunk);
      chunk.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
      i++;
      const ok = res.write(chunk);
      if (!ok) streams.fullWrites++;
      return ok;
    };
    const finish = () => res.end();
    const next = () => {
      if (closed) return;
      if (intervalMs > 0) {
        writeOne();
        if (i >= chunks) return finish();
        // On a fixed schedule (chunk k at t0 + k·interval), whatever the timer's drift.
        return void setTimeout(next, Math.max(0, t0 + (i + 1) * intervalMs - performance.now()));
      }
      while (i < chunks && !closed) {
        if (!writeOne()) return void res.once('drain', next);
      }
      if (!closed) finish();
    };
    if (chunks === 0) finish();
    else if (intervalMs > 0) setTimeout(next, intervalMs);
    else next();
  };

  const send = (res, status, body, type) => {
    const headers = { 'content-length': body.length };
    if (type) headers['content-type'] = type;
    res.writeHead(status, headers);
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const url = req.url.split('?')[0];
    const key = `${req.method} ${url}`;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    if (key === 'POST /api/tts-generate') {
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      let ended = false;
      const end = () => {
        if (!ended) inFlight--;
        ended = true;
      };
      res.once('finish', end);
      res.once('close', end);
    }
    req.on('end', () => {
      if (!url.startsWith('/__')) requests[key] = (requests[key] || 0) + 1;
      switch (key) {
        case 'GET /api/ready':
          return send(res, 200, Buffer.from('Ready'));
        case 'GET /api/currentsettings':
          return send(res, 200, replies.settings, 'application/json');
        case 'GET /api/voices':
          return send(res, 200, replies.voices, 'application/json');
        case 'GET /api/rvcvoices':
          return send(res, 200, replies.rvcvoices, 'application/json');
        case 'POST /api/tts-generate': {
          const body = new URLSearchParams(Buffer.concat(chunks).toString());
          if (!body.get('text_input')) return send(res, 400, json({ detail: 'text_input missing' }), 'application/json');
          if (delayMs > 0) return void setTimeout(() => send(res, 200, replies.generated, 'application/json'), delayMs);
          return send(res, 200, replies.generated, 'application/json');
        }
        case 'GET /audio/out.wav':
          return send(res, 200, replies.wav, 'audio/x-wav');
        case 'GET /api/tts-generate-streaming': {
          const q = new URLSearchParams(req.url.slice(url.length + 1));
          if (!q.get('text') || !q.get('voice')) return send(res, 422, json({ detail: 'text and voice are required' }), 'application/json');
          return streamAudio(res);
        }
        case 'GET /__stats':
          return send(res, 200, json({ requests, inFlight, maxInFlight, delayMs, stream, streams }), 'application/json');
        case 'POST /__reset':
          requests = {};
          maxInFlight = inFlight;
          streams = { ended: 0, closedEarly: 0, fullWrites: 0 };
          return send(res, 200, json({ ok: true }), 'application/json');
        case 'POST /__stream': {
          try {
            stream = streamShape(JSON.parse(Buffer.concat(chunks).toString() || '{}'));
          } catch (err) {
            return send(res, 400, json({ detail: String(err.message) }), 'application/json');
          }
          if (template.length !== stream.chunkBytes) template = pcmTemplate(stream.chunkBytes);
          return send(res, 200, json(stream), 'application/json');
        }
        case 'POST /__delay': {
          const ms = Number(JSON.parse(Buffer.concat(chunks).toString() || '{}').ms);
          delayMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
          return send(res, 200, json({ delayMs }), 'application/json');
        }
        default:
          return send(res, 404, json({ detail: 'Not Found' }), 'application/json');
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    if (process.send) process.send({ port });
    else console.log(JSON.stringify({ port }));
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Forked by a bench: gone with it.
  process.on('disconnect', () => process.exit(0));
}

/**
 * Forks the fake server; resolves { port, url, pid, stats(), reset(), delay(ms),
 * stream({ chunkBytes, chunks, intervalMs }), stop() }.
 */
function startFakeAllTalk() {
  const { track } = require('./children');
  const child = track(fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake AllTalk exited (${code}) before it listened`)));
    child.once('message', ({ port }) => {
      const url = `http://127.0.0.1:${port}`;
      const call = async (method, route, body) => {
        const r = await fetch(`${url}${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
        if (!r.ok) throw new Error(`fake AllTalk ${method} ${route}: ${r.status}`);
        return r.json();
      };
      resolve({
        port,
        url,
        pid: child.pid,
        stats: () => call('GET', '/__stats'),
        reset: () => call('POST', '/__reset'),
        delay: (ms) => call('POST', '/__delay', { ms }),
        stream: (shape) => call('POST', '/__stream', shape),
        stop: () => stopChild(child),
      });
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
function stopChild(child, signal = 'SIGTERM', graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

if (require.main === module) serve();

module.exports = { startFakeAllTalk, stopChild, SETTINGS, smallWav, streamingHeader };
