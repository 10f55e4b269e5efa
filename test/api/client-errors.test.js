'use strict';
// AllTalkClient against the simulator: every error kind (offline, busy, timeout, http, rejected,
// invalid-response, aborted) and what its message says.
const assert = require('node:assert/strict');
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
});
