'use strict';
const assert = require('assert');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startSim, stopAll, request, postForm, postJson, until } = require('./helpers');

const post = (sim, path) => request(sim, path, { method: 'POST' });

describe('simulator: documented mode', function () {
  let sim;
  before(async function () {
    sim = await startSim({ mode: 'documented' });
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  it('/api/rvcvoices uses the key voices and folder\\voice.pth entries', async function () {
    const body = (await request(sim, '/api/rvcvoices')).json();
    assert.strictEqual(body.rvcvoices, undefined);
    assert.strictEqual(body.voices[0], 'Disabled');
    assert.ok(body.voices.includes('Amy\\amy.pth'));
  });

  it('an RVC name written with backslashes (as in the documentation) is accepted', async function () {
    const r = await postForm(sim, '/api/tts-generate', { text_input: 'Hello there', rvccharacter_voice_gen: 'Amy\\amy.pth' });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(sim.generations[0].params.rvc_applied, true);
  });

  it('/api/ready answers Unloaded while a model reloads, Ready afterwards', async function () {
    const release = sim.holdEngine();
    const reload = post(sim, '/api/reload?tts_method=' + encodeURIComponent('xtts - xttsv2_2.0.2'));
    await until(() => sim.engine.loadingModel > 0);
    const during = await request(sim, '/api/ready');
    assert.strictEqual(during.text, 'Unloaded');
    assert.strictEqual(during.headers.get('content-type'), null);
    release();
    assert.deepStrictEqual((await reload).json(), { status: 'model-success' });
    assert.strictEqual((await request(sim, '/api/ready')).text, 'Ready');
  });

  it('start-up: the socket is open and /api/ready says Unloaded until the engine has loaded', async function () {
    const starting = new AllTalkSimulator({ mode: 'documented', startupMs: 5, msPerChar: 0, minGenerationMs: 1 });
    try {
      const release = starting.holdEngine();
      await starting.start();
      assert.strictEqual(starting.listening, true);
      assert.strictEqual(await (await fetch(`${starting.url}/api/ready`)).text(), 'Unloaded');
      const voices = fetch(`${starting.url}/api/voices`).then((r) => r.json());
      await until(() => starting.engine.gate.waiting === 1);
      assert.strictEqual(starting.requests[1].startedAt, undefined, 'other routes wait for the load');
      release();
      assert.strictEqual((await voices).status, 'success');
      assert.strictEqual(await (await fetch(`${starting.url}/api/ready`)).text(), 'Ready');
    } finally {
      await starting.stop();
    }
  });

  it('/api/reload with an unknown or missing model answers 200 model-failure', async function () {
    for (const path of ['/api/reload?tts_method=nope', '/api/reload']) {
      const r = await post(sim, path);
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(r.json(), { status: 'model-failure' });
    }
  });

  it('/api/deepspeed and /api/lowvramsetting send JSON with a Content-Type and the documented statuses', async function () {
    const same = await post(sim, '/api/deepspeed?new_deepspeed_value=true');
    assert.strictEqual(same.headers.get('content-type'), 'application/json');
    assert.deepStrictEqual(same.json(), { status: 'deepspeed-success' });
    const change = await post(sim, '/api/deepspeed?new_deepspeed_value=false');
    assert.deepStrictEqual(change.json(), { status: 'deepspeed-success' });
    assert.strictEqual(sim.settings.deepspeed_enabled, false);
    const low = await post(sim, '/api/lowvramsetting?new_low_vram_value=true');
    assert.strictEqual(low.headers.get('content-type'), 'application/json');
    assert.deepStrictEqual(low.json(), { status: 'lowvram-success' });
    assert.strictEqual((await post(sim, '/api/deepspeed?new_deepspeed_value=perhaps')).status, 422);
  });

  describe('/api/tts-generate failures are {"status":"generate-failure","error":...}', function () {
    it('validation (400), keeping the status code', async function () {
      const r = await postForm(sim, '/api/tts-generate', { text_input: 'Hello', language: 'xx' });
      assert.strictEqual(r.status, 400);
      assert.strictEqual(r.json().status, 'generate-failure');
      assert.match(r.json().error, /^language: language needs to be one of the following/);
    });

    it('missing text (422)', async function () {
      const r = await postForm(sim, '/api/tts-generate', { language: 'en' });
      assert.strictEqual(r.status, 422);
      assert.deepStrictEqual(r.json(), { status: 'generate-failure', error: 'text_input: Field required' });
    });

    it('engine errors (Piper unknown voice, 500)', async function () {
      sim.setProfile('piper');
      const r = await postForm(sim, '/api/tts-generate', { text_input: 'Hello', character_voice_gen: 'ghost.onnx' });
      assert.strictEqual(r.status, 500);
      assert.deepStrictEqual(r.json(), { status: 'generate-failure', error: 'Model file not found.' });
    });

    it('the RVC pitch range −24..24 is enforced', async function () {
      const r = await postForm(sim, '/api/tts-generate', { text_input: 'Hello', rvccharacter_pitch: '30' });
      assert.strictEqual(r.status, 400);
      assert.deepStrictEqual(r.json(), {
        status: 'generate-failure',
        error: 'rvccharacter_pitch: RVC Character pitch needs to be a number between -24 and 24',
      });
      assert.strictEqual((await postForm(sim, '/api/tts-generate', { text_input: 'Hello', rvccharacter_pitch: '-24' })).status, 200);
    });
  });

  it('/api/voices answers success even for an engine that is not multivoice', async function () {
    sim.settings.multivoice_capable = false;
    const body = (await request(sim, '/api/voices')).json();
    assert.strictEqual(body.status, 'success');
    assert.ok(Array.isArray(body.voices));
  });

  describe('/v1/audio/speech gives readable errors', function () {
    it('400 {"error":"Invalid value: ..."} for a failed validation', async function () {
      const r = await postJson(sim, '/v1/audio/speech', { model: 'x', input: 'Hello', voice: 'Nova', speed: 9 });
      assert.strictEqual(r.status, 400);
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      const error = r.json().error;
      assert.match(error, /^Invalid value: Error in field 'voice': Value error, Voice must be one of/);
      assert.match(error, /Error in field 'speed': Input should be less than or equal to 4/);
    });

    it('400 for pcm and for a body that is not JSON', async function () {
      const pcm = await postJson(sim, '/v1/audio/speech', { model: 'x', input: 'Hello', voice: 'nova', response_format: 'pcm' });
      assert.strictEqual(pcm.status, 400);
      assert.deepStrictEqual(pcm.json(), { error: 'Invalid value: Unsupported format: pcm' });
      const text = await postJson(sim, '/v1/audio/speech', 'not json');
      assert.strictEqual(text.status, 400);
      assert.match(text.json().error, /^Invalid value:/);
    });

    it('500 {"error":"An internal runtime error occurred"} when XTTS generation fails', async function () {
      sim.openaiVoiceMap.nova = 'missing.wav';
      const r = await postJson(sim, '/v1/audio/speech', { model: 'x', input: 'Hello', voice: 'nova' });
      assert.strictEqual(r.status, 500);
      assert.deepStrictEqual(r.json(), { error: 'An internal runtime error occurred' });
    });

    it('success is unchanged', async function () {
      const r = await postJson(sim, '/v1/audio/speech', { model: 'x', input: 'Hello', voice: 'nova' });
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'audio/wav');
    });
  });

  it('keeps the real behaviour where the documentation is silent', async function () {
    assert.strictEqual((await request(sim, '/api/reload_config')).headers.get('content-type'), null);
    assert.strictEqual((await post(sim, '/api/enginereload?engine=piper')).status, 500);
    const stream = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hi there', voice: 'female_01.wav', language: 'en', output_file: 's.wav' });
    assert.deepStrictEqual(stream.json(), { output_file_path: 's.wav' });
  });

  it('the mode can be switched at run time', async function () {
    sim.mode = 'real';
    assert.ok((await request(sim, '/api/rvcvoices')).json().rvcvoices);
    sim.mode = 'documented';
    assert.ok((await request(sim, '/api/rvcvoices')).json().voices);
    assert.throws(() => {
      sim.mode = 'imaginary';
    }, RangeError);
  });
});
