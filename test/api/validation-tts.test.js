'use strict';
// Unit tests of src/api/validation.ts for text and /api/tts-generate: every rule refuses a bad
// value, good values become the form strings the server parses, and the loaded engine's
// capabilities and voice lists are checked before anything is sent.
const assert = require('node:assert/strict');
const api = require('../../dist/api');
const {
  TTS_GENERATE_RULES,
  TTS_GENERATE_FIELDS,
  DEFAULT_MAX_CHARACTERS,
  describeRule,
  validateText,
  validateTtsGenerate,
  validateLanguage,
  formValue,
  describeValue,
  isPlaceholderVoice,
} = api;
const { BAD_VALUES, GOOD_VALUES, shown, settingsWith } = require('./fixtures');
const { validationErr } = require('./helpers');

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
});
