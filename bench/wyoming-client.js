'use strict';
// A Wyoming client for bench/wyoming.js that does what Home Assistant's `wyoming` integration does,
// written apart from the package's own framing (the approach of the tests' client, not its file):
// an event is a header line of JSON {type, data?, data_length?, payload_length?} + "\n", then
// data_length bytes of JSON merged over "data", then payload_length bytes of payload.
// - describe: `describe` → `info`;
// - one-shot: `synthesize {text, voice: {name}}`, then events until `audio-stop`;
// - streaming: `synthesize-start`, `synthesize-chunk`s, the whole `synthesize`, `synthesize-stop`,
//   then events until `synthesize-stopped`.
// Times are performance.now() in this process: from the write of the request to the moment the
// event of interest is fully read (its payload included).
const net = require('node:net');
const { performance } = require('node:perf_hooks');

/** Reads events from a socket as Home Assistant's reader does (readline, then readexactly). */
class EventStream {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.ended = false;
    socket.on('data', (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  async bytes(n) {
    while (this.buf.length < n) {
      if (this.ended) return undefined;
      await new Promise((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async line() {
    for (;;) {
      const at = this.buf.indexOf(0x0a);
      if (at >= 0) {
        const out = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + 1);
        return out;
      }
      if (this.ended) return undefined;
      await new Promise((r) => this.waiters.push(r));
    }
  }

  /** The next event, or undefined when the connection ended. */
  async next() {
    const line = await this.line();
    if (line === undefined) return undefined;
    const header = JSON.parse(line.toString('utf8'));
    const data = { ...(header.data || {}) };
    if (header.data_length > 0) {
      const bytes = await this.bytes(header.data_length);
      if (!bytes) return undefined;
      Object.assign(data, JSON.parse(bytes.toString('utf8')));
    }
    let payload;
    if (header.payload_length > 0) {
      payload = await this.bytes(header.payload_length);
      if (!payload) return undefined;
    }
    return { type: header.type, data, payload };
  }
}

/** An event's bytes as the Python writer sends them (data in its own block, lengths left out when 0). */
function encode(type, data, payload) {
  const header = { type, version: '1.7.2' };
  const body = data && Object.keys(data).length ? Buffer.from(JSON.stringify(data)) : undefined;
  if (body) header.data_length = body.length;
  if (payload && payload.length) header.payload_length = payload.length;
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...(body ? [body] : []), ...(payload && payload.length ? [payload] : [])]);
}

function connect(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
    socket.setNoDelay(true);
  });
}

/** `describe` → the `info` event's data, within `timeoutMs`. */
async function describe(port, { timeoutMs = 1000, host } = {}) {
  const socket = await connect(port, host);
  const events = new EventStream(socket);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  try {
    socket.write(encode('describe'));
    for (;;) {
      const e = await events.next();
      if (!e) throw new Error(`no info within ${timeoutMs} ms`);
      if (e.type === 'info') return e.data;
    }
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/**
 * Reads events until `last` (or the connection ends, an `error` event comes, or `timeoutMs`
 * passes). Resolves { ok, lost?, error?, format, pcmBytes, groups, firstChunkMs, endMs } with
 * times since `t0`; lost: 'closed' | 'timeout' | 'error <code>'.
 */
async function readUntil(socket, events, last, t0, timeoutMs) {
  const r = { ok: false, format: undefined, pcmBytes: 0, groups: 0, chunks: 0, firstChunkMs: undefined, endMs: undefined };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    socket.destroy();
  }, timeoutMs);
  try {
    for (;;) {
      const e = await events.next();
      if (!e) {
        r.lost = timedOut ? 'timeout' : 'closed';
        return r;
      }
      if (e.type === 'error') {
        r.lost = `error ${e.data.code}`;
        r.error = e.data;
        return r;
      }
      if (e.type === 'audio-start') {
        r.groups++;
        // Home Assistant writes its WAV header from the first audio-start.
        r.format ??= { rate: e.data.rate, width: e.data.width, channels: e.data.channels };
      } else if (e.type === 'audio-chunk') {
        r.firstChunkMs ??= performance.now() - t0;
        r.chunks++;
        r.pcmBytes += e.payload ? e.payload.length : 0;
      }
      if (e.type === last) {
        r.endMs = performance.now() - t0;
        r.ok = true;
        return r;
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One-shot synthesis on a connection opened first (the time runs from the write of `synthesize`).
 * Resolves as readUntil, until `audio-stop`; a failed connect is lost 'connect <code>'.
 */
async function synthesize(port, text, { voice, timeoutMs = 60_000, host } = {}) {
  let socket;
  try {
    socket = await connect(port, host);
  } catch (err) {
    return { ok: false, lost: `connect ${err.code || err.message}`, pcmBytes: 0, groups: 0 };
  }
  const events = new EventStream(socket);
  try {
    const data = { text };
    if (voice !== undefined) data.voice = { name: voice };
    const t0 = performance.now();
    socket.write(encode('synthesize', data));
    return await readUntil(socket, events, 'audio-stop', t0, timeoutMs);
  } finally {
    socket.destroy();
  }
}

/**
 * The streaming sequence: `chunks` sent `gapMs` apart, then the whole `synthesize` and
 * `synthesize-stop`; resolves as readUntil, until `synthesize-stopped`.
 */
async function synthesizeStreaming(port, chunks, { voice, gapMs = 0, timeoutMs = 60_000, host } = {}) {
  let socket;
  try {
    socket = await connect(port, host);
  } catch (err) {
    return { ok: false, lost: `connect ${err.code || err.message}`, pcmBytes: 0, groups: 0 };
  }
  const events = new EventStream(socket);
  const voiceData = voice !== undefined ? { voice: { name: voice } } : {};
  try {
    const t0 = performance.now();
    const sending = (async () => {
      socket.write(encode('synthesize-start', voiceData));
      for (const c of chunks) {
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        if (socket.destroyed) return;
        socket.write(encode('synthesize-chunk', { text: c }));
      }
      if (socket.destroyed) return;
      socket.write(encode('synthesize', { text: chunks.join(''), ...voiceData }));
      socket.write(encode('synthesize-stop'));
    })();
    const r = await readUntil(socket, events, 'synthesize-stopped', t0, timeoutMs);
    await sending;
    return r;
  } finally {
    socket.destroy();
  }
}

module.exports = { EventStream, encode, connect, describe, synthesize, synthesizeStreaming };
