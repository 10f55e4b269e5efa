'use strict';
// Unit tests of src/api/rules.ts: the server's validation rules as data (fields, ranges,
// patterns, values), described for messages and the editor, and output file names sanitised.
const assert = require('node:assert/strict');
const {
  TTS_GENERATE_RULES,
  TTS_GENERATE_FIELDS,
  LANGUAGES,
  OPENAI_VOICES,
  DEFAULT_MAX_CHARACTERS,
  sanitizeOutputFileName,
  describeRule,
  rulesForEditor,
} = require('../../dist/api');

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
