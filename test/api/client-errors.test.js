'use strict';
// AllTalkClient against the simulator: every error kind, retries, headers and TLS.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { AllTalkClient, packageVersion } = require('../../dist/api');
const { harness, rejectsWith, requestsTo, closedPort, nextEvent, holdEngine } = require('./helpers');

const E1_BODY = {
  detail: [{ type: 'float_parsing', loc: ['body', 'speed'], msg: 'Input should be a valid number, unable to parse string as a number', input: 'fast' }],
};

describe('api/client errors, retries and transport', () => {
  const h = harness();

  describe('offline', () => {
    it('nothing listening (ECONNREFUSED): offline, with a message that says what to check', async () => {
      const port = await closedPort();
      const client = h.client(port, { retry: { retries: 0 } });
      const err = await rejectsWith(client.ready(), 'offline');
      assert.equal(err.causeCode, 'ECONNREFUSED');
      assert.ok(err.message.includes(`http://127.0.0.1:${port}`), err.message);
      assert.match(err.message, /connection refused/);
      assert.match(err.message, /Is it running/);
      assert.equal(err.route, '/api/ready');
    });

    it('every kind of call is offline when nothing listens', async () => {
      const port = await closedPort();
      const client = h.client(port, { retry: { retries: 0 } });
      await rejectsWith(client.currentSettings(), 'offline');
      await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'offline');
      await rejectsWith(client.streamTts({ text: 'Hi', voice: 'a.wav' }), 'offline');
      await rejectsWith(client.fetchAudio('/audio/x.wav'), 'offline');
    });

    it('sim.goAway(): offline; sim.comeBack(): ready again', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 0 } });
      assert.equal(await client.ready(), 'Ready');
      await sim.goAway();
      const err = await rejectsWith(client.ready(), 'offline');
      assert.ok(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(err.causeCode), err.causeCode);
      await sim.comeBack();
      assert.equal(await client.ready(), 'Ready');
    });
  });

  describe('busy', () => {
    it('a status call with a short timeout while the blocking xtts profile generates', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      const release = holdEngine(h, sim);
      const started = nextEvent(sim, 'generation-start');
      const generation = client.ttsGenerate({ text_input: 'A long story.' });
      await started;
      const err = await rejectsWith(client.ready({ timeoutMs: 100 }), 'busy');
      assert.match(err.message, /busy/);
      assert.match(err.message, /0\.1 s/);
      assert.equal(err.route, '/api/ready');
      assert.equal(requestsTo(sim, '/api/ready').length, 1, 'a timed-out status call is not retried');
      release();
      const res = await generation;
      assert.equal(res.status, 'generate-success');
      assert.equal(await client.ready({ timeoutMs: 1000 }), 'Ready');
    });

    it('the non-blocking piper profile answers status calls during a generation', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const release = holdEngine(h, sim);
      const started = nextEvent(sim, 'generation-start');
      const generation = client.ttsGenerate({ text_input: 'A long story.' });
      await started;
      assert.equal(await client.ready({ timeoutMs: 2000 }), 'Ready');
      release();
      await generation;
    });

    it('a status call slower than its timeout (setLatency)', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { timeoutMs: 100 });
      sim.setLatency('/api/currentsettings', 250);
      await rejectsWith(client.currentSettings(), 'busy');
      const settings = await client.currentSettings({ timeoutMs: 10000 });
      assert.equal(settings.current_engine_loaded, 'xtts', 'a longer timeout waits it out');
    });
  });

  describe('timeout', () => {
    it('a generation longer than generationTimeoutMs: timeout, sent once', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { generationTimeoutMs: 150 });
      holdEngine(h, sim);
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Never finishes.' }), 'timeout');
      assert.match(err.message, /0\.2 s|0\.15 s/);
      assert.match(err.message, /generation timeout/);
      assert.equal(requestsTo(sim, '/api/tts-generate').length, 1, 'generation is never retried after a timeout');
    });

    it('the per-call timeoutMs overrides the generation timeout', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      holdEngine(h, sim);
      await rejectsWith(client.ttsGenerate({ text_input: 'Never finishes.' }, { timeoutMs: 100 }), 'timeout');
    });

    it('a model reload longer than generationTimeoutMs: timeout (a long call, not busy)', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { generationTimeoutMs: 100, timeoutMs: 5000 });
      holdEngine(h, sim);
      await rejectsWith(client.reloadModel(sim.settings.models_available[0].name), 'timeout');
      assert.equal(requestsTo(sim, '/api/reload').length, 1);
    });
  });

  describe('http: each server error shape keeps the server\'s own message', () => {
    const shapes = [
      ['E1 422 detail list', { status: 422, body: E1_BODY, contentType: 'application/json' }, /^speed: Input should be a valid number/],
      ['E4 400 {"error"} with the field description', { status: 400, body: { error: 'language: The language code\noutput_file_name: Letters, digits and _ only' }, contentType: 'application/json' }, /^language: The language code\noutput_file_name:/],
      ['E3 500 text/plain', { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' }, /^Internal Server Error$/],
      ['E2 {"detail":"…"}', { status: 400, body: { detail: 'You currently have no TTS model loaded.' }, contentType: 'application/json' }, /^You currently have no TTS model loaded\.$/],
      ['E5 500 generate-failure', { status: 500, body: { status: 'generate-failure', error: 'TTS generation failed' }, contentType: 'application/json' }, /^TTS generation failed$/],
      ['E5 507', { status: 507, body: { status: 'generate-failure', error: 'Insufficient memory' }, contentType: 'application/json' }, /^Insufficient memory$/],
      ['E7 500 {"status":"error","message"}', { status: 500, body: { status: 'error', message: 'Invalid configuration value' }, contentType: 'application/json' }, /^Invalid configuration value$/],
    ];
    for (const [name, reply, expected] of shapes) {
      it(name, async () => {
        const sim = await h.sim();
        const client = h.client(sim);
        sim.failNext('/api/tts-generate', 1, reply);
        const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hello' }), 'http');
        assert.equal(err.status, reply.status);
        assert.match(err.serverMessage, expected);
        assert.ok(err.message.includes(err.serverMessage.split('\n')[0]), err.message);
        assert.doesNotMatch(err.message, /\n/, 'one line');
        assert.equal(err.route, '/api/tts-generate');
        assert.ok(err.body.length > 0);
        assert.equal(requestsTo(sim, '/api/tts-generate').length, 1, 'not retried');
      });
    }

    it('the simulator\'s own 422 for an unparsable number (sent past validation)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const err = await rejectsWith(client.ttsGenerateForm({ text_input: 'Hi', speed: 'fast' }), 'http');
      assert.equal(err.status, 422);
      assert.match(err.serverMessage, /speed/);
    });

    it('the simulator\'s own 400 {"error"} names the field and its description', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const err = await rejectsWith(client.ttsGenerateForm({ text_input: 'Hi', language: 'xx', output_file_name: 'my-file' }), 'http');
      assert.equal(err.status, 400);
      assert.match(err.serverMessage, /^language: /m);
      assert.match(err.serverMessage, /^output_file_name: /m);
      assert.match(err.message, /If it names a field you did not set/);
    });

    it('an unknown XTTS voice: 500 {"status":"generate-failure"}', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', character_voice_gen: 'nobody.wav' }), 'http');
      assert.equal(err.status, 500);
      assert.equal(err.serverMessage, 'TTS generation failed');
    });

    it('an unknown piper voice: 500 {"detail":"Model file not found."}', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', character_voice_gen: 'nobody.onnx' }), 'http');
      assert.equal(err.status, 500);
      assert.equal(err.serverMessage, 'Model file not found.');
    });

    it('a 404 on an /api/ route asks whether this is an AllTalk v2 server', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/voices', 1, { status: 404, body: { detail: 'Not Found' }, contentType: 'application/json' });
      const err = await rejectsWith(client.voices(), 'http');
      assert.match(err.message, /AllTalk v2 server/);
    });
  });

  describe('rejected: HTTP 200 with a failure status', () => {
    for (const status of ['generate-failure', 'error']) {
      it(`ttsGenerate with {"status":"${status}"}`, async () => {
        const sim = await h.sim();
        const client = h.client(sim);
        sim.failNext('/api/tts-generate', 1, { status: 200, body: { status, error: 'It went wrong', message: 'It went wrong' }, contentType: 'application/json' });
        const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'rejected');
        assert.equal(err.status, 200);
        assert.equal(err.serverMessage, 'It went wrong');
      });
    }
  });

  describe('invalid-response', () => {
    const calls = [
      ['ready', '/api/ready', (c) => c.ready()],
      ['currentSettings', '/api/currentsettings', (c) => c.currentSettings()],
      ['voices', '/api/voices', (c) => c.voices()],
      ['rvcVoices', '/api/rvcvoices', (c) => c.rvcVoices()],
      ['stopGeneration', '/api/stop-generation', (c) => c.stopGeneration()],
      ['reloadModel', '/api/reload', (c) => c.reloadModel('xtts - xttsv2_2.0.3')],
      ['setDeepSpeed', '/api/deepspeed', (c) => c.setDeepSpeed(false)],
      ['setLowVram', '/api/lowvramsetting', (c) => c.setLowVram(true)],
      ['ttsGenerate', '/api/tts-generate', (c) => c.ttsGenerate({ text_input: 'Hi' })],
      ['previewVoice', '/api/previewvoice/', (c) => c.previewVoice({ voice: 'female_01.wav' })],
      ['setOpenAiVoiceMap', '/api/openai-voicemap', (c) => c.setOpenAiVoiceMap({ alloy: 'a', echo: 'b', fable: 'c', nova: 'd', onyx: 'e', shimmer: 'f' })],
      ['openaiSpeech', '/v1/audio/speech', (c) => c.openaiSpeech({ input: 'Hi', voice: 'alloy' })],
    ];
    for (const [name, route, call] of calls) {
      it(`${name}: 200 "nonsense" with no Content-Type`, async () => {
        const sim = await h.sim();
        const client = h.client(sim);
        sim.failNext(route, 1, { status: 200, body: 'nonsense', contentType: null });
        const err = await rejectsWith(call(client), 'invalid-response');
        assert.equal(err.route, route);
        assert.match(err.message, /unexpected reply/);
        assert.equal(requestsTo(sim, route).length, 1);
      });
    }

    it('ttsGenerate: a success without output_file_url', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/tts-generate', 1, { status: 200, body: { status: 'generate-success' }, contentType: 'application/json' });
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'invalid-response');
      assert.match(err.message, /output_file_url/);
    });

    it('a JSON array where an object is expected', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/voices', 1, { status: 200, body: '["a.wav"]', contentType: 'application/json' });
      await rejectsWith(client.voices(), 'invalid-response');
    });
  });

  describe('aborted', () => {
    it('an AbortSignal aborted mid-generation', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      holdEngine(h, sim);
      const ac = new AbortController();
      const started = nextEvent(sim, 'generation-start');
      const call = client.ttsGenerate({ text_input: 'Abort me.' }, { signal: ac.signal });
      await started;
      ac.abort();
      const err = await rejectsWith(call, 'aborted');
      assert.match(err.message, /cancelled/);
      assert.equal(requestsTo(sim, '/api/tts-generate').length, 1);
    });

    it('a signal aborted before the call: nothing is sent', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(client.ready({ signal: ac.signal }), 'aborted');
      await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }, { signal: ac.signal }), 'aborted');
      assert.equal(sim.requests.length, 0);
    });

    it('client.close() during a call fails it with aborted; later calls too', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      holdEngine(h, sim);
      const started = nextEvent(sim, 'generation-start');
      const call = client.ttsGenerate({ text_input: 'Close me.' });
      await started;
      await client.close();
      assert.equal(client.isClosed, true);
      await rejectsWith(call, 'aborted');
      await rejectsWith(client.ready(), 'aborted');
      await rejectsWith(client.streamTts({ text: 'Hi', voice: 'female_01.wav' }), 'aborted');
      await client.close(); // idempotent
    });

    it('close() during a retry back-off ends the call promptly with aborted', async () => {
      const sim = await h.sim();
      // a 503 makes the read-only call wait out a 60 s back-off before its retry
      const client = h.client(sim, { retry: { retries: 1, baseDelayMs: 60000, maxDelayMs: 60000 } });
      sim.failNext('/api/ready', 1, { status: 503, body: 'unavailable', contentType: 'text/plain' });
      const answered = nextEvent(sim, 'response');
      const call = client.ready().then(() => 'resolved', (err) => err);
      await answered;
      // The client has no event for "now waiting to retry"; the 503 reached it within a few ms of
      // the simulator's 'response'. (Closing earlier would only let a broken client pass.)
      await new Promise((resolve) => setTimeout(resolve, 100));
      await client.close();
      // A generous bound for something that should take a few ms; the bug it catches waits 60 s.
      const pending = new Promise((resolve) => { const t = setTimeout(resolve, 2000, 'still pending'); t.unref(); });
      const outcome = await Promise.race([call, pending]);
      assert.notEqual(outcome, 'still pending', 'the call waited out its back-off after close()');
      assert.equal(outcome.kind, 'aborted');
    });
  });

  describe('retries', () => {
    it('a read-only call is retried after a refused connection', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 20, baseDelayMs: 50, maxDelayMs: 100 } });
      const control = h.client(sim, { retry: { retries: 0 } });
      await sim.refuseConnections(300);
      await rejectsWith(control.ready(), 'offline');
      assert.equal(await client.ready(), 'Ready');
      assert.equal(requestsTo(sim, '/api/ready').length, 1, 'only the successful attempt reached the server');
    });

    it('a read-only call is retried after a 5xx (2 requests logged)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/voices', 1, { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' });
      assert.deepEqual(await client.voices(), sim.voices);
      const reqs = requestsTo(sim, '/api/voices');
      assert.equal(reqs.length, 2);
      assert.deepEqual(reqs.map((r) => r.status), [500, 200]);
    });

    it('retries give up after the configured number, with the last reply', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 2 } });
      sim.failNext('/api/currentsettings', 5, { status: 503, body: 'unavailable', contentType: 'text/plain' });
      const err = await rejectsWith(client.currentSettings(), 'http');
      assert.equal(err.status, 503);
      assert.equal(requestsTo(sim, '/api/currentsettings').length, 3);
      sim.failNext('/api/currentsettings', 0, { status: 503 });
      sim.failNext('/api/currentsettings', 1, { status: 503, body: 'unavailable', contentType: 'text/plain' });
      await rejectsWith(client.currentSettings({ retries: 0 }), 'http');
      assert.equal(requestsTo(sim, '/api/currentsettings').length, 4, 'per-call retries: 0');
    });

    it('a 4xx is never retried', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/voices', 1, { status: 404, body: { detail: 'Not Found' } });
      await rejectsWith(client.voices(), 'http');
      assert.equal(requestsTo(sim, '/api/voices').length, 1);
    });

    it('generation is not retried after a 500 (exactly 1 request)', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 3 } });
      sim.failNext('/api/tts-generate', 1, { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' });
      await rejectsWith(client.ttsGenerate({ text_input: 'Hi' }), 'http');
      assert.equal(requestsTo(sim, '/api/tts-generate').length, 1);
    });

    it('generation is not retried after a timeout (exactly 1 request)', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { generationTimeoutMs: 100, retry: { retries: 3 } });
      holdEngine(h, sim);
      await rejectsWith(client.ttsGenerate({ text_input: 'Never finishes.' }), 'timeout');
      assert.equal(requestsTo(sim, '/api/tts-generate').length, 1);
    });

    it('generation is retried after ECONNREFUSED (the request never reached the server)', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 20, baseDelayMs: 50, maxDelayMs: 100 } });
      await sim.refuseConnections(300);
      const res = await client.ttsGenerate({ text_input: 'After the restart' });
      assert.equal(res.status, 'generate-success');
      assert.equal(requestsTo(sim, '/api/tts-generate').length, 1);
    });

    it('reloadModel and toggles are retried after ECONNREFUSED too', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 20, baseDelayMs: 50, maxDelayMs: 100 } });
      await sim.refuseConnections(200);
      assert.deepEqual(await client.reloadModel(sim.settings.models_available[0].name), { status: 'model-success' });
      assert.equal(requestsTo(sim, '/api/reload').length, 1);
    });
  });

  describe('headers', () => {
    it('extra headers, basic auth and the user agent reach the server', async () => {
      const sim = await h.sim();
      const client = h.client(sim, {
        headers: { 'X-Api-Key': 'secret-key', 'X-Proxy-Route': 'alltalk' },
        basicAuth: { username: 'ann', password: 'p:ss wörd' },
      });
      await client.ready();
      await client.ttsGenerate({ text_input: 'Hi' });
      await drain(await client.streamTts({ text: 'Hi', voice: 'female_01.wav' }));
      const expectedAuth = `Basic ${Buffer.from('ann:p:ss wörd').toString('base64')}`;
      assert.equal(sim.requests.length, 3);
      for (const req of sim.requests) {
        assert.equal(req.headers['x-api-key'], 'secret-key', req.path);
        assert.equal(req.headers['x-proxy-route'], 'alltalk', req.path);
        assert.equal(req.headers.authorization, expectedAuth, req.path);
        assert.equal(req.headers['user-agent'], `node-red-contrib-alltalk/${packageVersion()}`, req.path);
      }
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
      assert.equal(packageVersion(), pkg.version);
    });

    it('a user agent given in the headers wins', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { headers: { 'User-Agent': 'my-flow/1.0' } });
      await client.ready();
      assert.equal(sim.requests[0].headers['user-agent'], 'my-flow/1.0');
    });

    it('no authorization header without basic auth', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { basicAuth: { username: '', password: '' } });
      await client.ready();
      assert.equal(sim.requests[0].headers.authorization, undefined);
    });
  });

  describe('client options', () => {
    it('refuses a bad protocol, host or port', () => {
      assert.throws(() => new AllTalkClient({ protocol: 'ftp' }), (e) => e.kind === 'validation' && e.field === 'protocol');
      for (const host of ['http://x', 'a b', 'x/y', 'user@x', '']) {
        assert.throws(() => new AllTalkClient({ host }), (e) => e.kind === 'validation' && e.field === 'host', host);
      }
      for (const port of [0, 70000, 1.5, Number.NaN]) {
        assert.throws(() => new AllTalkClient({ port }), (e) => e.kind === 'validation' && e.field === 'port', String(port));
      }
    });

    it('builds the origin (IPv6 in brackets) and audio URLs', async () => {
      const a = new AllTalkClient({ host: '::1', port: 7851 });
      const b = new AllTalkClient({ protocol: 'https', host: 'tts.example', port: 443 });
      try {
        assert.equal(a.origin, 'http://[::1]:7851');
        assert.equal(a.timeoutMs, 5000);
        assert.equal(a.generationTimeoutMs, 300000);
        assert.equal(b.audioUrl('http://127.0.0.1:7851/audio/x.wav'), 'https://tts.example:443/audio/x.wav');
        assert.equal(b.audioUrl('audio/x.wav'), 'https://tts.example:443/audio/x.wav');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('TLS (a local HTTPS server with a self-signed certificate)', function () {
    let tls;

    before(function () {
      try {
        execFileSync('openssl', ['version'], { stdio: 'ignore' });
      } catch {
        this.skip(); // openssl is not installed: no certificate can be made for this test
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      tls = { dir, key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
    });

    after(() => {
      if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
    });

    /** The simulator speaks plain HTTP only: a minimal HTTPS stand-in for /api/ready. */
    async function httpsServer() {
      const seen = [];
      const srv = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        seen.push({ path: req.url, headers: req.headers });
        res.end(req.url === '/api/ready' ? 'Ready' : '');
      });
      await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
      h.cleanup(() => new Promise((resolve) => { srv.closeAllConnections(); srv.close(resolve); }));
      return { port: srv.address().port, seen };
    }

    it('an untrusted certificate is refused with a message about TLS', async () => {
      const srv = await httpsServer();
      const client = h.client(srv.port, { protocol: 'https', retry: { retries: 0 } });
      const err = await rejectsWith(client.ready(), 'offline');
      assert.match(err.message, /TLS certificate was not accepted/);
      assert.equal(srv.seen.length, 0);
    });

    it('accepted with rejectUnauthorized: false', async () => {
      const srv = await httpsServer();
      const client = h.client(srv.port, { protocol: 'https', tls: { rejectUnauthorized: false } });
      assert.equal(await client.ready(), 'Ready');
      assert.equal(srv.seen.length, 1);
    });

    it('accepted with the certificate as CA', async () => {
      const srv = await httpsServer();
      const client = h.client(srv.port, { protocol: 'https', tls: { ca: tls.cert } });
      assert.equal(await client.ready(), 'Ready');
    });
  });
});

function drain(stream) {
  return new Promise((resolve, reject) => {
    stream.on('data', () => {});
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}
