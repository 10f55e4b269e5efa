'use strict';
// AllTalkClient against the simulator: which calls are retried (refused connections, 5xx) and
// which never are (4xx, a generation after a 500 or a timeout), and when retries give up.
const assert = require('node:assert/strict');
const { harness, rejectsWith, requestsTo, holdEngine } = require('./helpers');

describe('api/client errors, retries and transport', () => {
  const h = harness();

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
});
