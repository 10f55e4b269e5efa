'use strict';
// AllTalkClient against the simulator: every validation rule refuses a bad value before
// anything is sent (the simulator's request log stays empty), with the server's own lists.
const assert = require('node:assert/strict');
const { TTS_GENERATE_FIELDS, TTS_GENERATE_RULES, describeRule, describeValue } = require('../../dist/api');
const { BAD_VALUES, GOOD_VALUES, shown } = require('./fixtures');
const { harness, rejectsWith } = require('./helpers');

describe('api/client validation (nothing reaches the server)', () => {
  const h = harness();
  let sim;
  let client;

  beforeEach(async () => {
    sim = await h.sim({ profile: 'xtts' });
    client = h.client(sim);
  });

  function nothingSent() {
    assert.deepEqual(sim.requests.map((r) => `${r.method} ${r.path}`), [], 'a request reached the simulator');
  }

  describe('ttsGenerate: a bad value for each field', () => {
    for (const field of TTS_GENERATE_FIELDS) {
      for (const bad of BAD_VALUES[field]) {
        it(`${field} = ${shown(bad)}`, async () => {
          const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hello', [field]: bad }), 'validation');
          assert.equal(err.field, field);
          assert.deepEqual(err.value, bad);
          const allowed = describeRule(TTS_GENERATE_RULES[field]);
          assert.equal(err.allowed, allowed);
          for (const part of [field, describeValue(bad), allowed, 'Nothing was sent']) {
            assert.ok(err.message.includes(part), `"${part}" missing from: ${err.message}`);
          }
          nothingSent();
        });
      }
    }
  });

  describe('ttsGenerate: the text', () => {
    const refused = [
      ['empty', ''],
      ['white space', '   '],
      ['an object', { text: 'x' }],
      ['an array', ['x']],
      ['a Buffer', Buffer.from('hello')],
      ['null', null],
      ['missing', undefined],
    ];
    for (const [name, value] of refused) {
      it(`refuses ${name}`, async () => {
        const err = await rejectsWith(client.ttsGenerate({ text_input: value }), 'validation');
        assert.equal(err.field, 'text_input');
        assert.match(err.message, /Nothing was sent/);
        nothingSent();
      });
    }

    it('refuses text over the server\'s limit (default 2000, or maxCharacters)', async () => {
      await rejectsWith(client.ttsGenerate({ text_input: 'a'.repeat(2001) }), 'validation');
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'a'.repeat(11) }, { maxCharacters: 10 }), 'validation');
      assert.match(err.message, /11 characters/);
      assert.match(err.message, /at most 10/);
      nothingSent();
    });

    it('refuses a field /api/tts-generate does not have', async () => {
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', streaming: true }), 'validation');
      assert.equal(err.field, 'streaming');
      nothingSent();
    });
  });

  describe('ttsGenerate: checks against the server\'s settings and lists', () => {
    it('a capability the loaded engine lacks (pitch on xtts, pitch_capable false)', async () => {
      const settings = await client.currentSettings();
      sim.clearRequests();
      assert.equal(settings.pitch_capable, false);
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', pitch: 3 }, { settings }), 'validation');
      assert.equal(err.field, 'pitch');
      assert.match(err.message, /pitch_capable is false/);
      assert.match(err.message, /"xtts"/);
      nothingSent();
    });

    it('capabilities of the piper engine (speed, temperature, repetition penalty, language)', async () => {
      sim.setProfile('piper');
      const settings = await client.currentSettings();
      sim.clearRequests();
      for (const field of ['speed', 'temperature', 'repetition_penalty', 'language']) {
        const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', [field]: GOOD_VALUES[field][0] }, { settings }), 'validation');
        assert.equal(err.field, field);
        assert.match(err.message, new RegExp(`${TTS_GENERATE_RULES[field].capability} is false`));
      }
      nothingSent();
    });

    it('a voice the server does not list', async () => {
      const voices = await client.voices();
      sim.clearRequests();
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', character_voice_gen: 'nobody.wav' }, { voices }), 'validation');
      assert.equal(err.field, 'character_voice_gen');
      assert.ok(err.message.includes(voices[0]), err.message);
      nothingSent();
    });

    it('an RVC voice the server does not list', async () => {
      const rvcVoices = await client.rvcVoices();
      sim.clearRequests();
      const err = await rejectsWith(client.ttsGenerate({ text_input: 'Hi', rvcnarrator_voice_gen: 'nobody/x.pth' }, { rvcVoices }), 'validation');
      assert.equal(err.field, 'rvcnarrator_voice_gen');
      nothingSent();
    });
  });

  describe('the other routes', () => {
    it('streamTts: bad text, voice or language', async () => {
      await rejectsWith(client.streamTts({ text: '', voice: 'female_01.wav' }), 'validation');
      await rejectsWith(client.streamTts({ text: 'Hi', voice: 'a|b' }), 'validation');
      await rejectsWith(client.streamTts({ text: 'Hi', voice: 'female_01.wav', language: 'xx' }), 'validation');
      await rejectsWith(client.streamTts({ text: 'Hi', voice: 'nobody.wav' }, { voices: sim.voices }), 'validation');
      nothingSent();
    });

    it('openaiSpeech: over 4096 characters, voice case, pcm, speed', async () => {
      assert.equal((await rejectsWith(client.openaiSpeech({ input: 'a'.repeat(4097), voice: 'alloy' }), 'validation')).field, 'input');
      assert.equal((await rejectsWith(client.openaiSpeech({ input: 'Hi', voice: 'Alloy' }), 'validation')).field, 'voice');
      assert.equal((await rejectsWith(client.openaiSpeech({ input: 'Hi', voice: 'alloy', response_format: 'pcm' }), 'validation')).field, 'response_format');
      assert.equal((await rejectsWith(client.openaiSpeech({ input: 'Hi', voice: 'alloy', speed: 4.5 }), 'validation')).field, 'speed');
      assert.equal((await rejectsWith(client.openaiSpeech({ input: 'Hi', voice: 'alloy', speed: 0.1 }), 'validation')).field, 'speed');
      nothingSent();
    });

    it('setOpenAiVoiceMap, previewVoice, reloadModel, setDeepSpeed', async () => {
      await rejectsWith(client.setOpenAiVoiceMap({ alloy: 'female_01.wav' }), 'validation');
      await rejectsWith(client.previewVoice({ voice: '  ' }), 'validation');
      await rejectsWith(client.reloadModel('nope', { models: ['xtts - xttsv2_2.0.3'] }), 'validation');
      await rejectsWith(client.setDeepSpeed('true'), 'validation');
      nothingSent();
    });
  });
});
