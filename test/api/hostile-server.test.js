'use strict';
// AllTalkClient against servers that misbehave: audio addresses undici would refuse, endless and
// huge bodies, slowloris, silence, redirect loops and pages that are not audio. Each case ends in
// one clear AllTalkError that names the server, and the same client keeps working afterwards.
const assert = require('node:assert/strict');
const { harness, rejectsWith } = require('./helpers');
const { FakeServer, MB, assertClear, stillWorks, send, endless, slowloris, silentServer, waitFor } = require('./fake-server');

/** [what, output_file_url the server sends, path it must then receive (null: refused)]. */
const AUDIO_URLS = [
  ['a space', '/audio/with space.wav', '/audio/with%20space.wav'],
  ['a control character', '/audio/bell\u0007.wav', '/audio/bell%07.wav'],
  ['a euro sign', '/audio/€uro.wav', '/audio/%E2%82%ACuro.wav'],
  ['Japanese', '/audio/日本.wav', '/audio/%E6%97%A5%E6%9C%AC.wav'],
  ['no leading slash', 'audio/noslash.wav', '/audio/noslash.wav'],
  ['a legacy absolute URL with odd characters', 'http://192.168.1.50:7851/audio/odd name[1]|€.wav', '/audio/odd%20name%5B1%5D%7C%E2%82%AC.wav'],
  ['a malformed absolute URL', 'http://[bad/audio/x.wav', null],
  ['a javascript: URL', 'javascript:alert(1)', null],
  ['broken Unicode (a lone surrogate)', '/audio/\ud800.wav', null],
];

/** Memory growth bounds: robust on a noisy machine, far below the 1.5 GB the server offers. */
const MAX_RSS_GROWTH = 100 * MB;
const MAX_ARRAYBUFFER_GROWTH = 64 * MB;

describe('api/client against a hostile server', function () {
  this.timeout(20000);
  const h = harness();

  async function fake(handler) {
    const server = new FakeServer(handler);
    await server.start();
    h.cleanup(() => server.stop());
    return server;
  }

  /** Runs `call` and checks that it grew the process by far less than the server offered. */
  async function bounded(call) {
    const before = process.memoryUsage();
    const err = await call();
    const after = process.memoryUsage();
    const rss = after.rss - before.rss;
    const ab = after.arrayBuffers - before.arrayBuffers;
    assert.ok(rss < MAX_RSS_GROWTH, `rss grew by ${Math.round(rss / MB)} MB`);
    assert.ok(ab < MAX_ARRAYBUFFER_GROWTH, `arrayBuffers grew by ${Math.round(ab / MB)} MB`);
    return err;
  }

  describe('audio addresses from /api/tts-generate', function () {
    for (const [what, url, expected] of AUDIO_URLS) {
      it(`with ${what}: ${expected ? 'fetched percent-encoded' : 'refused as invalid-response'}`, async function () {
        const server = await fake();
        const client = h.client(server);
        server.audioUrls.push(url);
        if (expected) {
          const result = await client.ttsGenerate({ text_input: 'Hi' });
          assert.equal(result.url, `${client.origin}${expected}`, 'audio only ever comes from the configured origin');
          const audio = await client.fetchAudio(result.output_file_url);
          assert.equal(server.to('/audio/').at(-1).url, expected);
          assert.equal(audio.url, `${client.origin}${expected}`);
        } else {
          const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'invalid-response');
          assertClear(err, client);
          assert.match(err.message, /audio address/);
          const again = await rejectsWith(client.fetchAudio(url), 'invalid-response');
          assertClear(again, client);
          assert.equal(server.to('/audio/').length, 0, 'nothing was fetched');
        }
        await stillWorks(client, server);
      });
    }

    it('12 such replies in a row (more than the pool has connections) do not wedge the pool', async function () {
      const server = await fake();
      const client = h.client(server, { timeoutMs: 3000, generationTimeoutMs: 5000 });
      const outcomes = [];
      for (let i = 0; i < 12; i++) {
        const [, url, expected] = AUDIO_URLS[i % AUDIO_URLS.length];
        server.audioUrls.push(url);
        const fetched = server.to('/audio/').length;
        try {
          const result = await client.ttsGenerate({ text_input: `Part ${i}` });
          await client.fetchAudio(result.output_file_url);
          outcomes.push({ url, expected, got: server.to('/audio/').length > fetched ? server.to('/audio/').at(-1).url : undefined });
        } catch (err) {
          outcomes.push({ url, expected, err });
        }
      }
      // The old bug: every refused path wedged a pool slot for good, and here the client hung.
      await stillWorks(client, server);
      assert.equal(await client.ready(), 'Ready');
      for (const { url, expected, got, err } of outcomes) {
        if (expected) {
          assert.equal(err, undefined, `${JSON.stringify(url)}: ${err && err.message}`);
          assert.equal(got, expected);
        } else {
          assert.ok(err, `${JSON.stringify(url)} was refused`);
          assert.equal(err.kind, 'invalid-response', `${JSON.stringify(url)}: ${err.stack}`);
          assertClear(err, client);
        }
      }
    });
  });

  describe('bodies that never end or are far too big', function () {
    for (const route of ['/api/voices', '/api/currentsettings']) {
      it(`an endless chunked body on ${route}: invalid-response at 1 MB, download aborted, memory bounded`, async function () {
        const server = await fake((req, res, srv) => req.url === route && endless(srv, res));
        const client = h.client(server, { timeoutMs: 8000 });
        const call = route === '/api/voices' ? () => client.voices() : () => client.currentSettings();
        const err = await bounded(() => rejectsWith(call(), 'invalid-response'));
        assertClear(err, client);
        assert.match(err.message, /more than 1 MB/);
        await waitFor(() => server.streams[0].closed, 'the client to drop the download');
        assert.ok(server.streams[0].sent < 100 * MB, `the server got to send ${Math.round(server.streams[0].sent / MB)} MB`);
        await stillWorks(client, server);
      });
    }

    it('an endless audio body with maxAudioBytes 5 MB: too-large, download aborted, memory bounded', async function () {
      const server = await fake((req, res, srv) => req.url === '/audio/endless.wav' && endless(srv, res, { contentType: 'audio/wav' }));
      const client = h.client(server, { maxAudioBytes: 5 * MB, generationTimeoutMs: 10000 });
      const err = await bounded(() => rejectsWith(client.fetchAudio('/audio/endless.wav'), 'too-large'));
      assertClear(err, client);
      assert.match(err.message, /larger than 5(\.0)? MB/);
      await waitFor(() => server.streams[0].closed, 'the client to drop the download');
      assert.ok(server.streams[0].sent < 100 * MB, `the server got to send ${Math.round(server.streams[0].sent / MB)} MB`);
      await stillWorks(client, server);
    });

    it('audio declaring Content-Length 5 GB: too-large at once, nothing downloaded', async function () {
      const declared = 5 * 1024 * MB;
      const server = await fake((req, res, srv) => req.url === '/audio/huge.wav' &&
        endless(srv, res, { contentType: 'audio/wav', headers: { 'content-length': String(declared) } }));
      const client = h.client(server, { maxAudioBytes: 5 * MB, generationTimeoutMs: 10000 });
      const err = await bounded(() => rejectsWith(client.fetchAudio('/audio/huge.wav'), 'too-large'));
      assertClear(err, client);
      assert.match(err.message, /5120 MB/, 'the declared size is named');
      await waitFor(() => server.streams[0].closed, 'the client to drop the download');
      assert.ok(server.streams[0].sent < 64 * MB, `the server got to send ${Math.round(server.streams[0].sent / MB)} MB`);
      await stillWorks(client, server);
    });
  });

  describe('servers that are too slow or silent', function () {
    it('slowloris on /api/ready (a byte every 200 ms forever): busy at the deadline', async function () {
      const server = await fake((req, res, srv) => req.url === '/api/ready' && slowloris(srv, res, 'text/plain'));
      const client = h.client(server, { timeoutMs: 1000 });
      const err = await rejectsWith(client.ready(), 'busy');
      assertClear(err, client);
      assert.match(err.message, /within 1 s/);
      await waitFor(() => server.streams[0].closed, 'the client to drop the connection');
      await stillWorks(client, server);
    });

    it('slowloris on an audio download: timeout at the generation deadline', async function () {
      const server = await fake((req, res, srv) => req.url === '/audio/slow.wav' && slowloris(srv, res, 'audio/wav'));
      const client = h.client(server, { generationTimeoutMs: 1000 });
      const err = await rejectsWith(client.fetchAudio('/audio/slow.wav'), 'timeout');
      assertClear(err, client);
      await waitFor(() => server.streams[0].closed, 'the client to drop the connection');
      await stillWorks(client, server);
    });

    for (const [call, kind] of [['ready', 'busy'], ['ttsGenerate', 'timeout']]) {
      it(`a server that accepts the connection and never answers: ${call}() is ${kind} at the deadline; a restarted server is used`, async function () {
        const silent = await silentServer();
        h.cleanup(() => silent.stop());
        const client = h.client(silent.port, { timeoutMs: 1000, generationTimeoutMs: 1000 });
        const err = await rejectsWith(call === 'ready' ? client.ready() : client.ttsGenerate({ text_input: 'Hello?' }), kind);
        assertClear(err, client);
        await silent.stop();
        const server = new FakeServer();
        server.port = silent.port;
        await server.start();
        h.cleanup(() => server.stop());
        await stillWorks(client, server);
      });
    }
  });

  describe('redirects are never followed', function () {
    const cases = [
      ['/api/ready', 307, 'itself', (c) => c.ready()],
      ['/api/ready', 301, 'another host', (c) => c.ready()],
      ['/audio/moved.wav', 307, 'itself', (c) => c.fetchAudio('/audio/moved.wav')],
      ['/audio/moved.wav', 301, 'another host', (c) => c.fetchAudio('/audio/moved.wav')],
    ];
    for (const [route, status, where, call] of cases) {
      it(`${status} to ${where} on ${route}: one http error naming ${status}`, async function () {
        const other = await fake();
        const server = await fake((req, res) => {
          if (req.url !== route) return false;
          const location = where === 'itself' ? route : `http://localhost:${other.port}${route}`;
          res.writeHead(status, { location, 'content-length': 0 });
          res.end();
          return true;
        });
        const client = h.client(server);
        const err = await rejectsWith(call(client), 'http');
        assertClear(err, client);
        assert.equal(err.status, status);
        assert.match(err.message, new RegExp(`\\b${status}\\b`));
        assert.equal(server.to(route).length, 1, 'asked once, no loop');
        assert.equal(other.requests.length, 0, 'the other host was never contacted');
        await stillWorks(client, server);
      });
    }
  });

  describe('a success that is not audio', function () {
    const pages = [
      ['an HTML page', 'text/html', '<!DOCTYPE html><html><body>Welcome to nginx!</body></html>'],
      ['an empty body', 'audio/wav', ''],
      ['JSON', 'application/json', '{"detail":"file is being written"}'],
    ];
    for (const [what, type, body] of pages) {
      it(`/audio/x.wav answering 200 with ${what}: invalid-response`, async function () {
        const server = await fake((req, res) => req.url === '/audio/x.wav' && send(res, 200, body, type));
        const client = h.client(server);
        const err = await rejectsWith(client.fetchAudio('/audio/x.wav'), 'invalid-response');
        assertClear(err, client);
        assert.match(err.message, /not audio/);
        await stillWorks(client, server);
      });
    }

    it('/v1/audio/speech answering 200 audio/mpeg with an HTML body: invalid-response', async function () {
      const server = await fake((req, res) => req.url === '/v1/audio/speech' &&
        send(res, 200, '<html><head><title>Login</title></head><body>Please log in</body></html>', 'audio/mpeg'));
      const client = h.client(server);
      const err = await rejectsWith(client.openaiSpeech({ input: 'Hello', voice: 'alloy', response_format: 'mp3' }), 'invalid-response');
      assertClear(err, client);
      assert.match(err.message, /mp3/);
      await stillWorks(client, server);
    });
  });
});
