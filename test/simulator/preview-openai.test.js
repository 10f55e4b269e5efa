'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { parseWav } = require('../../dist/api/wav');
const { startSim, stopAll, request, postForm, postJson } = require('./helpers');

const lastGeneration = (sim) => sim.generations[sim.generations.length - 1];

describe('simulator: preview and OpenAI routes', function () {
  let sim;
  before(async function () {
    sim = await startSim();
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  describe('POST /api/previewvoice/', function () {
    it('always writes api_preview_voice.wav; relative URL; no cache URL; fixed sentence in English', async function () {
      const r = await postForm(sim, '/api/previewvoice/', { voice: 'female_01.wav' });
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(r.json(), {
        status: 'generate-success',
        output_file_path: path.join(sim.outputDir, 'api_preview_voice.wav'),
        output_file_url: '/audio/api_preview_voice.wav',
      });
      const g = lastGeneration(sim);
      assert.strictEqual(g.params.text, 'Hello, this is a preview of voice female 01.');
      assert.strictEqual(g.params.language, 'en');
      assert.strictEqual(parseWav(fs.readFileSync(g.outputFile)).sampleRate, 24000);
    });

    it('stays relative in legacy mode', async function () {
      const legacy = await startSim({ legacyApi: { ip: '192.168.1.9' } });
      const r = await postForm(legacy, '/api/previewvoice/', { voice: 'male_01.wav' });
      assert.strictEqual(r.json().output_file_url, '/audio/api_preview_voice.wav');
    });

    it('E1 422 without a voice', async function () {
      const r = await postForm(sim, '/api/previewvoice/', { rvccharacter_voice_gen: 'Disabled' });
      assert.strictEqual(r.status, 422);
      assert.deepStrictEqual(r.json().detail[0].loc, ['body', 'voice']);
    });

    it('E4 404 for an RVC model that does not exist; an existing one works', async function () {
      const missing = await postForm(sim, '/api/previewvoice/', { voice: 'female_01.wav', rvccharacter_voice_gen: 'Nobody/none.pth' });
      assert.strictEqual(missing.status, 404);
      assert.match(missing.json().error, /^File not found: RVC model not found: .*models[\\/]rvc_voices[\\/]Nobody[\\/]none\.pth$/);
      const ok = await postForm(sim, '/api/previewvoice/', { voice: 'female_01.wav', rvccharacter_voice_gen: 'Amy/amy.pth', rvccharacter_pitch: '3' });
      assert.strictEqual(ok.status, 200);
      assert.strictEqual(lastGeneration(sim).params.rvccharacter_pitch, 3);
    });

    it('XTTS unknown voice → E4 500; Piper unknown voice → E2 500', async function () {
      const x = await postForm(sim, '/api/previewvoice/', { voice: 'ghost.wav' });
      assert.strictEqual(x.status, 500);
      assert.deepStrictEqual(x.json(), { error: 'An internal runtime error occurred' });
      sim.setProfile('piper');
      const p = await postForm(sim, '/api/previewvoice/', { voice: 'ghost.onnx' });
      assert.strictEqual(p.status, 500);
      assert.deepStrictEqual(p.json(), { detail: 'Model file not found.' });
    });
  });

  describe('POST /v1/audio/speech', function () {
    const speech = (body, target = sim, init) => postJson(target, '/v1/audio/speech', body, init);
    const valid = { model: 'tts-1', input: 'Hello from the OpenAI route.', voice: 'nova' };

    it('wav (default): the engine native file, audio/wav, attachment output.wav', async function () {
      const r = await speech(valid);
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'audio/wav');
      assert.strictEqual(r.headers.get('content-disposition'), 'attachment; filename="output.wav"');
      assert.strictEqual(r.headers.get('content-length'), String(r.body.length));
      const info = parseWav(r.body);
      assert.strictEqual(info.format, 3);
      assert.strictEqual(info.sampleRate, 24000);
      const g = lastGeneration(sim);
      assert.strictEqual(g.params.mapped_voice, sim.openaiVoiceMap.nova);
      assert.strictEqual(g.params.language, 'auto');
      assert.match(path.basename(g.outputFile), /^openai_output_[0-9a-f-]{36}_\d{10}\.wav$/);
    });

    it('Piper wav is 22.05 kHz 16-bit', async function () {
      const piper = await startSim({ profile: 'piper' });
      const r = await speech(valid, piper);
      assert.strictEqual(parseWav(r.body).sampleRate, 22050);
    });

    const signatures = [
      ['mp3', (b) => b.toString('latin1', 0, 3) === 'ID3' && b[10] === 0xff && (b[11] & 0xe0) === 0xe0],
      ['opus', (b) => b.toString('ascii', 0, 4) === 'OggS' && b.includes(Buffer.from('OpusHead'))],
      ['ogg', (b) => b.toString('ascii', 0, 4) === 'OggS' && b.includes(Buffer.from('vorbis'))],
      ['flac', (b) => b.toString('ascii', 0, 4) === 'fLaC'],
      ['aac', (b) => b[0] === 0xff && b[1] === 0xf1],
      ['m4a', (b) => b[0] === 0xff && b[1] === 0xf1],
    ];
    for (const [format, check] of signatures) {
      it(`${format}: audio/${format}, attachment output.${format}, a body with the right signature`, async function () {
        const r = await speech({ ...valid, response_format: format.toUpperCase() });
        assert.strictEqual(r.status, 200);
        assert.strictEqual(r.headers.get('content-type'), `audio/${format}`);
        assert.strictEqual(r.headers.get('content-disposition'), `attachment; filename="output.${format}"`);
        assert.ok(check(r.body), `signature of ${format}`);
      });
    }

    it('writes the files it produced into the output folder (ogg as .vorbis)', async function () {
      await speech({ ...valid, response_format: 'ogg' });
      const files = fs.readdirSync(sim.outputDir).filter((f) => f.startsWith('openai_output_'));
      assert.ok(files.some((f) => f.endsWith('.vorbis')));
    });

    it('the Content-Type of the request is not checked', async function () {
      const r = await request(sim, '/v1/audio/speech', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(valid) });
      assert.strictEqual(r.status, 200);
    });

    it('speed is passed as sent (above 2.0 too) and shortens the audio', async function () {
      const normal = parseWav((await speech(valid)).body).duration;
      const fast = parseWav((await speech({ ...valid, speed: 4 })).body).duration;
      assert.strictEqual(lastGeneration(sim).params.speed, 4);
      assert.ok(fast < normal / 2);
    });

    const broken = [
      ['a voice in the wrong case', { ...valid, voice: 'Nova' }],
      ['an unknown voice', { ...valid, voice: 'robot' }],
      ['a missing model', { input: 'Hello', voice: 'nova' }],
      ['a missing input', { model: 'x', voice: 'nova' }],
      ['speed 5', { ...valid, speed: 5 }],
      ['speed 0.1', { ...valid, speed: 0.1 }],
      ['input over 4096 characters', { ...valid, input: 'a'.repeat(4097) }],
      ['pcm', { ...valid, response_format: 'pcm' }],
      ['a body that is not JSON', 'model=x&input=hi'],
      ['a JSON list', [valid]],
    ];
    for (const [what, body] of broken) {
      it(`real mode: ${what} → E3 500 text/plain`, async function () {
        const r = await speech(body);
        assert.strictEqual(r.status, 500);
        assert.strictEqual(r.text, 'Internal Server Error');
        assert.strictEqual(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      });
    }

    it('pcm is rejected only after generation (a stray wav is left behind)', async function () {
      await speech({ ...valid, response_format: 'pcm' });
      const g = lastGeneration(sim);
      assert.strictEqual(g.outcome, 'error');
      assert.ok(fs.existsSync(g.outputFile));
    });

    it('a mapped voice that does not exist: Piper E2 500 "Model file not found."; XTTS E3', async function () {
      const piper = await startSim({ profile: 'piper' });
      piper.openaiVoiceMap.nova = 'missing.onnx';
      const p = await speech(valid, piper);
      assert.strictEqual(p.status, 500);
      assert.deepStrictEqual(p.json(), { detail: 'Model file not found.' });
      sim.openaiVoiceMap.nova = 'missing.wav';
      const x = await speech(valid);
      assert.strictEqual(x.status, 500);
      assert.strictEqual(x.text, 'Internal Server Error');
    });
  });

  describe('PUT /api/openai-voicemap', function () {
    const mapping = {
      alloy: 'female_01.wav',
      echo: 'male_01.wav',
      fable: 'female_02.wav',
      nova: 'male_03.wav',
      onyx: 'male_02.wav',
      shimmer: 'female_03.wav',
    };
    const put = (body, headers = { 'content-type': 'application/json' }) =>
      request(sim, '/api/openai-voicemap', { method: 'PUT', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

    it('updates the mapping used by /v1/audio/speech', async function () {
      const r = await put(mapping);
      assert.strictEqual(r.status, 200);
      assert.deepStrictEqual(r.json(), { message: 'OpenAI voice mappings updated successfully' });
      assert.deepStrictEqual(sim.openaiVoiceMap, mapping);
      await postJson(sim, '/v1/audio/speech', { model: 'x', input: 'Hello there', voice: 'nova' });
      assert.strictEqual(lastGeneration(sim).params.mapped_voice, 'male_03.wav');
    });

    it('does not check the names against the voice list', async function () {
      assert.strictEqual((await put({ ...mapping, alloy: 'anything.wav' })).status, 200);
    });

    it('E1 422 listing each missing key', async function () {
      const r = await put({ alloy: 'a.wav', echo: 'b.wav' });
      assert.strictEqual(r.status, 422);
      assert.deepStrictEqual(r.json().detail.map((d) => [d.type, ...d.loc]), [
        ['missing', 'body', 'fable'],
        ['missing', 'body', 'nova'],
        ['missing', 'body', 'onyx'],
        ['missing', 'body', 'shimmer'],
      ]);
      assert.strictEqual(sim.openaiVoiceMap.alloy, 'female_01.wav', 'unchanged');
    });

    it('E1 422 for a form body, a non-string value or an empty body', async function () {
      const form = await put(new URLSearchParams(mapping).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
      assert.strictEqual(form.status, 422);
      assert.strictEqual(form.json().detail[0].type, 'model_attributes_type');
      const number = await put({ ...mapping, onyx: 5 });
      assert.deepStrictEqual(number.json().detail[0].loc, ['body', 'onyx']);
      const empty = await request(sim, '/api/openai-voicemap', { method: 'PUT' });
      assert.strictEqual(empty.status, 422);
    });

    it('GET does not exist (405)', async function () {
      assert.strictEqual((await request(sim, '/api/openai-voicemap')).status, 405);
    });
  });
});
