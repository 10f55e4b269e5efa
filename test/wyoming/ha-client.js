'use strict';
// A Wyoming client that does what Home Assistant's `wyoming` integration does (homeassistant/components/
// wyoming: data.py, tts.py), written apart from the package's own framing so that it checks it: a
// header line, then data_length bytes of JSON merged over "data", then payload_length bytes.
// - describe: connect, send `describe`, wait at most 1 s for `info` (Home Assistant's timeout);
// - one-shot: `synthesize {text, voice?: {name}}`, a WAV built from the first audio-chunk's rate,
//   width and channels and every chunk's PCM, until `audio-stop`; a lost connection is a failure;
// - streaming: `synthesize-start`, `synthesize-chunk`s, the whole `synthesize`, `synthesize-stop`; a
//   WAV header built from the FIRST `audio-start`, then every chunk's PCM, until `synthesize-stopped`.
const net = require('node:net');

/** Reads events from a socket as Home Assistant's reader does (readline, then readexactly). */
class EventStream {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.ended = false;
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
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
    return { type: header.type, data, payload, header };
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
    const socket = net.connect({ port, host }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A 16-bit (or other width) PCM WAV, as Python's wave module writes it. */
function wav(format, pcm, frames = pcm.length / (format.width * format.channels)) {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + frames * format.width * format.channels, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(format.channels, 22);
  h.writeUInt32LE(format.rate, 24);
  h.writeUInt32LE(format.rate * format.width * format.channels, 28);
  h.writeUInt16LE(format.width * format.channels, 32);
  h.writeUInt16LE(format.width * 8, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(frames * format.width * format.channels, 40);
  return Buffer.concat([h, pcm]);
}

/** `describe` → `info`, within `timeoutMs` (Home Assistant waits 1 s). */
async function describe(port, { timeoutMs = 1000, host } = {}) {
  const socket = await connect(port, host);
  const events = new EventStream(socket);
  const started = Date.now();
  try {
    socket.write(encode('describe'));
    const timer = new Promise((_, reject) => setTimeout(() => reject(new Error(`no info within ${timeoutMs} ms`)), timeoutMs));
    for (;;) {
      const e = await Promise.race([events.next(), timer]);
      if (!e) throw new Error('connection lost before info');
      if (e.type === 'info') return { info: e.data, ms: Date.now() - started };
    }
  } finally {
    socket.destroy();
  }
}

/** The first installed TTS program's voices, as Home Assistant lists them: per language, voice_id = name. */
function voicesByLanguage(info) {
  const program = info.tts.find((t) => t.installed);
  const byLanguage = {};
  for (const v of program ? program.voices : []) {
    if (!v.installed) continue;
    for (const l of v.languages) (byLanguage[l] ??= []).push({ voice_id: v.name, name: v.description || v.name });
  }
  return { program, byLanguage };
}

/**
 * One-shot synthesis. Resolves { wav, format, events, firstChunkMs, ms } or { lost: true, events } when
 * the connection ended before audio-stop (Home Assistant: "Connection lost", no audio).
 */
async function synthesize(port, text, { voice, speaker, host, onEvent } = {}) {
  const socket = await connect(port, host);
  const events = new EventStream(socket);
  const started = Date.now();
  const seen = [];
  let format;
  let firstChunkMs;
  const pcm = [];
  try {
    const data = { text };
    if (voice !== undefined) data.voice = speaker ? { name: voice, speaker } : { name: voice };
    socket.write(encode('synthesize', data));
    for (;;) {
      const e = await events.next();
      if (!e) return { lost: true, events: seen };
      seen.push(e);
      if (onEvent) onEvent(e, socket);
      if (e.type === 'audio-stop') break;
      if (e.type === 'audio-chunk') {
        firstChunkMs ??= Date.now() - started;
        format ??= { rate: e.data.rate, width: e.data.width, channels: e.data.channels };
        pcm.push(e.payload || Buffer.alloc(0));
      }
    }
  } finally {
    socket.destroy();
  }
  const audio = Buffer.concat(pcm);
  return { wav: format ? wav(format, audio) : undefined, format, pcm: audio, events: seen, firstChunkMs, ms: Date.now() - started };
}

/**
 * The streaming sequence. `chunks` are sent with `gapMs` between them. Resolves { wav, format, groups,
 * events, firstChunkMs } once `synthesize-stopped` came, or { lost: true, events } when the connection ended first.
 */
async function synthesizeStreaming(port, chunks, { voice, host, gapMs = 0, onEvent } = {}) {
  const socket = await connect(port, host);
  const events = new EventStream(socket);
  const started = Date.now();
  const seen = [];
  const voiceData = voice !== undefined ? { voice: { name: voice } } : {};
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
  let format;
  let firstChunkMs;
  const pcm = [];
  let groups = 0;
  try {
    for (;;) {
      const e = await events.next();
      if (!e) return { lost: true, events: seen };
      seen.push(e);
      if (onEvent) onEvent(e, socket);
      if (e.type === 'synthesize-stopped') break;
      if (e.type === 'audio-start') {
        groups++;
        // Home Assistant writes the WAV header from the first audio-start only.
        format ??= { rate: e.data.rate, width: e.data.width, channels: e.data.channels };
      }
      if (e.type === 'audio-chunk') {
        firstChunkMs ??= Date.now() - started;
        pcm.push(e.payload || Buffer.alloc(0));
      }
      if (e.type === 'error') return { error: e.data, events: seen };
    }
    await sending;
  } finally {
    socket.destroy();
  }
  const audio = Buffer.concat(pcm);
  return { wav: format ? wav(format, audio) : undefined, format, pcm: audio, groups, events: seen, firstChunkMs, ms: Date.now() - started };
}

module.exports = { EventStream, encode, connect, describe, voicesByLanguage, synthesize, synthesizeStreaming, wavOf: wav };
