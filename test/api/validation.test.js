'use strict';
// Unit tests of src/api/rules.ts, validation.ts and the pure parts of errors.ts: the server's
// validation rules, checked on the client before anything is sent.
const assert = require('node:assert/strict');
const api = require('../../dist/api');
const {
  AllTalkError,
  TTS_GENERATE_RULES,
  TTS_GENERATE_FIELDS,
  LANGUAGES,
  OPENAI_VOICES,
  OPENAI_FORMATS,
  DEFAULT_MAX_CHARACTERS,
  OPENAI_MAX_CHARACTERS,
  sanitizeOutputFileName,
  describeRule,
  rulesForEditor,
  validateText,
  validateTtsGenerate,
  validateStreamParams,
  validateOpenAiSpeech,
  validateOpenAiVoiceMap,
  validateLanguage,
  formValue,
  describeValue,
  extractServerMessage,
  isPlaceholderVoice,
} = api;
const { BAD_VALUES, GOOD_VALUES, shown, settingsWith } = require('./fixtures');

function validationErr(fn) {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, 'expected a validation error, nothing was thrown');
  assert.ok(caught instanceof AllTalkError, `expected an AllTalkError, got ${caught && caught.stack}`);
  assert.equal(caught.kind, 'validation');
  return caught;
}

describe('api/rules', () => {
  it('covers every optional form field of /api/tts-generate, and only those', () => {
    assert.deepEqual([...TTS_GENERATE_FIELDS].sort(), [
      'autoplay', 'autoplay_volume', 'character_voice_gen', 'language', 'narrator_enabled', 'narrator_voice_gen',
      'output_file_name', 'output_file_timestamp', 'pitch', 'repetition_penalty', 'rvccharacter_pitch',
      'rvccharacter_voice_gen', 'rvcnarrator_pitch', 'rvcnarrator_voice_gen', 'temperature', 'text_filtering',
      'text_not_inside', 'speed',
    ].sort());
  });

  it('has the server\'s ranges, patterns and values', () => {
    const r = TTS_GENERATE_RULES;
    assert.deepEqual([r.speed.min, r.speed.max], [0.25, 2.0]);
    assert.deepEqual([r.pitch.min, r.pitch.max], [-10, 10]);
    assert.deepEqual([r.temperature.min, r.temperature.max], [0.1, 1.0]);
    assert.deepEqual([r.repetition_penalty.min, r.repetition_penalty.max], [1.0, 20.0]);
    assert.deepEqual([r.autoplay_volume.min, r.autoplay_volume.max], [0.1, 1.0]);
    assert.deepEqual([r.rvccharacter_pitch.min, r.rvccharacter_pitch.max], [-24, 24]);
    assert.deepEqual([...r.narrator_enabled.values], ['true', 'false', 'silent']);
    assert.deepEqual([...r.text_not_inside.values], ['character', 'narrator', 'silent']);
    assert.deepEqual([...r.text_filtering.values], ['none', 'standard', 'html']);
    assert.ok(LANGUAGES.includes('auto') && LANGUAGES.includes('zh') && LANGUAGES.includes('zh-cn'));
    assert.equal(LANGUAGES.length, 19);
    assert.ok(r.output_file_name.pattern.test('my_file_01'));
    assert.ok(!r.output_file_name.pattern.test('my-file'));
    assert.ok(!r.character_voice_gen.pattern.test('a"b'));
    assert.ok(r.character_voice_gen.pattern.test('voiceset:my folder'));
    assert.equal(DEFAULT_MAX_CHARACTERS, 2000);
  });

  it('describeRule says what is allowed', () => {
    assert.equal(describeRule(TTS_GENERATE_RULES.speed), 'a number from 0.25 to 2');
    assert.equal(describeRule(TTS_GENERATE_RULES.autoplay), 'true or false');
    assert.equal(describeRule(TTS_GENERATE_RULES.narrator_enabled), 'one of true, false, silent');
    assert.equal(describeRule(TTS_GENERATE_RULES.output_file_name), 'letters, digits and _ only');
  });

  it('rulesForEditor is plain JSON and keeps the patterns usable', () => {
    const rules = JSON.parse(JSON.stringify(rulesForEditor()));
    assert.equal(rules.defaultMaxCharacters, 2000);
    assert.equal(rules.openai.maxCharacters, 4096);
    assert.deepEqual(rules.openai.voices, [...OPENAI_VOICES]);
    const pattern = new RegExp(rules.ttsGenerate.output_file_name.pattern);
    assert.ok(pattern.test('abc_1') && !pattern.test('a-b'));
    assert.equal(rules.ttsGenerate.speed.allowed, 'a number from 0.25 to 2');
  });

  describe('sanitizeOutputFileName', () => {
    const cases = [
      ['my-file.wav', 'my_file'],
      ['Zoë Café', 'Zoe_Cafe'],
      ['Crème brûlée!', 'Creme_brulee'],
      ['  hello   world  ', 'hello_world'],
      ['__a__b__', 'a_b'],
      ['already_fine_123', 'already_fine_123'],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
        const out = sanitizeOutputFileName(input);
        assert.equal(out, expected);
        assert.ok(TTS_GENERATE_RULES.output_file_name.pattern.test(out));
      });
    }
    it('an empty or unusable name gives the fallback', () => {
      assert.equal(sanitizeOutputFileName(''), 'alltalk');
      assert.equal(sanitizeOutputFileName('---'), 'alltalk');
      assert.equal(sanitizeOutputFileName('日本語'), 'alltalk');
      assert.equal(sanitizeOutputFileName('', 'TTSOUT'), 'TTSOUT');
    });
    it('limits the length to 100 characters', () => {
      assert.equal(sanitizeOutputFileName('a'.repeat(300)).length, 100);
    });
  });
});

describe('api/validation', () => {
  describe('validateText', () => {
    it('keeps strings and converts numbers and booleans', () => {
      assert.equal(validateText('Hello'), 'Hello');
      assert.equal(validateText(42), '42');
      assert.equal(validateText(3.5), '3.5');
      assert.equal(validateText(true), 'true');
      assert.equal(validateText(false), 'false');
    });

    const refused = [
      ['an empty string', '', /empty/],
      ['white space', ' \n\t ', /empty/],
      ['an object', { text: 'hi' }, /an object/],
      ['an array', ['a', 'b'], /an array \(2 items\)/],
      ['a Buffer', Buffer.from('abc'), /a Buffer \(3 bytes\)/],
      ['null', null, /null/],
      ['undefined', undefined, /missing/],
      ['NaN', NaN, /NaN/],
    ];
    for (const [name, value, said] of refused) {
      it(`refuses ${name}, saying what was received`, () => {
        const err = validationErr(() => validateText(value));
        assert.match(err.message, said);
        assert.match(err.message, /Nothing was sent/);
        assert.equal(err.field, 'text');
      });
    }

    it('refuses text over the limit and names both lengths', () => {
      assert.equal(validateText('a'.repeat(2000)).length, 2000);
      const err = validationErr(() => validateText('a'.repeat(2001)));
      assert.match(err.message, /2001/);
      assert.match(err.message, /2000/);
      assert.equal(err.allowed, 'at most 2000 characters');
    });

    it('uses a custom limit and field name', () => {
      assert.equal(validateText('abcde', 5), 'abcde');
      const err = validationErr(() => validateText('abcdef', 5, 'text_input'));
      assert.equal(err.field, 'text_input');
      assert.match(err.message, /at most 5/);
    });

    // The server checks max_length with Python's len(), which counts code points, not the UTF-16
    // units of JavaScript's String.length: 2,000 emoji are 2,000 characters to AllTalk.
    it('counts characters as the server does (code points, not UTF-16 units)', () => {
      const text = '😀'.repeat(DEFAULT_MAX_CHARACTERS);
      assert.equal([...text].length, DEFAULT_MAX_CHARACTERS);
      assert.equal(validateText(text), text);
    });
  });

  describe('validateTtsGenerate: every rule refuses a bad value', () => {
    for (const field of TTS_GENERATE_FIELDS) {
      for (const bad of BAD_VALUES[field]) {
        it(`${field} = ${shown(bad)} is refused, naming the field, the value and what is allowed`, () => {
          const err = validationErr(() => validateTtsGenerate({ text_input: 'Hello', [field]: bad }));
          assert.equal(err.field, field);
          assert.deepEqual(err.value, bad);
          assert.equal(err.allowed, describeRule(TTS_GENERATE_RULES[field]));
          assert.ok(err.message.includes(field), err.message);
          assert.ok(err.message.includes(describeValue(bad)), err.message);
          assert.ok(err.message.includes(err.allowed), err.message);
        });
      }
    }
  });

  describe('validateTtsGenerate: form values', () => {
    it('accepts a good value for every field and turns it into the string the server parses', () => {
      const params = { text_input: 'Hello' };
      const expected = { text_input: 'Hello' };
      for (const field of TTS_GENERATE_FIELDS) {
        params[field] = GOOD_VALUES[field][0];
        expected[field] = GOOD_VALUES[field][1];
      }
      assert.deepEqual(validateTtsGenerate(params), expected);
    });

    it('sends booleans as lowercase words and numbers as strings', () => {
      const form = validateTtsGenerate({
        text_input: 'Hi', output_file_timestamp: true, autoplay: 'FALSE', narrator_enabled: 'True',
        speed: 1.5, repetition_penalty: '10,5', rvccharacter_pitch: -3, temperature: '0.7',
      });
      assert.equal(form.output_file_timestamp, 'true');
      assert.equal(form.autoplay, 'false');
      assert.equal(form.narrator_enabled, 'true');
      assert.equal(form.speed, '1.5');
      assert.equal(form.repetition_penalty, '10.5');
      assert.equal(form.rvccharacter_pitch, '-3');
      assert.equal(form.temperature, '0.7');
      for (const v of Object.values(form)) assert.equal(typeof v, 'string');
    });

    it('narrator_enabled false and 0 values are kept (they are not "unset")', () => {
      const form = validateTtsGenerate({ text_input: 'Hi', narrator_enabled: false, pitch: 0, rvcnarrator_pitch: 0 });
      assert.deepEqual(form, { text_input: 'Hi', narrator_enabled: 'false', pitch: '0', rvcnarrator_pitch: '0' });
    });

    it('leaves out unset fields (undefined, null, blank) so the server uses its defaults', () => {
      const form = validateTtsGenerate({ text_input: 'Hi', language: '', speed: undefined, character_voice_gen: null, temperature: '  ' });
      assert.deepEqual(form, { text_input: 'Hi' });
    });

    it('refuses a field that /api/tts-generate does not have', () => {
      const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', streaming: true }));
      assert.equal(err.field, 'streaming');
      const err2 = validationErr(() => validateTtsGenerate({ text_input: 'Hi', volume: 1 }));
      assert.equal(err2.field, 'volume');
    });

    it('checks text_input with the server limit from the context', () => {
      assert.equal(validateTtsGenerate({ text_input: 'abcd' }, { maxCharacters: 4 }).text_input, 'abcd');
      const err = validationErr(() => validateTtsGenerate({ text_input: 'abcde' }, { maxCharacters: 4 }));
      assert.equal(err.field, 'text_input');
      const err2 = validationErr(() => validateTtsGenerate({ text_input: '' }));
      assert.equal(err2.field, 'text_input');
    });

    it('formValue converts a single field', () => {
      assert.equal(formValue('language', 'ZH-CN'), 'zh-cn');
      assert.equal(formValue('autoplay', false), 'false');
      assert.equal(formValue('autoplay_volume', '0.8'), '0.8');
      assert.equal(validateLanguage('EN'), 'en');
      assert.equal(validationErr(() => validateLanguage('xx')).field, 'language');
    });
  });

  describe('validateTtsGenerate: capabilities of the loaded engine', () => {
    const capabilityFields = TTS_GENERATE_FIELDS.filter((f) => TTS_GENERATE_RULES[f].capability);

    it('every field that needs a capability names its *_capable flag', () => {
      assert.deepEqual(capabilityFields.sort(), [
        'character_voice_gen', 'language', 'narrator_voice_gen', 'pitch', 'repetition_penalty', 'speed', 'temperature',
      ]);
    });

    for (const field of capabilityFields) {
      const flag = TTS_GENERATE_RULES[field].capability;
      it(`${field} is refused when ${flag} is false, and accepted when it is true`, () => {
        const good = GOOD_VALUES[field][0];
        const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', [field]: good }, { settings: settingsWith({ [flag]: false }) }));
        assert.equal(err.field, field);
        assert.match(err.message, new RegExp(flag));
        assert.match(err.message, /piper/, 'names the engine');
        assert.match(err.allowed, new RegExp(flag));
        const form = validateTtsGenerate({ text_input: 'Hi', [field]: good }, { settings: settingsWith({ [flag]: true }) });
        assert.equal(form[field], GOOD_VALUES[field][1]);
      });
    }

    it('pitch is refused on an engine with pitch_capable false (every bundled engine)', () => {
      const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', pitch: 2 }, { settings: settingsWith({ pitch_capable: false }) }));
      assert.equal(err.field, 'pitch');
      assert.equal(err.value, 2);
    });

    it('fields with no capability flag are never refused for capability', () => {
      const settings = settingsWith(Object.fromEntries(api.CAPABILITY_FLAGS.map((f) => [f, false])));
      const form = validateTtsGenerate({ text_input: 'Hi', output_file_name: 'x', autoplay: false, text_filtering: 'none' }, { settings });
      assert.deepEqual(form, { text_input: 'Hi', output_file_name: 'x', autoplay: 'false', text_filtering: 'none' });
    });
  });

  describe('validateTtsGenerate: voice lists', () => {
    const voices = ['female_01.wav', 'male_01.wav', 'voiceset:bob', 'latent:amy.json'];

    it('refuses a character or narrator voice the server does not have, naming the voices', () => {
      for (const field of ['character_voice_gen', 'narrator_voice_gen']) {
        const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', [field]: 'nobody.wav' }, { voices }));
        assert.equal(err.field, field);
        assert.match(err.message, /nobody\.wav/);
        assert.match(err.message, /female_01\.wav/);
      }
    });

    it('accepts listed voices, prefixed ones included', () => {
      const form = validateTtsGenerate({ text_input: 'Hi', character_voice_gen: 'voiceset:bob', narrator_voice_gen: 'latent:amy.json' }, { voices });
      assert.equal(form.character_voice_gen, 'voiceset:bob');
      assert.equal(form.narrator_voice_gen, 'latent:amy.json');
    });

    it('does not check against a list of placeholders only, or an empty list', () => {
      assert.ok(isPlaceholderVoice('No Voices Found'));
      assert.equal(validateTtsGenerate({ text_input: 'Hi', character_voice_gen: 'x.wav' }, { voices: ['No Voices Found'] }).character_voice_gen, 'x.wav');
      assert.equal(validateTtsGenerate({ text_input: 'Hi', character_voice_gen: 'x.wav' }, { voices: [] }).character_voice_gen, 'x.wav');
    });

    it('long voice lists are shortened in the message', () => {
      const many = Array.from({ length: 20 }, (_, i) => `v${i}.wav`);
      const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', character_voice_gen: 'zz.wav' }, { voices: many }));
      assert.match(err.message, /20 in all/);
      assert.doesNotMatch(err.message, /v19\.wav/);
    });
  });

  describe('validateTtsGenerate: RVC voice lists', () => {
    const rvcVoices = ['Disabled', 'folder/voice.pth', 'other/amy.pth'];

    it('refuses an RVC voice the server does not list', () => {
      for (const field of ['rvccharacter_voice_gen', 'rvcnarrator_voice_gen']) {
        const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', [field]: 'nope/x.pth' }, { rvcVoices }));
        assert.equal(err.field, field);
        assert.match(err.message, /nope\/x\.pth/);
        assert.match(err.allowed, /folder\/voice\.pth/);
      }
    });

    it('accepts listed RVC voices, and Disabled always (sent explicitly)', () => {
      const form = validateTtsGenerate({ text_input: 'Hi', rvccharacter_voice_gen: 'folder/voice.pth', rvcnarrator_voice_gen: 'Disabled' }, { rvcVoices });
      assert.equal(form.rvccharacter_voice_gen, 'folder/voice.pth');
      assert.equal(form.rvcnarrator_voice_gen, 'Disabled');
      assert.equal(validateTtsGenerate({ text_input: 'Hi', rvccharacter_voice_gen: 'Disabled' }, { rvcVoices: ['Disabled'] }).rvccharacter_voice_gen, 'Disabled');
    });

    it('explains that RVC is off when the list is only ["Disabled"]', () => {
      const err = validationErr(() => validateTtsGenerate({ text_input: 'Hi', rvccharacter_voice_gen: 'folder/voice.pth' }, { rvcVoices: ['Disabled'] }));
      assert.match(err.message, /RVC is turned off/);
      assert.match(err.message, /folder\/voice\.pth/);
    });
  });

  describe('validateStreamParams', () => {
    it('fills the defaults and keeps the values', () => {
      assert.deepEqual(validateStreamParams({ text: 'Hi', voice: 'female_01.wav' }), {
        text: 'Hi', voice: 'female_01.wav', language: 'en', output_file: 'stream_output',
      });
      assert.equal(validateStreamParams({ text: 'Hi', voice: 'a.wav', language: 'auto', output_file: 'x' }).language, 'auto');
    });

    it('refuses bad text, language and voice', () => {
      assert.equal(validationErr(() => validateStreamParams({ text: '', voice: 'a.wav' })).field, 'text');
      assert.equal(validationErr(() => validateStreamParams({ text: 'Hi', voice: 'a.wav', language: 'klingon' })).field, 'language');
      const err = validationErr(() => validateStreamParams({ text: 'Hi', voice: 'x.wav' }, { voices: ['a.wav'] }));
      assert.equal(err.field, 'voice');
    });

    // The parameter is called `voice` on this route; the error must name that, not the
    // /api/tts-generate field the rule was borrowed from.
    it('a missing or malformed voice is reported as "voice"', () => {
      const missing = validationErr(() => validateStreamParams({ text: 'Hi' }));
      assert.equal(missing.field, 'voice');
      const bad = validationErr(() => validateStreamParams({ text: 'Hi', voice: 'a<b' }));
      assert.equal(bad.field, 'voice');
      assert.match(bad.message, /^voice /);
    });

    it('refuses engines and models that cannot stream', () => {
      const notCapable = validationErr(() => validateStreamParams({ text: 'Hi', voice: 'a.wav' }, { settings: settingsWith({ streaming_capable: false }) }));
      assert.match(notCapable.message, /streaming_capable is false/);
      const apitts = validationErr(() => validateStreamParams({ text: 'Hi', voice: 'a.wav' },
        { settings: settingsWith({ streaming_capable: true, current_model_loaded: 'apitts - xttsv2_2.0.3' }) }));
      assert.match(apitts.message, /apitts - xttsv2_2\.0\.3/);
      assert.equal(validateStreamParams({ text: 'Hi', voice: 'a.wav' },
        { settings: settingsWith({ streaming_capable: true, current_model_loaded: 'xtts - xttsv2_2.0.3' }) }).voice, 'a.wav');
    });
  });

  describe('validateOpenAiSpeech', () => {
    it('fills the defaults', () => {
      assert.deepEqual(validateOpenAiSpeech({ input: 'Hi', voice: 'alloy' }), {
        model: 'tts-1', input: 'Hi', voice: 'alloy', response_format: 'wav', speed: 1,
      });
    });

    it('accepts 4096 characters and refuses 4097', () => {
      assert.equal(OPENAI_MAX_CHARACTERS, 4096);
      assert.equal(validateOpenAiSpeech({ input: 'a'.repeat(4096), voice: 'nova' }).input.length, 4096);
      const err = validationErr(() => validateOpenAiSpeech({ input: 'a'.repeat(4097), voice: 'nova' }));
      assert.equal(err.field, 'input');
      assert.match(err.message, /4096/);
    });

    it('accepts the six voices, case-sensitively', () => {
      for (const voice of OPENAI_VOICES) assert.equal(validateOpenAiSpeech({ input: 'Hi', voice }).voice, voice);
      for (const voice of ['Alloy', 'ECHO', 'ash', '', undefined]) {
        const err = validationErr(() => validateOpenAiSpeech({ input: 'Hi', voice }));
        assert.equal(err.field, 'voice');
        assert.match(err.message, /alloy, echo, fable, nova, onyx, shimmer/);
      }
    });

    it('accepts the server\'s formats (any case) and refuses pcm and others', () => {
      for (const f of OPENAI_FORMATS) assert.equal(validateOpenAiSpeech({ input: 'Hi', voice: 'echo', response_format: f }).response_format, f);
      assert.equal(validateOpenAiSpeech({ input: 'Hi', voice: 'echo', response_format: 'MP3' }).response_format, 'mp3');
      for (const f of ['pcm', 'wma', 'mp4']) {
        const err = validationErr(() => validateOpenAiSpeech({ input: 'Hi', voice: 'echo', response_format: f }));
        assert.equal(err.field, 'response_format');
        assert.match(err.message, new RegExp(`"${f}"`));
      }
    });

    it('speed 0.25 to 4', () => {
      assert.equal(validateOpenAiSpeech({ input: 'Hi', voice: 'echo', speed: 0.25 }).speed, 0.25);
      assert.equal(validateOpenAiSpeech({ input: 'Hi', voice: 'echo', speed: 4 }).speed, 4);
      assert.equal(validateOpenAiSpeech({ input: 'Hi', voice: 'echo', speed: '3' }).speed, 3);
      for (const speed of [0.2, 4.01, 'fast', -1]) {
        const err = validationErr(() => validateOpenAiSpeech({ input: 'Hi', voice: 'echo', speed }));
        assert.equal(err.field, 'speed');
        assert.match(err.allowed, /0\.25 to 4/);
      }
    });

    it('refuses input that is not text', () => {
      assert.equal(validationErr(() => validateOpenAiSpeech({ input: { a: 1 }, voice: 'echo' })).field, 'input');
      assert.equal(validationErr(() => validateOpenAiSpeech({ voice: 'echo' })).field, 'input');
    });
  });

  describe('validateOpenAiVoiceMap', () => {
    const map = { alloy: 'a.wav', echo: 'b.wav', fable: 'c.wav', nova: 'd.wav', onyx: 'e.wav', shimmer: 'f.wav' };

    it('keeps all six keys and drops anything else', () => {
      assert.deepEqual(validateOpenAiVoiceMap({ ...map, extra: 'x' }), map);
    });

    it('refuses a map with a missing or empty voice', () => {
      for (const key of OPENAI_VOICES) {
        const partial = { ...map };
        delete partial[key];
        assert.equal(validationErr(() => validateOpenAiVoiceMap(partial)).field, key);
        assert.equal(validationErr(() => validateOpenAiVoiceMap({ ...map, [key]: ' ' })).field, key);
      }
    });

    it('refuses something that is not an object', () => {
      for (const bad of [null, 'alloy', ['a.wav'], 3]) {
        assert.equal(validationErr(() => validateOpenAiVoiceMap(bad)).field, 'voicemap');
      }
    });

    it('checks the voices against the server\'s list', () => {
      const voices = ['a.wav', 'b.wav', 'c.wav', 'd.wav', 'e.wav'];
      const err = validationErr(() => validateOpenAiVoiceMap(map, { voices }));
      assert.equal(err.field, 'shimmer');
      assert.match(err.message, /f\.wav/);
      assert.deepEqual(validateOpenAiVoiceMap(map, { voices: [...voices, 'f.wav'] }), map);
    });
  });
});

describe('api/errors', () => {
  describe('extractServerMessage reads every error shape of the server', () => {
    const cases = [
      ['E1 422 detail list', JSON.stringify({ detail: [{ type: 'missing', loc: ['body', 'text_input'], msg: 'Field required', input: null }] }), 'text_input: Field required'],
      ['E1 with two items', JSON.stringify({ detail: [{ loc: ['query', 'a'], msg: 'x' }, { loc: ['body', 'b'], msg: 'y' }] }), 'a: x; b: y'],
      ['E2 detail string', '{"detail":"Model file not found."}', 'Model file not found.'],
      ['E3 text/plain', 'Internal Server Error', 'Internal Server Error'],
      ['E4 error', '{"error":"language: Language code\\nspeed: Speed"}', 'language: Language code\nspeed: Speed'],
      ['E5 generate-failure', '{"status":"generate-failure","error":"TTS generation failed"}', 'TTS generation failed'],
      ['E6/E7 message', '{"status":"error","message":"Invalid TTS engine specified"}', 'Invalid TTS engine specified'],
    ];
    for (const [name, body, expected] of cases) {
      it(name, () => assert.equal(extractServerMessage(body), expected));
    }
    it('nothing for an empty body; long text is shortened', () => {
      assert.equal(extractServerMessage('  '), undefined);
      const long = extractServerMessage('x'.repeat(1000));
      assert.ok(long.length <= 301 && long.endsWith('…'));
    });
  });

  it('describeValue names what was received', () => {
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(undefined), 'missing');
    assert.equal(describeValue(Buffer.alloc(5)), 'a Buffer (5 bytes)');
    assert.equal(describeValue([1]), 'an array (1 items)');
    assert.equal(describeValue({}), 'an object');
    assert.equal(describeValue('abc'), '"abc"');
    assert.equal(describeValue(7), '7');
    assert.ok(describeValue('y'.repeat(100)).endsWith('…"'));
  });

  it('shortReason is short', () => {
    assert.equal(new AllTalkError('http', 'x', { status: 500 }).shortReason, 'http 500');
    assert.equal(new AllTalkError('validation', 'x', { field: 'speed' }).shortReason, 'bad speed');
    assert.equal(new AllTalkError('validation', 'x').shortReason, 'invalid input');
    assert.equal(new AllTalkError('offline', 'x').shortReason, 'offline');
  });

  it('keeps the low-level code from the cause chain', () => {
    const cause = new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNREFUSED' }) });
    const err = new AllTalkError('offline', 'x', { cause });
    assert.equal(err.causeCode, 'ECONNREFUSED');
    assert.equal(err.cause, cause);
    assert.ok(api.isAllTalkError(err));
    assert.ok(!api.isAllTalkError(new Error('x')));
  });
});
