'use strict';
const assert = require('assert');
const { startSim, stopAll, request, postForm, until } = require('./helpers');

const post = (sim, path) => request(sim, path, { method: 'POST' });

describe('simulator: model and engine control routes', function () {
  let sim;
  before(async function () {
    sim = await startSim();
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  describe('POST /api/reload', function () {
    it('loads a known model: raw Starlette JSON with spaces, application/json, settings updated', async function () {
      const r = await post(sim, '/api/reload?tts_method=' + encodeURIComponent('xtts - xttsv2_2.0.2'));
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      assert.strictEqual(r.text, '{"status": "model-success"}');
      assert.strictEqual(sim.settings.current_model_loaded, 'xtts - xttsv2_2.0.2');
      const s = (await request(sim, '/api/currentsettings')).json();
      assert.strictEqual(s.current_model_loaded, 'xtts - xttsv2_2.0.2');
    });

    it('answers E3 500 text/plain for an unknown or a missing model (real server bug)', async function () {
      for (const path of ['/api/reload?tts_method=nope', '/api/reload']) {
        const r = await post(sim, path);
        assert.strictEqual(r.status, 500, path);
        assert.strictEqual(r.text, 'Internal Server Error');
        assert.strictEqual(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      }
      assert.strictEqual(sim.settings.current_model_loaded, 'xtts - xttsv2_2.0.3');
    });

    it('reads tts_method from the query only (a form body is ignored)', async function () {
      const r = await postForm(sim, '/api/reload', { tts_method: 'xtts - xttsv2_2.0.2' });
      assert.strictEqual(r.status, 500);
    });

    it('answers model-failure for a placeholder and for an XTTS model without a known prefix', async function () {
      sim.settings.models_available.push({ name: 'No Models Available' }, { name: 'custom model' });
      const placeholder = await post(sim, '/api/reload?tts_method=No%20Models%20Available');
      assert.deepStrictEqual(placeholder.json(), { status: 'model-failure' });
      const odd = await post(sim, '/api/reload?tts_method=custom%20model');
      assert.deepStrictEqual(odd.json(), { status: 'model-failure' });
      assert.strictEqual(sim.settings.current_model_loaded, null);
    });

    it('Piper (non-blocking): a second reload during a load gets "model-is currently changing"', async function () {
      const piper = await startSim({ profile: 'piper' });
      const release = piper.holdEngine();
      const first = post(piper, '/api/reload?tts_method=piper');
      await until(() => piper.engine.modelChanging);
      const second = await post(piper, '/api/reload?tts_method=piper');
      assert.deepStrictEqual(second.json(), { status: 'model-is currently changing' });
      release();
      assert.deepStrictEqual((await first).json(), { status: 'model-success' });
    });
  });

  describe('POST /api/enginereload', function () {
    it('E3 500 for every valid engine (broken in this release)', async function () {
      const r = await post(sim, '/api/enginereload?engine=piper');
      assert.strictEqual(r.status, 500);
      assert.strictEqual(r.text, 'Internal Server Error');
      assert.strictEqual(sim.profile, 'xtts');
    });

    it('E6 200 for an invalid or missing engine', async function () {
      for (const path of ['/api/enginereload?engine=nope', '/api/enginereload']) {
        const r = await post(sim, path);
        assert.strictEqual(r.status, 200);
        assert.deepStrictEqual(r.json(), { status: 'error', message: 'Invalid TTS engine specified' });
      }
    });
  });

  describe('POST /api/deepspeed', function () {
    it('E1 422 when the value is missing or not a boolean', async function () {
      const missing = await post(sim, '/api/deepspeed');
      assert.strictEqual(missing.status, 422);
      assert.deepStrictEqual(missing.json(), {
        detail: [{ type: 'missing', loc: ['query', 'new_deepspeed_value'], msg: 'Field required', input: null }],
      });
      const bad = await post(sim, '/api/deepspeed?new_deepspeed_value=maybe');
      assert.strictEqual(bad.status, 422);
      assert.strictEqual(bad.json().detail[0].type, 'bool_parsing');
      assert.strictEqual(bad.json().detail[0].input, 'maybe');
      const empty = await post(sim, '/api/deepspeed?new_deepspeed_value=');
      assert.strictEqual(empty.status, 422, 'an empty query value is a value, not "missing"');
    });

    it('accepts every pydantic boolean spelling in any case', async function () {
      const truthy = ['true', 'True', 'TRUE', '1', 'yes', 'YES', 'on', 'On', 't', 'T', 'y', 'Y'];
      const falsy = ['false', 'False', '0', 'no', 'No', 'off', 'OFF', 'f', 'F', 'n', 'N'];
      for (const word of truthy) {
        sim.settings.deepspeed_enabled = false;
        const r = await post(sim, `/api/deepspeed?new_deepspeed_value=${word}`);
        assert.strictEqual(r.status, 200, word);
        assert.strictEqual(sim.settings.deepspeed_enabled, true, word);
      }
      for (const word of falsy) {
        sim.settings.deepspeed_enabled = true;
        const r = await post(sim, `/api/deepspeed?new_deepspeed_value=${word}`);
        assert.strictEqual(r.status, 200, word);
        assert.strictEqual(sim.settings.deepspeed_enabled, false, word);
      }
    });

    it('a change answers deepspeed-success (no Content-Type, no message) and reloads the start-up model', async function () {
      sim.settings.current_model_loaded = 'xtts - xttsv2_2.0.2';
      const r = await post(sim, '/api/deepspeed?new_deepspeed_value=false');
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), null);
      assert.deepStrictEqual(JSON.parse(r.text), { status: 'deepspeed-success' });
      assert.strictEqual(sim.settings.deepspeed_enabled, false);
      assert.strictEqual(sim.settings.current_model_loaded, 'xtts - xttsv2_2.0.3');
    });

    it('no change answers success with "already" (XTTS starts with DeepSpeed enabled)', async function () {
      const r = await post(sim, '/api/deepspeed?new_deepspeed_value=true');
      assert.deepStrictEqual(JSON.parse(r.text), { status: 'success', message: 'DeepSpeed is already enabled' });
      assert.strictEqual(r.headers.get('content-type'), null);
    });

    it('an apitts model refuses DeepSpeed, yet the route reports success', async function () {
      sim.settings.deepspeed_enabled = false;
      sim.settings.current_model_loaded = 'apitts - xttsv2_2.0.3';
      const r = await post(sim, '/api/deepspeed?new_deepspeed_value=true');
      assert.deepStrictEqual(JSON.parse(r.text), { status: 'deepspeed-success' });
      assert.strictEqual(sim.settings.deepspeed_enabled, false);
    });

    it('E6 200 when the engine is not capable (Piper)', async function () {
      sim.setProfile('piper');
      const r = await post(sim, '/api/deepspeed?new_deepspeed_value=true');
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), null);
      assert.deepStrictEqual(JSON.parse(r.text), {
        status: 'error',
        message:
          "The currently loaded TTS engine 'piper' does not support DeepSpeed or DeepSpeed is not available on this system.",
      });
    });

    it('E3 500 when no model is loaded (the route cannot handle the engine error)', async function () {
      sim.engine.modelLoaded = false;
      sim.settings.deepspeed_enabled = false;
      const r = await post(sim, '/api/deepspeed?new_deepspeed_value=true');
      assert.strictEqual(r.status, 500);
      assert.strictEqual(r.text, 'Internal Server Error');
    });
  });

  describe('POST /api/lowvramsetting', function () {
    it('E1 422 when missing or invalid', async function () {
      assert.strictEqual((await post(sim, '/api/lowvramsetting')).status, 422);
      const bad = await post(sim, '/api/lowvramsetting?new_low_vram_value=sometimes');
      assert.strictEqual(bad.status, 422);
      assert.deepStrictEqual(bad.json().detail[0].loc, ['query', 'new_low_vram_value']);
    });

    it('a change answers lowvram-success with an empty message and no Content-Type', async function () {
      const r = await post(sim, '/api/lowvramsetting?new_low_vram_value=true');
      assert.strictEqual(r.headers.get('content-type'), null);
      assert.deepStrictEqual(JSON.parse(r.text), { status: 'lowvram-success', message: '' });
      assert.strictEqual(sim.settings.lowvram_enabled, true);
      const again = await post(sim, '/api/lowvramsetting?new_low_vram_value=True');
      assert.deepStrictEqual(JSON.parse(again.text), { status: 'success', message: 'LowVRAM is already enabled' });
    });

    it('E6 200 when not capable (Piper)', async function () {
      sim.setProfile('piper');
      const r = await post(sim, '/api/lowvramsetting?new_low_vram_value=true');
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(JSON.parse(r.text), {
        status: 'error',
        message: "The currently loaded TTS engine 'piper' does not support lowvram.",
      });
    });

    it('without CUDA: success, then every generation fails with 400 "no TTS model loaded" until /api/reload', async function () {
      const nocuda = await startSim({ cuda: false });
      const r = await post(nocuda, '/api/lowvramsetting?new_low_vram_value=true');
      assert.deepStrictEqual(JSON.parse(r.text), { status: 'lowvram-success', message: '' });
      assert.strictEqual((await request(nocuda, '/api/ready')).text, 'Ready');
      const gen = await postForm(nocuda, '/api/tts-generate', { text_input: 'Hello there' });
      assert.strictEqual(gen.status, 400);
      assert.deepStrictEqual(gen.json(), { detail: 'You currently have no TTS model loaded.' });
      const reload = await post(nocuda, '/api/reload?tts_method=' + encodeURIComponent('xtts - xttsv2_2.0.3'));
      assert.deepStrictEqual(reload.json(), { status: 'model-success' });
      assert.strictEqual((await postForm(nocuda, '/api/tts-generate', { text_input: 'Hello there' })).status, 200);
    });
  });
});
