'use strict';
// Unit tests of src/api/validation.ts for the streaming GET and the OpenAI-compatible routes:
// stream parameters, /v1/audio/speech requests and the OpenAI voice map.
const assert = require('node:assert/strict');
const {
  OPENAI_VOICES,
  OPENAI_FORMATS,
  OPENAI_MAX_CHARACTERS,
  validateStreamParams,
  validateOpenAiSpeech,
  validateOpenAiVoiceMap,
} = require('../../dist/api');
const { settingsWith } = require('./fixtures');
const { validationErr } = require('./helpers');

describe('api/validation', () => {
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
