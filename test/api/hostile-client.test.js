'use strict';
// AllTalkClient against hostile set-ups on the client's side of the wire: header configuration
// undici would refuse, a proxy that echoes our credentials, https against a plain http port, and
// a pool whose requests never settle (the one fault injected with sinon).
const assert = require('node:assert/strict');
const path = require('node:path');
const util = require('node:util');
const sinon = require('sinon');
const { errors: undiciErrors } = require('undici');
const { AllTalkClient, AllTalkError, Cancellation } = require('../../dist/api');
const { ABORT_GRACE_MS } = require('../../dist/api/transport');
const { harness, rejectsWith } = require('./helpers');
const { FakeServer, assertClear, stillWorks, send, waitFor } = require('./fake-server');

/** Asserts that `text` holds neither `secret` nor a telling piece of it (its first or last 8 characters). */
function assertNoSecret(text, secret, where) {
  const s = String(text ?? '');
  for (const piece of [secret, secret.slice(0, 8), secret.slice(-8)]) {
    assert.ok(!s.includes(piece), `${where} shows ${JSON.stringify(piece)} of the secret: ${s}`);
  }
}

/** Asserts that `text` holds no 6-character piece of `secret`, wherever it was cut. */
function assertNoPiece(text, secret, where) {
  const s = String(text ?? '');
  for (let i = 0; i + 6 <= secret.length; i++) {
    const piece = secret.slice(i, i + 6);
    assert.ok(!s.includes(piece), `${where} shows ${JSON.stringify(piece)} of the secret: ${s}`);
  }
}

/** Timers that hold the process open now ('Timeout' in process.getActiveResourcesInfo()). */
const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/**
 * Records the timers our own code (dist/) makes from now on. getActiveResourcesInfo() counts
 * only timers that hold the process open, and the transport unref()s its own: `live()` ref()s
 * each one for a moment, so a pending timer counts and a fired or cleared one does not.
 */
function ownTimers() {
  const original = global.setTimeout;
  const made = [];
  const ours = `${path.sep}dist${path.sep}`;
  global.setTimeout = function (...args) {
    const timer = original.apply(this, args);
    // The frame that called setTimeout: ours, not undici's or a test helper's.
    if ((new Error().stack.split('\n')[2] ?? '').includes(ours)) made.push(timer);
    return timer;
  };
  return {
    made,
    live() {
      let live = 0;
      for (const t of made) {
        const wasRef = t.hasRef();
        t.unref();
        const idle = activeTimeouts();
        t.ref();
        if (activeTimeouts() > idle) live++;
        if (!wasRef) t.unref();
      }
      return live;
    },
    restore() {
      global.setTimeout = original;
      for (const t of made) clearTimeout(t);
    },
  };
}

/** Every text of an error a user or a log may see. */
function errorTexts(err) {
  return { message: err.message, serverMessage: err.serverMessage, body: err.body, inspect: util.inspect(err, { depth: 4 }) };
}

describe('api/client against hostile configuration and proxies', function () {
  this.timeout(20000);
  const h = harness();
  afterEach(() => sinon.restore());

  async function fake(handler) {
    const server = new FakeServer(handler);
    await server.start();
    h.cleanup(() => server.stop());
    return server;
  }

  describe('header configuration undici would refuse: validation when the client is made', function () {
    const SECRET = 'hunter2-s3cret-value';
    const cases = [
      ['a header name with a colon ("X-API-Key:")', { headers: { 'X-API-Key:': SECRET } }, /not a valid HTTP header name.*letters, digits and -/s],
      ['a key with a euro sign', { headers: { 'X-API-Key': `${SECRET}€` } }, /outside Latin-1.*Retype it/s],
      ['a key with a line break', { headers: { 'X-API-Key': `${SECRET}\nX-Injected: 1` } }, /line break.*Retype it/s],
      ['a basic-auth username with a line break', { basicAuth: { username: 'admin\nX-Injected: 1', password: SECRET } }, /username.*line break.*Retype it/s],
    ];
    for (const [what, options, fix] of cases) {
      it(`${what}: throws AllTalkError validation at once, says how to fix it, never shows the key`, function () {
        let thrown;
        assert.throws(() => new AllTalkClient({ host: '127.0.0.1', port: 9, ...options }), (err) => {
          thrown = err;
          return true;
        });
        assert.ok(thrown instanceof AllTalkError, `an AllTalkError, not ${thrown && thrown.stack}`);
        assert.equal(thrown.kind, 'validation');
        assert.match(thrown.message, fix);
        assertNoSecret(util.inspect(thrown), SECRET, 'the error');
        assert.ok(!util.inspect(thrown).includes('X-Injected'), 'the value after the line break is not shown either');
      });
    }
  });

  describe('a proxy that echoes our credentials', function () {
    const KEY = 'k3y-0f-the-pr0xy-s3cret-value';
    const USER = 'nodered';
    const PASSWORD = 'pa55-w0rd-0f-the-pr0xy';
    const TOKEN = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

    /** The server refuses until `open` is set, echoing what it was sent. */
    function echoing(page) {
      const state = { open: false };
      const handler = (req, res) => {
        if (state.open) return false;
        const auth = req.headers.authorization ?? 'none';
        const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : 'none';
        return page(req, res, { key: req.headers['x-api-key'] ?? 'none', auth, decoded });
      };
      return { state, handler };
    }

    it('401 whose JSON echoes the API key: *** in message, serverMessage and body, never the key', async function () {
      const { state, handler } = echoing((req, res, e) =>
        send(res, 401, { detail: `Invalid API key "${e.key}" (Authorization: ${e.auth}) for ${req.url}` }));
      const server = await fake(handler);
      const client = h.client(server, { headers: { 'X-API-Key': KEY } });
      const err = await rejectsWith(client.ready(), 'http');
      assertClear(err, client);
      assert.equal(err.status, 401);
      for (const [where, text] of Object.entries(errorTexts(err))) {
        if (where !== 'inspect') assert.match(text, /\*\*\*/, `${where} shows *** where the key was: ${text}`);
        assertNoSecret(text, KEY, where);
      }
      state.open = true;
      await stillWorks(client, server);
    });

    it('401 page echoing the basic-auth header and the decoded user:password: *** everywhere, never the password', async function () {
      const { state, handler } = echoing((req, res, e) => send(res, 401,
        `<html><body><h1>401 Unauthorized</h1><p>Authorization: ${e.auth}</p><p>You sent ${e.decoded}</p></body></html>`, 'text/html'));
      const server = await fake(handler);
      const client = h.client(server, { basicAuth: { username: USER, password: PASSWORD } });
      const err = await rejectsWith(client.ready(), 'http');
      assertClear(err, client);
      assert.equal(err.status, 401);
      for (const [where, text] of Object.entries(errorTexts(err))) {
        if (where !== 'inspect') assert.match(text, /\*\*\*/, `${where} shows *** where the credentials were: ${text}`);
        assertNoSecret(text, PASSWORD, where);
        assertNoSecret(text, TOKEN, where);
      }
      state.open = true;
      await stillWorks(client, server);
    });

    // Echoes that our own quoting cuts or escapes: the secret must not survive in pieces either.
    const QUOTED = 'k3y"0f-the-pr0xy-s3cret-value';
    const cut = [
      ['a not-"Ready" text quoted up to 80 characters, the key at 70', KEY, 'invalid-response',
        (res, e) => send(res, 200, `${'Proxy says hello. '.repeat(4).slice(0, 70)}${e.key} is not allowed here`, 'text/plain')],
      ['a 401 text kept up to 300 characters as the server message, the key at 290', KEY, 'http',
        (res, e) => send(res, 401, `${'Access denied. '.repeat(20).slice(0, 290)}${e.key} is not a valid key`, 'text/plain')],
      ['a 401 JSON echo of a key with a quote (escaped as \\" in the body)', QUOTED, 'http',
        (res, e) => send(res, 401, { detail: `Invalid API key ${e.key}` })],
    ];
    for (const [what, key, kind, page] of cut) {
      it(`${what}: no piece of the key in the error`, async function () {
        const { state, handler } = echoing((req, res, e) => req.url === '/api/ready' && page(res, e));
        const server = await fake(handler);
        const client = h.client(server, { headers: { 'X-API-Key': key } });
        const err = await rejectsWith(client.ready(), kind);
        assertClear(err, client);
        for (const [where, text] of Object.entries(errorTexts(err))) assertNoSecret(text, key, where);
        state.open = true;
        await stillWorks(client, server);
      });
    }

    it('an audio address that echoes the key: refused without showing it', async function () {
      const { state, handler } = echoing((req, res, e) => req.url === '/api/tts-generate' &&
        send(res, 200, { status: 'generate-success', output_file_path: '', output_file_url: `javascript:alert("${e.key}")` }));
      const server = await fake(handler);
      const client = h.client(server, { headers: { 'X-API-Key': KEY } });
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'invalid-response');
      assertClear(err, client);
      for (const [where, text] of Object.entries(errorTexts(err))) assertNoSecret(text, KEY, where);
      state.open = true;
      await stillWorks(client, server);
    });
  });

  it('https against a plain http port: offline, "a plain http port", not a certificate problem', async function () {
    const server = await fake();
    const client = h.client(server, { protocol: 'https', retry: { retries: 0 } });
    const err = await rejectsWith(client.ready(), 'offline');
    assertClear(err, client);
    assert.match(err.message, /plain http port/);
    assert.doesNotMatch(err.message, /certificate/i);
    // An https client can never work against this port: the next call fails the same way, at once.
    const again = await rejectsWith(client.voices(), 'offline');
    assert.match(again.message, /plain http port/);
    const plain = h.client(server);
    assert.equal(await plain.ready(), 'Ready', 'the server itself is fine over http');
  });

  describe('pool wedge, second line of defence (fault injection: undici never settles)', function () {
    const cases = [
      ['a status call', 'busy', (c) => c.ready()],
      ['a generation', 'timeout', (c) => c.ttsGenerate({ text_input: 'Hello' })],
    ];
    for (const [what, kind, call] of cases) {
      it(`${what} on a pool whose request never settles: ${kind} at the deadline, pool replaced, next call works`, async function () {
        const server = await fake();
        const client = h.client(server, { timeoutMs: 1000, generationTimeoutMs: 1000 });
        assert.equal(await client.ready(), 'Ready');
        const wedged = client.transport.pool;
        const stub = sinon.stub(wedged, 'request').callsFake(() => new Promise(() => {}));
        const err = await rejectsWith(call(client), kind);
        assertClear(err, client);
        assert.match(err.message, /within 1 s/);
        assert.equal(stub.callCount, 1);
        await waitFor(() => client.transport.poolReplacements === 1, 'the wedged pool to be replaced');
        assert.notEqual(client.transport.pool, wedged);
        const asked = server.requests.length;
        await stillWorks(client, server);
        assert.equal(stub.callCount, 1, 'later calls go to the fresh pool');
        assert.ok(server.requests.length > asked);
        assert.equal(client.transport.poolReplacements, 1);
      });
    }
  });
  describe('undici refusing a request (UND_ERR_INVALID_ARG, fault injection)', function () {
    const calls = [
      ['ready()', (c) => c.ready()],
      ['ttsGenerate()', (c) => c.ttsGenerate({ text_input: 'Hello' })],
      ['streamTts()', (c) => c.streamTts({ text: 'Hello', voice: 'female_01.wav' })],
    ];
    for (const [what, call] of calls) {
      it(`${what}: validation (never offline), not retried, the pool replaced at once, the next call works`, async function () {
        const server = await fake();
        const client = h.client(server, { retry: { retries: 2 } });
        assert.equal(await client.ready(), 'Ready');
        const refusing = client.transport.pool;
        const stub = sinon.stub(refusing, 'request')
          .callsFake(() => Promise.reject(new undiciErrors.InvalidArgumentError('invalid x-api-key header')));
        const asked = server.requests.length;
        const err = await rejectsWith(call(client), 'validation');
        assertClear(err, client);
        assert.match(err.message, /could not be sent: invalid x-api-key header/);
        assert.equal(stub.callCount, 1, 'sent once: a refused request would be refused again');
        assert.equal(client.transport.poolReplacements, 1, 'the pool that refused it was replaced');
        assert.notEqual(client.transport.pool, refusing);
        assert.equal(server.requests.length, asked, 'nothing reached the server');
        await stillWorks(client, server);
        assert.equal(stub.callCount, 1, 'later calls go to the fresh pool');
        assert.equal(client.transport.poolReplacements, 1);
      });
    }
  });

  describe('a call whose signal is already aborted', function () {
    for (const [what, aborted] of [
      ['an AbortController', () => {
        const ac = new AbortController();
        ac.abort();
        return ac.signal;
      }],
      ['a Cancellation', () => {
        const c = new Cancellation();
        c.abort();
        return c;
      }],
    ]) {
      it(`(${what}): aborted at once, nothing sent, and no pool replaced after the abort grace`, async function () {
        this.timeout(ABORT_GRACE_MS + 10000);
        const server = await fake();
        const client = h.client(server);
        const signal = aborted();
        for (const call of [
          () => client.ready({ signal }),
          () => client.ttsGenerate({ text_input: 'Hello' }, { signal }),
          () => client.streamTts({ text: 'Hello', voice: 'female_01.wav' }, { signal }),
          () => client.fetchAudio('/audio/ok.wav', { signal }),
        ]) {
          const err = await rejectsWith(call(), 'aborted');
          assertClear(err, client);
        }
        assert.equal(server.requests.length, 0, 'nothing was sent');
        await new Promise((r) => setTimeout(r, ABORT_GRACE_MS + 200));
        assert.equal(client.transport.poolReplacements, 0, 'nothing was handed to undici, so nothing was stuck');
        await stillWorks(client, server);
        assert.equal(client.transport.poolReplacements, 0);
      });
    }
  });

  it('after a pool replacement, close() leaves no timer behind, not even an unref()ed one', async function () {
    // Counted once mocha has armed this test's own timeout (it does so when the test returns its promise).
    await new Promise((r) => setImmediate(r));
    const before = activeTimeouts();
    const timers = ownTimers();
    try {
      // Nothing is listening on port 9: every request is stubbed, nothing may go out.
      const client = h.client(9, { timeoutMs: 300, generationTimeoutMs: 60000 });
      const wedged = client.transport.pool;
      sinon.stub(wedged, 'request').callsFake(() => new Promise(() => {}));
      // A stuck pool's graceful close waits for its stuck request: for ever.
      sinon.stub(wedged, 'close').callsFake(() => new Promise(() => {}));
      await rejectsWith(client.ready(), 'busy');
      await waitFor(() => client.transport.poolReplacements === 1, 'the wedged pool to be replaced');
      assert.equal(timers.live(), 1, 'the retired pool waits for its last-resort timer');
      await client.close();
      await new Promise((r) => setImmediate(r));
      assert.equal(timers.live(), 0, 'close() cleared every timer the client made');
      assert.equal(activeTimeouts(), before, 'no more timers hold the process than before the client was made');
    } finally {
      timers.restore();
    }
  });

  describe('host', function () {
    for (const host of ['localhost:7851', 'http:', '[::1', '127.0.0.1:7851', 'http://127.0.0.1']) {
      it(`${JSON.stringify(host)} is refused when the client is made (validation)`, function () {
        let thrown;
        assert.throws(() => new AllTalkClient({ host, port: 7851 }), (err) => {
          thrown = err;
          return true;
        });
        assert.ok(thrown instanceof AllTalkError, `an AllTalkError, not ${thrown && thrown.stack}`);
        assert.equal(thrown.kind, 'validation');
        assert.equal(thrown.field, 'host');
        assert.match(thrown.message, /host name or IP address/);
      });
    }

    for (const host of ['::1', '[::1]', ' [::1] ']) {
      it(`${JSON.stringify(host)} is accepted as IPv6 loopback and reaches a server there`, async function () {
        const client = new AllTalkClient({ host, port: 7851 });
        assert.equal(client.origin, 'http://[::1]:7851');
        await client.close();
        const server = new FakeServer();
        server.host = '::1';
        try {
          await server.start();
        } catch {
          this.skip(); // no IPv6 loopback on this machine
        }
        h.cleanup(() => server.stop());
        const reaching = h.client(server, { host });
        assert.equal(reaching.origin, `http://[::1]:${server.port}`);
        assert.equal(await reaching.ready(), 'Ready');
        assert.equal(server.to('/api/ready').length, 1);
      });
    }
  });

  describe('a secret across the cut of a quote', function () {
    // Longer than the 24 bytes a body is quoted with, and far from any word of a message.
    const KEY = 'Zq7xK9wP2mV8nB4tR6yL3cF5hJ1dG0sQ';

    // The key starts at character 60 of the address, and 80 are shown: the cut falls inside it.
    for (const [what, url] of [
      ['a javascript: address', `javascript:${'a'.repeat(49)}${KEY} x`],
      ['an address with broken Unicode', `${'a'.repeat(60)}${KEY} x\ud800`],
    ]) {
      it(`${what} with the key at character 60: no 6-character piece of the key in the error`, async function () {
        assert.equal(url.indexOf(KEY), 60);
        const server = await fake((req, res) => req.url === '/api/tts-generate' &&
          send(res, 200, { status: 'generate-success', output_file_path: '', output_file_url: url }));
        const client = h.client(server, { headers: { 'X-API-Key': KEY } });
        const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'invalid-response');
        assertClear(err, client);
        for (const [where, text] of Object.entries(errorTexts(err))) assertNoPiece(text, KEY, where);
        assert.match(err.message, /audio address.*\*\*\*/, 'the key is shown as ***');
        const again = await rejectsWith(client.fetchAudio(url), 'invalid-response');
        for (const [where, text] of Object.entries(errorTexts(again))) assertNoPiece(text, KEY, where);
        assert.equal(server.to('/audio/').length, 0);
      });
    }

    for (const route of ['/audio/x.wav', '/audio/x.mp3', '/audio/x']) {
      it(`a 200 on ${route} whose body starts with the key: the quote of its start shows no piece of it`, async function () {
        const server = await fake((req, res) => req.url === route &&
          send(res, 200, `${KEY}<html><body>Signed in</body></html>`, 'text/html'));
        const client = h.client(server, { headers: { 'X-API-Key': KEY } });
        const err = await rejectsWith(client.fetchAudio(route), 'invalid-response');
        assertClear(err, client);
        for (const [where, text] of Object.entries(errorTexts(err))) assertNoPiece(text, KEY, where);
        assert.match(err.message, /it starts with "\*\*\*/, 'the quote shows *** where the key was');
      });
    }
  });
});
