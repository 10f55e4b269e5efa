'use strict';
// AllTalkClient against the simulator: the status and admin routes (ready, settings, voices,
// RVC voices, config reload, model reload, stop, DeepSpeed, LowVRAM).
const assert = require('node:assert/strict');
const { CAPABILITY_FLAGS } = require('../../dist/api');
const { harness, rejectsWith, requestsTo } = require('./helpers');

describe('api/client status and admin routes', () => {
  const h = harness();

  describe('ready()', () => {
    it('answers "Ready" from GET /api/ready (plain text, no Content-Type)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      assert.equal(await client.ready(), 'Ready');
      const [req] = requestsTo(sim, '/api/ready');
      assert.equal(req.method, 'GET');
      assert.equal(sim.requests.length, 1);
    });

    it('answers "Unloaded" when the server says so', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/ready', 1, { status: 200, body: 'Unloaded', contentType: null });
      assert.equal(await client.ready(), 'Unloaded');
      assert.equal(await client.ready(), 'Ready');
    });
  });

  describe('currentSettings()', () => {
    for (const profile of ['xtts', 'piper']) {
      it(`returns exactly the 24 keys of the ${profile} profile`, async () => {
        const sim = await h.sim({ profile });
        const client = h.client(sim);
        const settings = await client.currentSettings();
        assert.equal(Object.keys(settings).length, 24);
        assert.deepEqual(Object.keys(settings).sort(), Object.keys(sim.settings).sort());
        assert.deepEqual(settings, JSON.parse(JSON.stringify(sim.settings)));
        assert.equal(settings.current_engine_loaded, profile);
        assert.equal(requestsTo(sim, '/api/currentsettings', 'GET').length, 1);
      });
    }

    it('reflects a change of the server\'s settings', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.settings.temperature_set = 0.42;
      sim.settings.pitch_capable = true;
      const settings = await client.currentSettings();
      assert.equal(settings.temperature_set, 0.42);
      assert.equal(settings.pitch_capable, true);
    });

    it('normalises flags and lists from a sloppy reply (missing flags read as false)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/currentsettings', 1, {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          current_engine_loaded: 'xtts',
          models_available: ['xtts - a', { name: 'xtts - b' }, 3, null],
          deepspeed_capable: 'true',
          streaming_capable: 1,
          multivoice_capable: true,
          temperature_set: '0.7',
          pitch_set: 'high',
        }),
      });
      const s = await client.currentSettings();
      for (const flag of [...CAPABILITY_FLAGS, 'deepspeed_enabled', 'lowvram_enabled', 'ttsengines_installed']) {
        assert.equal(typeof s[flag], 'boolean', flag);
      }
      assert.equal(s.deepspeed_capable, false, 'only a real true counts');
      assert.equal(s.streaming_capable, false);
      assert.equal(s.multivoice_capable, true);
      assert.equal(s.lowvram_capable, false, 'missing → false');
      assert.deepEqual(s.models_available, [{ name: 'xtts - a' }, { name: 'xtts - b' }]);
      assert.deepEqual(s.engines_available, []);
      assert.equal(s.current_model_loaded, null);
      assert.equal(s.temperature_set, 0.7);
      assert.equal(s.pitch_set, 0);
      assert.equal(s.audio_format, '');
    });

    it('a reply without current_engine_loaded is an invalid response', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/currentsettings', 1, { status: 200, body: '{"status":"success"}', contentType: 'application/json' });
      const err = await rejectsWith(client.currentSettings(), 'invalid-response');
      assert.match(err.message, /current_engine_loaded/);
    });
  });

  describe('voices()', () => {
    it('returns the server\'s voice list', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const voices = await client.voices();
      assert.deepEqual(voices, sim.voices);
      assert.ok(voices.includes('female_01.wav'));
    });

    it('piper voices (paths with the OS separator) come back as sent', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const voices = await client.voices();
      assert.deepEqual(voices, sim.voices);
      assert.ok(voices.some((v) => v.endsWith('.onnx')));
    });

    it('an engine without voices answers HTTP 200 {"status":"error"} (E6): rejected', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      sim.settings.multivoice_capable = false;
      const err = await rejectsWith(client.voices(), 'rejected');
      assert.equal(err.status, 200);
      assert.match(err.serverMessage, /does not support multiple voices/);
      assert.match(err.message, /does not support multiple voices/);
    });

    it('the E6 shape is rejected whatever produced it', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/voices', 1, {
        status: 200, contentType: 'application/json',
        body: JSON.stringify({ status: 'error', message: "The currently loaded TTS engine 'x' does not support multiple voices." }),
      });
      const err = await rejectsWith(client.voices(), 'rejected');
      assert.match(err.serverMessage, /'x' does not support multiple voices/);
      assert.equal(err.route, '/api/voices');
    });
  });

  describe('rvcVoices()', () => {
    it('reads the real server\'s "rvcvoices" key: Disabled first, then the .pth files', async () => {
      const sim = await h.sim({ rvcEnabled: true });
      const client = h.client(sim);
      const list = await client.rvcVoices();
      assert.equal(list[0], 'Disabled');
      assert.ok(list.length > 1);
      assert.ok(list.slice(1).every((v) => v.endsWith('.pth')));
      assert.deepEqual(list, sim.rvcVoices);
    });

    it('only ["Disabled"] when RVC is off', async () => {
      const sim = await h.sim({ rvcEnabled: false });
      const client = h.client(sim);
      assert.deepEqual(await client.rvcVoices(), ['Disabled']);
    });

    it('documented mode\'s "voices" key works too, entries kept exactly as sent', async () => {
      const sim = await h.sim({ mode: 'documented', rvcEnabled: true });
      const client = h.client(sim);
      const raw = await (await fetch(`${sim.url}/api/rvcvoices`)).json();
      assert.equal(raw.rvcvoices, undefined, 'the documented reply has no "rvcvoices" key');
      assert.ok(Array.isArray(raw.voices) && raw.voices.length > 1);
      const list = await client.rvcVoices();
      assert.deepEqual(list, raw.voices);
      assert.equal(list[0], 'Disabled');
    });

    it('falls back to "voices" when "rvcvoices" is absent, and prefers "rvcvoices"', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/rvcvoices', 1, { status: 200, contentType: 'application/json', body: '{"status":"success","voices":["Disabled","a\\\\b.pth"]}' });
      assert.deepEqual(await client.rvcVoices(), ['Disabled', 'a\\b.pth']);
      sim.failNext('/api/rvcvoices', 1, { status: 200, contentType: 'application/json', body: '{"status":"success","voices":["x"],"rvcvoices":["Disabled","y.pth"]}' });
      assert.deepEqual(await client.rvcVoices(), ['Disabled', 'y.pth']);
      sim.failNext('/api/rvcvoices', 1, { status: 200, contentType: 'application/json', body: '{"status":"success"}' });
      await rejectsWith(client.rvcVoices(), 'invalid-response');
    });
  });

  describe('reloadConfig()', () => {
    it('GET /api/reload_config answers its plain text (no Content-Type)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      assert.equal(await client.reloadConfig(), 'Config file reloaded successfully');
      assert.equal(requestsTo(sim, '/api/reload_config', 'GET').length, 1);
    });

    it('a broken configuration (500 text/plain) is an http error', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { retry: { retries: 0 } });
      sim.failNext('/api/reload_config', 1, { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' });
      const err = await rejectsWith(client.reloadConfig(), 'http');
      assert.equal(err.status, 500);
      assert.equal(err.serverMessage, 'Internal Server Error');
    });
  });

  describe('reloadModel()', () => {
    it('loads another model: POST /api/reload?tts_method=… → model-success', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const target = sim.settings.models_available.map((m) => m.name).find((n) => n !== sim.settings.current_model_loaded);
      assert.deepEqual(await client.reloadModel(target), { status: 'model-success' });
      const [req] = requestsTo(sim, '/api/reload');
      assert.equal(req.method, 'POST');
      assert.equal(req.query.tts_method, target);
      assert.equal((await client.currentSettings()).current_model_loaded, target);
    });

    it('accepts a name that is in the models option', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const names = sim.settings.models_available.map((m) => m.name);
      assert.deepEqual(await client.reloadModel(names[0], { models: names }), { status: 'model-success' });
    });

    it('an unknown model (the real server answers 500 text/plain) is an http error with a helpful message', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const err = await rejectsWith(client.reloadModel('xtts - nope'), 'http');
      assert.equal(err.status, 500);
      assert.equal(err.serverMessage, 'Internal Server Error');
      assert.match(err.message, /"xtts - nope"/);
      assert.match(err.message, /Check the model list/);
      assert.equal(requestsTo(sim, '/api/reload').length, 1, 'not retried');
    });

    it('the models option refuses an unknown name without sending anything', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const names = sim.settings.models_available.map((m) => m.name);
      const err = await rejectsWith(client.reloadModel('xtts - nope', { models: names }), 'validation');
      assert.equal(err.field, 'tts_method');
      assert.equal(err.value, 'xtts - nope');
      assert.ok(err.message.includes(names[0]), err.message);
      assert.equal(sim.requests.length, 0);
    });

    it('placeholder model names in the models option do not count', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const name = sim.settings.models_available[0].name;
      assert.deepEqual(await client.reloadModel(name, { models: ['No Models Available'] }), { status: 'model-success' });
    });

    it('an empty name is refused before sending', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      for (const bad of ['', '  ', undefined, 3]) {
        const err = await rejectsWith(client.reloadModel(bad), 'validation');
        assert.equal(err.field, 'tts_method');
      }
      assert.equal(sim.requests.length, 0);
    });

    it('model-failure and "model-is currently changing" (HTTP 200) are rejected', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const name = sim.settings.models_available[0].name;
      sim.failNext('/api/reload', 1, { status: 200, body: '{"status": "model-failure"}', contentType: 'application/json' });
      const failure = await rejectsWith(client.reloadModel(name), 'rejected');
      assert.match(failure.message, /model-failure/);
      sim.failNext('/api/reload', 1, { status: 200, body: '{"status": "model-is currently changing"}', contentType: 'application/json' });
      const changing = await rejectsWith(client.reloadModel(name), 'rejected');
      assert.match(changing.message, /already changing/);
    });
  });

  describe('stopGeneration()', () => {
    it('PUT /api/stop-generation returns the server\'s message', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      assert.deepEqual(await client.stopGeneration(), { message: 'Cancelling current TTS generation' });
      const [req] = requestsTo(sim, '/api/stop-generation');
      assert.equal(req.method, 'PUT');
    });
  });

  describe('setDeepSpeed() and setLowVram()', () => {
    it('setDeepSpeed: *-success means changed, "already" means not changed', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      const wanted = !sim.settings.deepspeed_enabled;
      const first = await client.setDeepSpeed(wanted);
      assert.equal(first.status, 'deepspeed-success');
      assert.equal(first.changed, true);
      const [req] = requestsTo(sim, '/api/deepspeed', 'POST');
      assert.equal(req.query.new_deepspeed_value, String(wanted), 'a lowercase boolean in the query');
      assert.equal((await client.currentSettings()).deepspeed_enabled, wanted);
      const again = await client.setDeepSpeed(wanted);
      assert.equal(again.status, 'success');
      assert.equal(again.changed, false);
      assert.match(again.message, new RegExp(`already ${wanted ? 'enabled' : 'disabled'}`));
    });

    it('setLowVram: lowvram-success then "already enabled"', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      assert.equal(sim.settings.lowvram_enabled, false);
      const first = await client.setLowVram(true);
      assert.deepEqual({ status: first.status, changed: first.changed }, { status: 'lowvram-success', changed: true });
      const [req] = requestsTo(sim, '/api/lowvramsetting', 'POST');
      assert.equal(req.query.new_low_vram_value, 'true');
      const again = await client.setLowVram(true);
      assert.equal(again.changed, false);
      assert.match(again.message, /already enabled/);
    });

    it('an engine that is not capable answers HTTP 200 {"status":"error"} (E6): rejected', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const ds = await rejectsWith(client.setDeepSpeed(true), 'rejected');
      assert.match(ds.serverMessage, /does not support DeepSpeed/);
      const lv = await rejectsWith(client.setLowVram(true), 'rejected');
      assert.match(lv.serverMessage, /does not support lowvram/);
      assert.equal(requestsTo(sim, '/api/deepspeed').length, 1, 'not retried');
    });

    it('a value that is not a boolean is refused before sending', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const err = await rejectsWith(client.setDeepSpeed('yes'), 'validation');
      assert.equal(err.field, 'new_deepspeed_value');
      const err2 = await rejectsWith(client.setLowVram(1), 'validation');
      assert.equal(err2.field, 'new_low_vram_value');
      assert.equal(sim.requests.length, 0);
    });

    it('an unexpected status is an invalid response', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/api/deepspeed', 1, { status: 200, body: '{"status":"whatever"}', contentType: null });
      const err = await rejectsWith(client.setDeepSpeed(true), 'invalid-response');
      assert.match(err.message, /whatever/);
    });
  });
});
