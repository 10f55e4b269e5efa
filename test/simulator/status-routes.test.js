'use strict';
const assert = require('assert');
const { startSim, stopAll, request, rawRequest } = require('./helpers');
const { SETTINGS_KEYS } = require('../../dist/simulator');

describe('simulator: status routes and HTTP rules', function () {
  let sim;
  before(async function () {
    sim = await startSim();
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  describe('GET /api/ready', function () {
    it('answers Ready as text with no Content-Type', async function () {
      const r = await request(sim, '/api/ready');
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.text, 'Ready');
      assert.strictEqual(r.headers.get('content-type'), null);
      assert.strictEqual(r.headers.get('content-length'), '5');
    });

    it('still answers Ready when no model is loaded (real mode)', async function () {
      sim.engine.modelLoaded = false;
      const r = await request(sim, '/api/ready');
      assert.strictEqual(r.text, 'Ready');
    });
  });

  describe('GET /api/voices', function () {
    it('lists the XTTS voices, voicesets and latents', async function () {
      const r = await request(sim, '/api/voices');
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      const body = r.json();
      assert.strictEqual(body.status, 'success');
      assert.ok(body.voices.includes('female_01.wav'));
      assert.ok(body.voices.includes('voiceset:narrators'));
      assert.ok(body.voices.includes('latent:female_01.json'));
    });

    it('leaves latents out while an apitts model is loaded', async function () {
      sim.settings.current_model_loaded = 'apitts - xttsv2_2.0.3';
      const body = (await request(sim, '/api/voices')).json();
      assert.ok(body.voices.includes('female_01.wav'));
      assert.ok(!body.voices.some((v) => v.startsWith('latent:')));
    });

    it('serves the mutable voice list', async function () {
      sim.voices = ['only.wav'];
      assert.deepStrictEqual((await request(sim, '/api/voices')).json(), { status: 'success', voices: ['only.wav'] });
    });

    it('answers E6 with HTTP 200 when the engine is not multivoice', async function () {
      sim.settings.multivoice_capable = false;
      const r = await request(sim, '/api/voices');
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(r.json(), {
        status: 'error',
        message: "The currently loaded TTS engine 'xtts' does not support multiple voices.",
      });
    });

    it('lists Piper .onnx paths with the OS separator', async function () {
      sim.setProfile('piper');
      const body = (await request(sim, '/api/voices')).json();
      assert.ok(body.voices.includes('en_US-ljspeech-high.onnx'));
      assert.ok(body.voices.includes('sub/de_DE-thorsten-high.onnx'));
    });
  });

  describe('GET /api/rvcvoices', function () {
    it('uses the key rvcvoices, Disabled first, folder/x.pth entries', async function () {
      const r = await request(sim, '/api/rvcvoices');
      const body = r.json();
      assert.strictEqual(body.status, 'success');
      assert.strictEqual(body.voices, undefined);
      assert.strictEqual(body.rvcvoices[0], 'Disabled');
      assert.ok(body.rvcvoices.length > 1);
      assert.ok(body.rvcvoices.slice(1).every((v) => /^[^\\]+\/[^\\]+\.pth$/.test(v)));
    });

    it('lists only Disabled when RVC is disabled globally', async function () {
      const off = await startSim({ rvcEnabled: false });
      assert.deepStrictEqual((await request(off, '/api/rvcvoices')).json(), { status: 'success', rvcvoices: ['Disabled'] });
    });
  });

  describe('GET /api/currentsettings', function () {
    it('returns exactly the 24 keys, XTTS values as in the documentation example', async function () {
      const r = await request(sim, '/api/currentsettings');
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      const s = r.json();
      assert.deepStrictEqual(Object.keys(s), [...SETTINGS_KEYS]);
      assert.strictEqual(Object.keys(s).length, 24);
      assert.strictEqual(s.current_engine_loaded, 'xtts');
      assert.strictEqual(s.current_model_loaded, 'xtts - xttsv2_2.0.3');
      assert.ok(s.models_available.some((m) => m.name === 'apitts - xttsv2_2.0.2'));
      assert.strictEqual(s.manufacturer_name, 'Coqui');
      assert.strictEqual(s.streaming_capable, true);
      assert.strictEqual(s.deepspeed_capable, true);
      assert.strictEqual(s.lowvram_capable, true);
      assert.strictEqual(s.temperature_set, 0.75);
      assert.strictEqual(s.repetitionpenalty_set, 10);
    });

    it('returns Piper values after a profile switch', async function () {
      sim.setProfile('piper');
      const s = (await request(sim, '/api/currentsettings')).json();
      assert.strictEqual(Object.keys(s).length, 24);
      assert.deepStrictEqual(s.models_available, [{ name: 'piper' }]);
      assert.strictEqual(s.current_engine_loaded, 'piper');
      assert.strictEqual(s.streaming_capable, false);
      assert.strictEqual(s.deepspeed_capable, false);
      assert.strictEqual(s.lowvram_capable, false);
      assert.strictEqual(s.multivoice_capable, true);
    });

    it('reflects changes made to sim.settings', async function () {
      sim.settings.temperature_set = 0.5;
      assert.strictEqual((await request(sim, '/api/currentsettings')).json().temperature_set, 0.5);
    });
  });

  it('GET /api/reload_config answers text with no Content-Type', async function () {
    const r = await request(sim, '/api/reload_config');
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.text, 'Config file reloaded successfully');
    assert.strictEqual(r.headers.get('content-type'), null);
  });

  it('PUT /api/stop-generation always answers 200 with the message', async function () {
    const r = await request(sim, '/api/stop-generation', { method: 'PUT' });
    assert.strictEqual(r.status, 200);
    assert.deepStrictEqual(r.json(), { message: 'Cancelling current TTS generation' });
    // Nothing was generating, so no stop is pending.
    assert.strictEqual(sim.engine.stopRequested, false);
  });

  describe('FastAPI/Starlette rules', function () {
    it('405 with an allow header for a wrong method', async function () {
      const r = await request(sim, '/api/ready', { method: 'POST' });
      assert.strictEqual(r.status, 405);
      assert.deepStrictEqual(r.json(), { detail: 'Method Not Allowed' });
      assert.strictEqual(r.headers.get('allow'), 'GET');
      const put = await request(sim, '/api/tts-generate', { method: 'PUT' });
      assert.strictEqual(put.headers.get('allow'), 'POST');
      const get = await request(sim, '/api/reload');
      assert.strictEqual(get.status, 405);
      assert.strictEqual(get.headers.get('allow'), 'POST');
    });

    it('HEAD on a GET route is 405', async function () {
      const r = await request(sim, '/api/ready', { method: 'HEAD' });
      assert.strictEqual(r.status, 405);
      assert.strictEqual(r.headers.get('allow'), 'GET');
    });

    it('404 {"detail":"Not Found"} for an unknown path', async function () {
      const r = await request(sim, '/api/nothing-here');
      assert.strictEqual(r.status, 404);
      assert.deepStrictEqual(r.json(), { detail: 'Not Found' });
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
    });

    it('POST /api/previewvoice without the slash redirects (307) to an absolute URL from the Host header', async function () {
      const r = await rawRequest(`${sim.url}/api/previewvoice`, {
        method: 'POST',
        headers: { host: 'example.test:9999', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'voice=female_01.wav',
      });
      assert.strictEqual(r.status, 307);
      assert.strictEqual(r.headers.location, 'http://example.test:9999/api/previewvoice/');
      assert.strictEqual(sim.generations.length, 0);
      // fetch follows a 307 with the same method and body: the preview is then generated.
      const followed = await fetch(`${sim.url}/api/previewvoice`, { method: 'POST', body: new URLSearchParams({ voice: 'female_01.wav' }) });
      assert.strictEqual(followed.status, 200);
      assert.strictEqual((await followed.json()).output_file_url, '/audio/api_preview_voice.wav');
    });

    it('a trailing slash on another route redirects the other way', async function () {
      const r = await request(sim, '/api/ready/?x=1');
      assert.strictEqual(r.status, 307);
      assert.strictEqual(r.headers.get('location'), `http://127.0.0.1:${sim.port}/api/ready?x=1`);
    });

    it('sends CORS headers to browsers, answers preflights, and leaves them off E3 replies', async function () {
      const simple = await request(sim, '/api/ready', { headers: { origin: 'http://editor.test' } });
      assert.strictEqual(simple.headers.get('access-control-allow-origin'), '*');
      assert.strictEqual(simple.headers.get('access-control-allow-credentials'), 'true');
      const pre = await request(sim, '/api/tts-generate', {
        method: 'OPTIONS',
        headers: { origin: 'http://editor.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-custom' },
      });
      assert.strictEqual(pre.status, 200);
      assert.strictEqual(pre.text, 'OK');
      assert.strictEqual(pre.headers.get('access-control-allow-origin'), 'http://editor.test');
      assert.strictEqual(pre.headers.get('access-control-allow-headers'), 'x-custom');
      assert.strictEqual(pre.headers.get('access-control-max-age'), '600');
      const e3 = await request(sim, '/api/reload?tts_method=nope', { method: 'POST', headers: { origin: 'http://editor.test' } });
      assert.strictEqual(e3.status, 500);
      assert.strictEqual(e3.headers.get('access-control-allow-origin'), null);
      const plain = await request(sim, '/api/ready');
      assert.strictEqual(plain.headers.get('access-control-allow-origin'), null);
    });

    it('serves /settings-json, /openapi.json (without /api/reload) and the HTML pages', async function () {
      const cfg = (await request(sim, '/settings-json')).json();
      assert.strictEqual(cfg.api_def.api_max_characters, 2000);
      assert.strictEqual(cfg.api_def.api_use_legacy_api, false);
      assert.strictEqual(cfg.rvc_settings.rvc_enabled, true);
      const schema = (await request(sim, '/openapi.json')).json();
      assert.ok(schema.paths['/api/tts-generate']);
      assert.strictEqual(schema.paths['/api/reload'], undefined);
      const docs = await request(sim, '/docs');
      assert.match(docs.headers.get('content-type'), /^text\/html/);
      const home = await request(sim, '/');
      assert.match(home.text, /AllTalk/);
      const missing = await request(sim, '/static/nothing.js');
      assert.strictEqual(missing.status, 404);
      const srt = await request(sim, '/api/srt-generation');
      assert.strictEqual(srt.status, 500);
      assert.deepStrictEqual(srt.json(), { detail: '404: TTS list file not found' });
    });
  });
});
