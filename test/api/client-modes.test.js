'use strict';
// AllTalkClient against the simulator in documented mode (the server as AllTalk's documentation
// describes it) and across a real server's start-up: the client must work with both.
const assert = require('node:assert/strict');
const { harness, rejectsWith, requestsTo, holdEngine, nextEvent } = require('./helpers');

describe('api/client with documented and starting servers', () => {
  const h = harness();

  describe('documented mode', () => {
    it('ready() says "Unloaded" while a model loads, "Ready" afterwards', async () => {
      const sim = await h.sim({ mode: 'documented' });
      const client = h.client(sim);
      const release = holdEngine(h, sim);
      const arrived = nextEvent(sim, 'request', (r) => r.path === '/api/reload');
      const reload = client.reloadModel(sim.settings.models_available[0].name);
      await arrived; // the held engine keeps the model loading
      assert.equal(await client.ready(), 'Unloaded');
      release();
      assert.deepEqual(await reload, { status: 'model-success' });
      assert.equal(await client.ready(), 'Ready');
    });

    it('an unknown model is a documented model-failure: rejected, not http', async () => {
      const sim = await h.sim({ mode: 'documented' });
      const client = h.client(sim);
      const err = await rejectsWith(client.reloadModel('xtts - nope'), 'rejected');
      assert.match(err.message, /"xtts - nope"/);
      assert.match(err.message, /model-failure/);
    });

    it('toggles answer the documented *-success (with a JSON Content-Type)', async () => {
      const sim = await h.sim({ mode: 'documented', profile: 'xtts' });
      const client = h.client(sim);
      const res = await client.setLowVram(true);
      assert.equal(res.status, 'lowvram-success');
      assert.equal(res.changed, true);
      const ds = await client.setDeepSpeed(!sim.settings.deepspeed_enabled);
      assert.equal(ds.status, 'deepspeed-success');
    });

    it('voices() succeeds for an engine that is not multivoice', async () => {
      const sim = await h.sim({ mode: 'documented', profile: 'piper' });
      const client = h.client(sim);
      sim.settings.multivoice_capable = false;
      assert.deepEqual(await client.voices(), sim.voices);
    });

    it('generation failures as {"status":"generate-failure","error"} keep the HTTP status and message', async () => {
      const sim = await h.sim({ mode: 'documented', profile: 'xtts' });
      const client = h.client(sim);
      const err = await rejectsWith(client.ttsGenerateForm({ text_input: 'Hi', language: 'xx' }), 'http');
      assert.equal(err.status, 400);
      assert.match(err.serverMessage, /language/);
      const unknown = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', character_voice_gen: 'nobody.wav' }), 'http');
      assert.equal(unknown.status, 500);
      assert.ok(unknown.serverMessage.length > 0);
    });

    it('the rest of a normal session works unchanged', async () => {
      const sim = await h.sim({ mode: 'documented' });
      const client = h.client(sim);
      assert.equal(await client.ready(), 'Ready');
      assert.equal(Object.keys(await client.currentSettings()).length, 24);
      const res = await client.ttsGenerate({ text_input: 'Documented hello' });
      assert.ok((await client.fetchAudio(res.url)).data.length > 44);
      const stream = await client.streamTtsToBuffer({ text: 'Documented stream', voice: 'female_01.wav' });
      assert.ok(stream.length > 44);
    });
  });

  describe('a real server starting up (connections refused while the model loads)', () => {
    it('ready() is offline without retries, and "Ready" with enough of them', async () => {
      const sim = await h.sim({ startupMs: 300 });
      const impatient = h.client(sim, { retry: { retries: 0 } });
      const err = await rejectsWith(impatient.ready(), 'offline');
      assert.equal(err.causeCode, 'ECONNREFUSED');
      const patient = h.client(sim, { retry: { retries: 30, baseDelayMs: 50, maxDelayMs: 50 } });
      assert.equal(await patient.ready(), 'Ready');
      assert.equal(requestsTo(sim, '/api/ready').length, 1, 'refused attempts never reach the server');
    });
  });
});
