'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { parseWav } = require('../../dist/api/wav');
const { startSim, stopAll, request, postForm, postJson, multipart, riffChunkIds } = require('./helpers');

const lastGeneration = (sim) => sim.generations[sim.generations.length - 1];

describe('simulator: POST /api/tts-generate', function () {
  let sim;
  before(async function () {
    sim = await startSim();
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  const generate = (fields, target = sim) => postForm(target, '/api/tts-generate', fields);

  describe('transports', function () {
    it('form-urlencoded: success body with absolute path and relative URLs', async function () {
      const r = await generate({ text_input: 'Hello there, this is a test.' });
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      const body = r.json();
      assert.deepStrictEqual(Object.keys(body), ['status', 'output_file_path', 'output_file_url', 'output_cache_url']);
      assert.strictEqual(body.status, 'generate-success');
      assert.match(body.output_file_url, /^\/audio\/myoutputfile_\d{10}[0-9a-f]{5}\.wav$/);
      assert.strictEqual(body.output_cache_url, body.output_file_url.replace('/audio/', '/audiocache/'));
      assert.ok(path.isAbsolute(body.output_file_path));
      assert.strictEqual(body.output_file_path, path.join(sim.outputDir, path.basename(body.output_file_url)));
      assert.ok(fs.existsSync(body.output_file_path));
    });

    it('multipart/form-data works the same and its fields are used', async function () {
      const m = multipart({ text_input: 'Multipart text here', character_voice_gen: 'male_02.wav', output_file_name: 'multi' });
      const r = await request(sim, '/api/tts-generate', { method: 'POST', headers: { 'content-type': m.contentType }, body: m.body });
      assert.strictEqual(r.status, 200);
      assert.match(r.json().output_file_url, /^\/audio\/multi_\d{10}[0-9a-f]{5}\.wav$/);
      assert.strictEqual(lastGeneration(sim).params.character_voice_gen, 'male_02.wav');
      assert.strictEqual(sim.requests[sim.requests.length - 1].form.text_input, 'Multipart text here');
    });

    it('a JSON body or a query string gives E1 422 "text_input Field required"', async function () {
      const expected = { detail: [{ type: 'missing', loc: ['body', 'text_input'], msg: 'Field required', input: null }] };
      const json = await postJson(sim, '/api/tts-generate', { text_input: 'Hello' });
      assert.strictEqual(json.status, 422);
      assert.deepStrictEqual(json.json(), expected);
      const query = await request(sim, '/api/tts-generate?text_input=Hello', { method: 'POST' });
      assert.strictEqual(query.status, 422);
      assert.deepStrictEqual(query.json(), expected);
      assert.strictEqual(sim.generations.length, 0);
    });

    it('GET is 405', async function () {
      const r = await request(sim, '/api/tts-generate');
      assert.strictEqual(r.status, 405);
    });
  });

  describe('parameter parsing', function () {
    it('an empty field counts as not sent: required → 422, optional → server default', async function () {
      const empty = await generate({ text_input: '' });
      assert.strictEqual(empty.status, 422);
      assert.deepStrictEqual(empty.json().detail[0].loc, ['body', 'text_input']);
      const defaults = await generate({ text_input: 'Hello world', language: '', speed: '', character_voice_gen: '' });
      assert.strictEqual(defaults.status, 200);
      const p = lastGeneration(sim).params;
      assert.strictEqual(p.language, 'en');
      assert.strictEqual(p.speed, 1);
      assert.strictEqual(p.character_voice_gen, 'female_01.wav');
    });

    it('unparsable numbers and booleans give E1 422 listing each field', async function () {
      const r = await generate({ text_input: 'Hello', speed: 'fast', autoplay: 'maybe', temperature: '0,5' });
      assert.strictEqual(r.status, 422);
      const detail = r.json().detail;
      assert.deepStrictEqual(
        detail.map((d) => [d.type, d.loc[1], d.input]),
        [
          ['bool_parsing', 'autoplay', 'maybe'],
          ['float_parsing', 'speed', 'fast'],
          ['float_parsing', 'temperature', '0,5'],
        ],
      );
      assert.strictEqual(detail[1].msg, 'Input should be a valid number, unable to parse string as a number');
    });

    it('pydantic booleans: No / OFF / f turn the timestamp off', async function () {
      for (const word of ['No', 'OFF', 'f', '0']) {
        const r = await generate({ text_input: 'Hello there', output_file_name: 'plain', output_file_timestamp: word });
        assert.strictEqual(r.json().output_file_url, '/audio/plain.wav', word);
      }
    });

    it('streaming is parsed (bad value → 422) and then ignored (still JSON)', async function () {
      assert.strictEqual((await generate({ text_input: 'Hello', streaming: 'perhaps' })).status, 422);
      const r = await generate({ text_input: 'Hello there', streaming: 'true' });
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      assert.strictEqual(r.json().status, 'generate-success');
    });

    it('autoplay is accepted and otherwise ignored', async function () {
      const r = await generate({ text_input: 'Hello there', autoplay: 'true', autoplay_volume: '0.8' });
      assert.strictEqual(r.status, 200);
      assert.strictEqual(lastGeneration(sim).params.autoplay, true);
    });

    it('false and 0 sent by the client are kept (not replaced by defaults)', async function () {
      await generate({ text_input: 'Hello there', pitch: '0', output_file_timestamp: 'false', rvccharacter_pitch: '0' });
      const p = lastGeneration(sim).params;
      assert.strictEqual(p.pitch, 0);
      assert.strictEqual(p.output_file_timestamp, false);
    });
  });

  describe('validation (E4 400 {"error": "field: description"})', function () {
    const cases = [
      ['text_filtering', 'bad', "text_filtering: text_filtering needs to be 'none', 'standard' or 'html'."],
      ['character_voice_gen', 'a<b.wav', 'character_voice_gen: character_voice_gen needs to be the name of a valid voice for the loaded TTS engine.'],
      ['narrator_enabled', 'True', "narrator_enabled: narrator_enabled needs to be 'true', 'false' or 'silent'."],
      ['narrator_voice_gen', 'a|b', 'narrator_voice_gen: character_voice_gen needs to be the name of a valid voice for the loaded TTS engine.'],
      ['text_not_inside', 'both', "text_not_inside: text_not_inside needs to be 'character', 'narrator' or 'silent'."],
      ['language', 'xx', 'language: language needs to be one of the following: auto, ar, zh-cn, zh, cs, nl, en, fr, de, hu, hi, it, ja, ko, pl, pt, ru, es, tr.'],
      ['output_file_name', 'my-file', "output_file_name: output_file_name needs to be the name without any special characters or file extension, e.g., 'filename'."],
      ['output_file_name', 'name.wav', "output_file_name: output_file_name needs to be the name without any special characters or file extension, e.g., 'filename'."],
      ['autoplay_volume', '0', 'autoplay_volume: autoplay_volume needs to be from 0.1 to 1.0.'],
      ['speed', '2.5', 'speed: speed needs to be between 0.25 and 2.0.'],
      ['pitch', '11', 'pitch: pitch needs to be between -10 and 10.'],
      ['temperature', '1.5', 'temperature: temperature needs to be between 0.1 and 1.0.'],
      ['repetition_penalty', '0.5', 'repetition_penalty: repetition_penalty needs to be between 1.0 and 20.0.'],
    ];
    for (const [field, value, line] of cases) {
      it(`${field}=${value}`, async function () {
        const r = await generate({ text_input: 'Hello there', [field]: value });
        assert.strictEqual(r.status, 400);
        assert.strictEqual(r.headers.get('content-type'), 'application/json');
        assert.deepStrictEqual(r.json(), { error: line });
        assert.strictEqual(sim.generations.length, 0);
      });
    }

    it('text longer than api_max_characters', async function () {
      const small = await startSim({ maxCharacters: 10 });
      const r = await generate({ text_input: 'x'.repeat(11) }, small);
      assert.deepStrictEqual(r.json(), { error: 'text_input: text_input needs to be 10 characters or less.' });
      assert.strictEqual((await generate({ text_input: 'ä'.repeat(10) }, small)).status, 200, 'counts characters, not bytes');
    });

    it('several failing fields: one line each, in model order', async function () {
      const r = await generate({ text_input: 'Hello', temperature: '3', language: 'xx', text_filtering: 'x' });
      assert.deepStrictEqual(r.json().error.split('\n').map((l) => l.split(':')[0]), ['text_filtering', 'language', 'temperature']);
    });

    it('the merged server defaults are validated too', async function () {
      sim.settings.temperature_set = 5;
      const r = await generate({ text_input: 'Hello there' });
      assert.deepStrictEqual(r.json(), { error: 'temperature: temperature needs to be between 0.1 and 1.0.' });
      assert.strictEqual((await generate({ text_input: 'Hello there', temperature: '0.7' })).status, 200);
    });

    it('RVC voice and pitch are not validated (real server)', async function () {
      const r = await generate({ text_input: 'Hello there', rvccharacter_pitch: '100', rvccharacter_voice_gen: 'nothing/here.pth' });
      assert.strictEqual(r.status, 200);
      assert.strictEqual(lastGeneration(sim).params.rvc_applied, false);
      await generate({ text_input: 'Hello there', rvccharacter_voice_gen: 'Amy/amy.pth' });
      assert.strictEqual(lastGeneration(sim).params.rvc_applied, true);
    });
  });

  describe('audio files', function () {
    it('XTTS writes 32-bit float 24 kHz mono with a fact chunk before data', async function () {
      const body = (await generate({ text_input: 'Hello there, how are you today?' })).json();
      const file = fs.readFileSync(body.output_file_path);
      const info = parseWav(file);
      assert.strictEqual(info.format, 3);
      assert.strictEqual(info.sampleRate, 24000);
      assert.strictEqual(info.channels, 1);
      assert.strictEqual(info.bitsPerSample, 32);
      assert.ok(info.dataOffset > 44, `data at ${info.dataOffset}`);
      assert.deepStrictEqual(riffChunkIds(file), ['fmt ', 'fact', 'data']);
      assert.ok(info.duration > 0.2);
    });

    it('Piper writes 16-bit PCM at 22050 Hz', async function () {
      const piper = await startSim({ profile: 'piper' });
      const body = (await generate({ text_input: 'Hello from piper' }, piper)).json();
      const info = parseWav(fs.readFileSync(body.output_file_path));
      assert.strictEqual(info.format, 1);
      assert.strictEqual(info.sampleRate, 22050);
      assert.strictEqual(info.bitsPerSample, 16);
      assert.strictEqual(info.dataOffset, 44);
    });

    it('the audio gets longer with the text, and shorter with speed', async function () {
      const duration = async (fields) => parseWav(fs.readFileSync((await generate(fields)).json().output_file_path)).duration;
      const short = await duration({ text_input: 'Hi there' });
      const long = await duration({ text_input: 'Hi there, this sentence is a good deal longer than the first one.' });
      const fast = await duration({ text_input: 'Hi there, this sentence is a good deal longer than the first one.', speed: '2' });
      assert.ok(long > short * 3, `${long} vs ${short}`);
      assert.ok(fast < long * 0.6, `${fast} vs ${long}`);
      assert.ok(short >= 0.2);
    });

    it('espeak: true speaks with espeak-ng when installed (falls back to the synthetic voice otherwise)', async function () {
      const spoken = await startSim({ espeak: true });
      const duration = async (text) => parseWav(fs.readFileSync((await generate({ text_input: text }, spoken)).json().output_file_path)).duration;
      const short = await duration('Hello.');
      const long = await duration('Hello there, this is a considerably longer sentence to speak aloud.');
      assert.ok(long > short * 2, `${long} vs ${short}`);
    });

    it('the audio is not silent', async function () {
      const body = (await generate({ text_input: 'Hello there' })).json();
      const { samples } = require('../../dist/api/wav').decodeWav(fs.readFileSync(body.output_file_path));
      const peak = samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
      assert.ok(peak > 0.1);
    });

    it('without a timestamp the name is <name>.wav and a second request overwrites it', async function () {
      const a = (await generate({ text_input: 'First text', output_file_name: 'same', output_file_timestamp: 'false' })).json();
      const sizeA = fs.statSync(a.output_file_path).size;
      const b = (await generate({ text_input: 'A much longer second text to overwrite it', output_file_name: 'same', output_file_timestamp: 'false' })).json();
      assert.strictEqual(a.output_file_url, '/audio/same.wav');
      assert.strictEqual(b.output_file_url, '/audio/same.wav');
      assert.ok(fs.statSync(b.output_file_path).size > sizeA);
    });

    it('legacy API: absolute URLs with the legacy IP and the port', async function () {
      const legacy = await startSim({ legacyApi: { ip: '10.1.2.3' } });
      const body = (await generate({ text_input: 'Hello there' }, legacy)).json();
      assert.match(body.output_file_url, new RegExp(`^http://10\\.1\\.2\\.3:${legacy.port}/audio/myoutputfile_\\d+[0-9a-f]{5}\\.wav$`));
      assert.match(body.output_cache_url, new RegExp(`^http://10\\.1\\.2\\.3:${legacy.port}/audiocache/`));
    });
  });

  describe('text filtering and language', function () {
    it('standard: collapses !!!, drops disallowed characters, newlines become spaces', async function () {
      await generate({ text_input: 'Wow!!! Great???\nNext line <b>bold</b> #tag ~ok', text_filtering: 'standard' });
      assert.strictEqual(lastGeneration(sim).params.cleaned_text, 'Wow! Great? Next line bboldb tag ok');
    });

    it('html: removes asterisks and unescapes entities first', async function () {
      await generate({ text_input: '*smiles* It&#x27;s &quot;fine&quot; &amp; good', text_filtering: 'html' });
      assert.strictEqual(lastGeneration(sim).params.cleaned_text, 'smiles It\'s "fine"  good');
    });

    it('none leaves the text untouched', async function () {
      await generate({ text_input: 'Keep <this> & *that*!!!', text_filtering: 'none' });
      assert.strictEqual(lastGeneration(sim).params.cleaned_text, 'Keep <this> & *that*!!!');
    });

    it('language=auto is detected', async function () {
      await generate({ text_input: 'Der Hund und die Katze sind nicht hier', language: 'auto' });
      assert.strictEqual(lastGeneration(sim).params.resolved_language, 'de');
      await generate({ text_input: 'Привет, как дела?', language: 'auto' });
      assert.strictEqual(lastGeneration(sim).params.resolved_language, 'ru');
    });

    it('language=auto with nothing to detect → E5 400 "Could not detect language"', async function () {
      const r = await generate({ text_input: '12345 !!!', language: 'auto' });
      assert.strictEqual(r.status, 400);
      assert.deepStrictEqual(r.json(), { status: 'generate-failure', error: 'Could not detect language' });
    });
  });

  describe('engine errors', function () {
    it('XTTS, unknown voice → E5 500 "TTS generation failed"', async function () {
      const r = await generate({ text_input: 'Hello there', character_voice_gen: 'nobody.wav' });
      assert.strictEqual(r.status, 500);
      assert.deepStrictEqual(r.json(), { status: 'generate-failure', error: 'TTS generation failed' });
    });

    it('Piper, unknown voice → E2 500 {"detail":"Model file not found."}', async function () {
      const piper = await startSim({ profile: 'piper' });
      const r = await generate({ text_input: 'Hello there', character_voice_gen: 'nobody.onnx' }, piper);
      assert.strictEqual(r.status, 500);
      assert.deepStrictEqual(r.json(), { detail: 'Model file not found.' });
    });
  });

  describe('narrator mode', function () {
    const story = '*The narrator begins the tale.* "I am the hero of this story," he said. Then more text followed. *Ok* "Hi"';

    it('splits narrator, character and other text; skips parts of 3 characters or less', async function () {
      const r = await generate({ text_input: story, narrator_enabled: 'true', narrator_voice_gen: 'male_02.wav', character_voice_gen: 'female_02.wav' });
      assert.strictEqual(r.status, 200);
      const parts = lastGeneration(sim).params.parts;
      assert.deepStrictEqual(
        parts.map((p) => [p.type, p.text, p.voice, p.generated]),
        [
          ['narrator', 'The narrator begins the tale.', 'male_02.wav', true],
          ['character', 'I am the hero of this story,', 'female_02.wav', true],
          ['ambiguous', 'he said. Then more text followed.', 'female_02.wav', true],
          ['narrator', 'Ok', undefined, false],
          ['character', 'Hi', undefined, false],
        ],
      );
    });

    it('combines the parts into a 16-bit 44.1 kHz file named <name>_<unix>_combined.wav', async function () {
      const body = (await generate({ text_input: story, narrator_enabled: 'true', output_file_name: 'tale' })).json();
      assert.match(body.output_file_url, /^\/audio\/tale_\d{10}_combined\.wav$/);
      const info = parseWav(fs.readFileSync(body.output_file_path));
      assert.strictEqual(info.format, 1);
      assert.strictEqual(info.sampleRate, 44100);
      assert.strictEqual(info.bitsPerSample, 16);
      assert.ok(info.duration > 1);
    });

    it('without a timestamp the file is <name>_combined.wav', async function () {
      const body = (await generate({ text_input: story, narrator_enabled: 'true', output_file_name: 'tale', output_file_timestamp: 'false' })).json();
      assert.strictEqual(body.output_file_url, '/audio/tale_combined.wav');
    });

    it('narrator_enabled=silent skips the narrator; text_not_inside routes the rest', async function () {
      await generate({ text_input: story, narrator_enabled: 'silent', text_not_inside: 'narrator' });
      const parts = lastGeneration(sim).params.parts;
      assert.strictEqual(parts[0].generated, false, 'narrator part silent');
      assert.strictEqual(parts[1].voice, 'female_01.wav');
      assert.strictEqual(parts[2].voice, 'male_01.wav', 'text not inside goes to the narrator voice');
      await generate({ text_input: story, narrator_enabled: 'true', text_not_inside: 'silent' });
      assert.strictEqual(lastGeneration(sim).params.parts[2].generated, false);
    });

    it('nothing to generate → 200 success pointing to a header-only 44-byte WAV', async function () {
      const body = (await generate({ text_input: 'Hi', narrator_enabled: 'true' })).json();
      assert.strictEqual(body.status, 'generate-success');
      const file = fs.readFileSync(body.output_file_path);
      assert.strictEqual(file.length, 44);
      assert.strictEqual(parseWav(file).sampleRate, 44100);
    });

    it('XTTS: a part with an unknown voice is silently missing; Piper: the request fails with E2', async function () {
      const r = await generate({ text_input: story, narrator_enabled: 'true', narrator_voice_gen: 'ghost.wav' });
      assert.strictEqual(r.status, 200);
      const parts = lastGeneration(sim).params.parts;
      assert.strictEqual(parts[0].generated, false);
      assert.strictEqual(parts[1].generated, true);
      const piper = await startSim({ profile: 'piper' });
      const p = await generate({ text_input: story, narrator_enabled: 'true', narrator_voice_gen: 'ghost.onnx' }, piper);
      assert.strictEqual(p.status, 500);
      assert.deepStrictEqual(p.json(), { detail: 'Model file not found.' });
    });
  });
});
