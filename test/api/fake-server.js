'use strict';
// A scriptable fake AllTalk server on loopback for the hostile-server tests (not a spec file:
// mocha loads only *.test.js). It answers like a healthy server unless a test's handler takes a
// request over, and it can misbehave in every way a broken server or proxy can: endless bodies,
// huge declared lengths, slowloris, silence, redirects, non-audio pages.
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const { settingsWith } = require('./fixtures');
const { encodeWav } = require('../../dist/api');

const MB = 1024 * 1024;

/** A small valid WAV (16-bit mono 24 kHz, silence). */
function wav(samples = 2400) {
  return encodeWav(new Float32Array(samples), { sampleRate: 24000, encoding: 's16' });
}

const WAV = wav();

function send(res, status, body, type = 'application/json') {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'content-type': type, 'content-length': buf.length });
  res.end(buf);
  return true;
}

/**
 * A fake AllTalk server. `handler(req, res, server)` (settable at any time) may answer a request
 * itself and return true; everything else gets the healthy default answer.
 */
class FakeServer {
  constructor(handler) {
    this.handler = handler;
    /** Every request: method, raw url as it arrived on the wire, headers, body. */
    this.requests = [];
    /** What /api/tts-generate hands out as output_file_url, first in first out. */
    this.audioUrls = [];
    /** Endless bodies: bytes written and whether the client closed the connection. */
    this.streams = [];
    this.sockets = new Set();
    this.server = undefined;
    this.port = 0;
    /** The loopback address it listens on ('::1' for IPv6), set before start(). */
    this.host = '127.0.0.1';
  }

  get origin() {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Starts listening (on the same port as before when restarted). */
  async start() {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, resolve);
    });
    this.server = server;
    this.port = server.address().port;
    return this;
  }

  /** Stops listening and drops every connection (nothing left half-open). */
  async stop() {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise((resolve) => server.close(resolve));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Requests whose raw url starts with `prefix`. */
  to(prefix) {
    return this.requests.filter((r) => r.url.startsWith(prefix));
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.requests.push(entry);
      try {
        if (this.handler && this.handler(req, res, this, entry)) return;
      } catch (err) {
        if (!res.headersSent) send(res, 599, { error: String(err) });
        return;
      }
      this.answer(req, res);
    });
  }

  /** The healthy answers. */
  answer(req, res) {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/api/ready') return send(res, 200, 'Ready', 'text/plain');
    if (req.method === 'GET' && path === '/api/currentsettings') return send(res, 200, settingsWith());
    if (req.method === 'GET' && path === '/api/voices') return send(res, 200, { status: 'success', voices: ['female_01.wav', 'male_01.wav'] });
    if (req.method === 'GET' && path === '/api/rvcvoices') return send(res, 200, { status: 'success', rvcvoices: ['Disabled'] });
    if (req.method === 'POST' && path === '/api/tts-generate') {
      const url = this.audioUrls.length ? this.audioUrls.shift() : '/audio/ok.wav';
      return send(res, 200, { status: 'generate-success', output_file_path: '/alltalk/outputs/ok.wav', output_file_url: url });
    }
    if (req.method === 'GET' && path.startsWith('/audio/')) return send(res, 200, WAV, 'audio/wav');
    return send(res, 404, { detail: 'Not Found' });
  }
}

/**
 * Writes 64 KB chunks as fast as the client takes them (never buffering ahead of the socket)
 * until the client goes away or `cap` bytes were written. `headers` may declare a length.
 */
function endless(server, res, { contentType = 'application/json', headers = {}, cap = 1536 * MB, first } = {}) {
  const record = { sent: 0, closed: false };
  server.streams.push(record);
  res.writeHead(200, { 'content-type': contentType, ...headers });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  res.on('close', () => {
    record.closed = true;
  });
  if (first) {
    res.write(first);
    record.sent += first.length;
  }
  const pump = () => {
    while (!record.closed && record.sent < cap) {
      record.sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!record.closed) res.end();
  };
  pump();
  return record;
}

/** Headers at once, then one byte every 200 ms for as long as the client listens. */
function slowloris(server, res, contentType = 'application/json') {
  const record = { sent: 0, closed: false };
  server.streams.push(record);
  res.writeHead(200, { 'content-type': contentType });
  const timer = setInterval(() => {
    res.write(' ');
    record.sent++;
  }, 200);
  res.on('close', () => {
    record.closed = true;
    clearInterval(timer);
  });
  return record;
}

/**
 * Headers at once (any status), then `bytes` bytes every `everyMs` ms for as long as the client
 * listens: an error page or a stream that never ends, each gap short. `first` is sent at once.
 */
function trickle(server, res, { status = 200, contentType = 'text/plain', bytes = 1, everyMs = 100, first } = {}) {
  const record = { sent: 0, closed: false };
  server.streams.push(record);
  res.writeHead(status, { 'content-type': contentType });
  if (first) {
    res.write(first);
    record.sent += first.length;
  } else {
    res.flushHeaders();
  }
  const piece = Buffer.alloc(bytes, 0x78);
  const timer = setInterval(() => {
    res.write(piece);
    record.sent += bytes;
  }, everyMs);
  res.on('close', () => {
    record.closed = true;
    clearInterval(timer);
  });
  return record;
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(port = 0) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    connections: () => sockets.size,
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/** Resolves when `predicate()` is truthy, checking every 20 ms; rejects after `timeoutMs`. */
function waitFor(predicate, what, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const v = predicate();
      if (v) return resolve(v);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** One clear error: an AllTalkError (not a raw TypeError) whose message names the server. */
function assertClear(err, client) {
  assert.equal(err.name, 'AllTalkError', `one of ours, not a raw ${err.name}: ${err.message}`);
  assert.ok(err.message.includes(client.origin), `the message names ${client.origin}: ${err.message}`);
}

/** The same client still works against `server`, healthy again: status calls, a generation and its download. */
async function stillWorks(client, server) {
  server.handler = undefined;
  server.audioUrls.length = 0;
  assert.equal(await client.ready(), 'Ready');
  const result = await client.ttsGenerate({ text_input: 'Still there?' });
  const audio = await client.fetchAudio(result.output_file_url);
  assert.equal(audio.data.toString('latin1', 0, 4), 'RIFF');
  assert.deepEqual(await client.voices(), ['female_01.wav', 'male_01.wav']);
}

module.exports = {
  assertClear,
  stillWorks, FakeServer, MB, WAV, wav, send, endless, slowloris, trickle, silentServer, waitFor };
