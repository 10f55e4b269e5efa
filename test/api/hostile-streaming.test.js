'use strict';
// The streaming GET (/api/tts-generate-streaming) against servers that misbehave: an error page
// that trickles and never ends, a stream past the audio limit, a 200 that is not WAV, and a
// stream that trickles steadily for ever. Each call settles with one clear AllTalkError, the
// connection is dropped, and no file or temporary file is left behind.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Cancellation, streamingWavHeader } = require('../../dist/api');
const { harness, rejectsWith } = require('./helpers');
const { FakeServer, MB, assertClear, send, endless, trickle, waitFor } = require('./fake-server');

const STREAM = '/api/tts-generate-streaming';
const PARAMS = { text: 'Hello there, this is a stream.', voice: 'female_01.wav', language: 'en' };
/** Far longer than any deadline these tests set: a call still pending then hangs. */
const HANG_MS = 6000;

/**
 * Resolves { err, value, ms } when `promise` settles; fails the test if it is still pending after
 * `boundMs` (a hang is told from a slow success only by this generous bound).
 */
function settles(promise, boundMs = HANG_MS) {
  const started = Date.now();
  let timer;
  const bound = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${boundMs} ms: the call hangs`)), boundMs);
  });
  const outcome = promise.then((value) => ({ value }), (err) => ({ err }));
  return Promise.race([outcome, bound])
    .then((r) => ({ ...r, ms: Date.now() - started }))
    .finally(() => clearTimeout(timer));
}

/** Reads a stream to its end; rejects with the error it fails with. */
function drain(stream) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    stream.on('data', (c) => (bytes += c.length));
    stream.once('end', () => resolve(bytes));
    stream.once('error', reject);
  });
}

describe('api/client streaming against a hostile server', function () {
  this.timeout(20000);
  const h = harness();
  let dir;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-hostile-stream-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function fake(handler) {
    const server = new FakeServer(handler);
    await server.start();
    h.cleanup(() => server.stop());
    return server;
  }

  /** A fake whose streaming route is answered by `answer(res, server)`. */
  const streaming = (answer) => fake((req, res, srv) => req.url.startsWith(`${STREAM}?`) && (answer(res, srv), true));

  describe('an error reply whose body trickles and never ends', function () {
    it('500, a byte every 100 ms: http at about the status timeout, the connection dropped', async function () {
      const server = await streaming((res, srv) => trickle(srv, res, { status: 500, everyMs: 100 }));
      const client = h.client(server, { timeoutMs: 500, generationTimeoutMs: 30000 });
      const { err } = await settles(client.streamTts(PARAMS));
      assert.ok(err, 'the call failed');
      await rejectsWith(Promise.reject(err), 'http');
      assertClear(err, client);
      assert.equal(err.status, 500);
      assert.match(err.message, /\b500\b/);
      await waitFor(() => server.streams[0].closed, 'the client to hang up');
      assert.ok(server.streams[0].sent > 0, 'the body had begun to trickle');
      assert.equal(server.to(STREAM).length, 1, 'asked once');
    });

    for (const [what, make] of [
      ['a Cancellation', () => {
        const c = new Cancellation();
        return { signal: c, abort: () => c.abort() };
      }],
      ['an AbortController', () => {
        const ac = new AbortController();
        return { signal: ac.signal, abort: () => ac.abort() };
      }],
    ]) {
      it(`the same, cancelled by ${what} while the body trickles: settles at once, the connection dropped`, async function () {
        const server = await streaming((res, srv) => trickle(srv, res, { status: 500, everyMs: 100 }));
        // Every deadline far off: only the cancellation can end this call in time.
        const client = h.client(server, { timeoutMs: 15000, generationTimeoutMs: 30000 });
        const { signal, abort } = make();
        const call = settles(client.streamTts(PARAMS, { signal }));
        await waitFor(() => server.streams.length && server.streams[0].sent >= 2, 'the error body to trickle');
        abort();
        const { err } = await call;
        assert.ok(err, 'the call failed');
        assert.equal(err.name, 'AllTalkError', err.stack);
        assert.ok(['aborted', 'http'].includes(err.kind), `aborted or the 500 itself, not ${err.kind}: ${err.message}`);
        await waitFor(() => server.streams[0].closed, 'the client to hang up');
      });
    }
  });

  it('streamTtsToFile with maxAudioBytes 1 MB against an endless stream: too-large, no file, no temporary file', async function () {
    // Capped at 32 MB so that a missing limit fails the test instead of filling the disk.
    const server = await streaming((res, srv) => endless(srv, res, { contentType: 'audio/wav', first: streamingWavHeader(), cap: 32 * MB }));
    const client = h.client(server, { maxAudioBytes: 1 * MB, generationTimeoutMs: 15000 });
    const file = path.join(dir, 'endless.wav');
    const { err } = await settles(client.streamTtsToFile(PARAMS, file));
    await rejectsWith(Promise.reject(err), 'too-large');
    assertClear(err, client);
    assert.match(err.message, /limit of 1(\.0)? MB/);
    await waitFor(() => server.streams[0].closed, 'the client to drop the stream');
    assert.ok(server.streams[0].sent < 32 * MB, `the server got to send all ${Math.round(server.streams[0].sent / MB)} MB`);
    assert.deepEqual(fs.readdirSync(dir), [], 'no file and no temporary file');
  });

  it('streamTtsToBuffer with maxAudioBytes 1 MB against an endless stream: too-large', async function () {
    const server = await streaming((res, srv) => endless(srv, res, { contentType: 'audio/wav', first: streamingWavHeader(), cap: 32 * MB }));
    const client = h.client(server, { maxAudioBytes: 1 * MB, generationTimeoutMs: 15000 });
    const { err } = await settles(client.streamTtsToBuffer(PARAMS));
    await rejectsWith(Promise.reject(err), 'too-large');
    await waitFor(() => server.streams[0].closed, 'the client to drop the stream');
  });

  describe('a 200 whose body is not WAV', function () {
    const bodies = [
      ['an HTML page', 'text/html', '<!DOCTYPE html><html><body>Welcome to nginx!</body></html>'],
      ['JSON', 'application/json', '{"detail":"stream not available"}'],
      ['an empty body', 'audio/wav', ''],
    ];
    for (const [what, type, body] of bodies) {
      it(`${what}: streamTtsToBuffer and streamTtsToFile fail with invalid-response, no file left`, async function () {
        const server = await streaming((res) => send(res, 200, body, type));
        const client = h.client(server);
        const inMemory = await rejectsWith(client.streamTtsToBuffer(PARAMS), 'invalid-response');
        assertClear(inMemory, client);
        assert.match(inMemory.message, /not WAV audio/);
        const file = path.join(dir, 'page.wav');
        const onDisk = await rejectsWith(client.streamTtsToFile(PARAMS, file), 'invalid-response');
        assertClear(onDisk, client);
        assert.match(onDisk.message, /not WAV audio/);
        assert.deepEqual(fs.readdirSync(dir), [], 'no file and no temporary file');
        assert.equal(server.to(STREAM).length, 2);
      });
    }
  });

  describe('a stream that trickles 2 bytes every 50 ms for ever (no single gap is long)', function () {
    // A stream may run four generation timeouts in all (it plays about as fast as it is made).
    const trickling = (res, srv) => trickle(srv, res, { contentType: 'audio/wav', first: streamingWavHeader(), bytes: 2, everyMs: 50 });

    it('streamTts: the stream fails with timeout once four generation timeouts have passed in all', async function () {
      const server = await streaming(trickling);
      const client = h.client(server, { timeoutMs: 500, generationTimeoutMs: 300 });
      const stream = await client.streamTts(PARAMS);
      const { err } = await settles(drain(stream));
      assert.ok(err, 'the stream failed');
      await rejectsWith(Promise.reject(err), 'timeout');
      assertClear(err, client);
      assert.match(err.message, /still streaming after 1\.2 s .*4 times the generation timeout/);
      assert.ok(server.streams[0].sent > 44 + 2 * 4, 'the bytes kept coming, each gap short');
      await waitFor(() => server.streams[0].closed, 'the client to hang up');
    });

    it('streamTtsToFile: timeout, no file and no temporary file', async function () {
      const server = await streaming(trickling);
      const client = h.client(server, { timeoutMs: 500, generationTimeoutMs: 300 });
      const { err } = await settles(client.streamTtsToFile(PARAMS, path.join(dir, 'slow.wav')));
      await rejectsWith(Promise.reject(err), 'timeout');
      await waitFor(() => server.streams[0].closed, 'the client to hang up');
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  });
});
