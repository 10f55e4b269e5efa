'use strict';
// alltalk-tts in a running flow: what it sends (every dialog field, and msg values where the
// dialog leaves one blank), what it refuses before sending, and server errors at Catch.
const assert = require('node:assert/strict');
const { helper, startSim, watchStatus } = require('./support');
const { nodes, ttsFlow, generations, run, msg, ready } = require('./tts-support');

describe('alltalk-tts', function () {
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  describe('fields', function () {
    it('sends every dialog field exactly as the server parses it', async function () {
      sim = await startSim({ profile: 'xtts' });
      sim.settings.pitch_capable = true;
      const [voice, narrator] = sim.voices.filter((v) => v.endsWith('.wav'));
      const rvc = sim.rvcVoices.find((v) => v !== 'Disabled');
      await helper.load(nodes, ttsFlow(sim, {
        text_filtering: 'html', character_voice_gen: voice, rvccharacter_voice_gen: rvc, rvccharacter_pitch: '-3.5',
        narrator_enabled: 'silent', narrator_voice_gen: narrator, rvcnarrator_voice_gen: 'Disabled', rvcnarrator_pitch: '12',
        text_not_inside: 'narrator', language: 'de', output_file_name: 'door bell-1', output_file_timestamp: 'false',
        autoplay: 'false', autoplay_volume: '0.7', speed: '1.25', pitch: '-2', temperature: '0.65', repetition_penalty: '12',
      }));
      await ready(sim);
      const r = await run(msg({ payload: 'Hello "there" *he said*' }));
      assert.ok(r.msg, r.error && r.error.message);
      const form = generations(sim)[0].form;
      assert.deepEqual(form, {
        text_input: 'Hello "there" *he said*', text_filtering: 'html', character_voice_gen: voice, rvccharacter_voice_gen: rvc,
        rvccharacter_pitch: '-3.5', narrator_enabled: 'silent', narrator_voice_gen: narrator, rvcnarrator_voice_gen: 'Disabled',
        rvcnarrator_pitch: '12', text_not_inside: 'narrator', language: 'de', output_file_name: 'door_bell_1',
        output_file_timestamp: 'false', autoplay: 'false', autoplay_volume: '0.7', speed: '1.25', pitch: '-2',
        temperature: '0.65', repetition_penalty: '12',
      });
      assert.deepEqual(r.msg.alltalk.request, form);
    });

    it('sends only text_input when every field is blank', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const r = await run(msg({ payload: 42 }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.deepEqual(generations(sim)[0].form, { text_input: '42' });
    });

    it('voice, language and speed from anywhere: msg, env, JSONata; saved without a type they are the dialog\'s', async function () {
      sim = await startSim();
      const [a, b] = sim.voices.filter((v) => v.endsWith('.wav'));
      process.env.ALLTALK_TEST_SPEED = '1.5';
      await helper.load(nodes, ttsFlow(sim, {
        character_voice_gen: 'who.voice', character_voice_genType: 'msg',
        language: '$exists(lang) ? lang : "fr"', languageType: 'jsonata',
        speed: 'ALLTALK_TEST_SPEED', speedType: 'env',
      }));
      await ready(sim);
      await run(msg({ payload: 'one', who: { voice: a }, lang: 'de' }));
      // Nothing found for the voice: msg.alltalk fills it, as for a blank dialog field.
      await run(msg({ payload: 'two', alltalk: { character_voice_gen: b } }));
      const [f1, f2] = generations(sim).map((r) => r.form);
      assert.deepEqual([f1.character_voice_gen, f1.language, f1.speed], [a, 'de', '1.5']);
      assert.deepEqual([f2.character_voice_gen, f2.language, f2.speed], [b, 'fr', '1.5']);
      // A value from elsewhere is checked as one typed in the dialog: a voice the server lacks is refused, nothing sent.
      const r3 = await run(msg({ payload: 'three', who: { voice: 'nobody.wav' } }));
      assert.match(r3.error.message, /nobody\.wav/);
      assert.equal(generations(sim).length, 2);
      delete process.env.ALLTALK_TEST_SPEED;
      await helper.unload();
      // A flow saved before these fields had a type: the dialog's own values, as before.
      await helper.load(nodes, ttsFlow(sim, { character_voice_gen: a, language: 'it', speed: '0.75' }));
      await ready(sim);
      await run(msg({ payload: 'four' }));
      const f4 = generations(sim)[0].form;
      assert.deepEqual([f4.character_voice_gen, f4.language, f4.speed], [a, 'it', '0.75']);
    });

    it('a dialog value wins; blank fields come from msg.alltalk, then msg.voice/language/speed', async function () {
      sim = await startSim();
      const [a, b, c] = sim.voices.filter((v) => v.endsWith('.wav'));
      await helper.load(nodes, ttsFlow(sim, { language: 'fr' }));
      await ready(sim);
      await run(msg({ payload: 'one', language: 'de', voice: a, speed: 1.5, alltalk: { language: 'it', character_voice_gen: b } }));
      await run(msg({ payload: 'two', voice: c, speed: '0.5' }));
      await run(msg({ payload: 'three', filename: 'Küche Ansage.wav' }));
      const [f1, f2, f3] = generations(sim).map((r) => r.form);
      assert.equal(f1.language, 'fr', 'dialog wins over msg.alltalk and msg.language');
      assert.equal(f1.character_voice_gen, b, 'msg.alltalk wins over msg.voice');
      assert.equal(f1.speed, '1.5');
      assert.equal(f2.character_voice_gen, c);
      assert.equal(f2.speed, '0.5');
      assert.equal(f3.output_file_name, 'Kuche_Ansage', 'msg.filename is sanitised to [a-zA-Z0-9_]');
    });
  });

  describe('checks before sending', function () {
    const bad = [
      ['empty text', { payload: '' }, /empty/],
      ['white space', { payload: '   \n' }, /empty/],
      ['an object', { payload: { text: 'hi' } }, /an object/],
      ['an array', { payload: ['hi'] }, /an array/],
      ['a Buffer', { payload: Buffer.from('hi') }, /a Buffer/],
      ['null', { payload: null }, /null/],
      ['no payload', {}, /missing/],
      ['too long', { payload: 'a'.repeat(2001) }, /2001 characters.*at most 2000/],
      ['speed out of range', { payload: 'x', speed: 3 }, /speed is 3: it must be a number from 0.25 to 2/],
      ['temperature out of range', { payload: 'x', alltalk: { temperature: 1.5 } }, /temperature.*0.1 to 1/],
      ['repetition penalty', { payload: 'x', alltalk: { repetition_penalty: 0.5 } }, /repetition_penalty/],
      ['autoplay volume', { payload: 'x', alltalk: { autoplay_volume: 0 } }, /autoplay_volume/],
      ['RVC pitch (documented, not enforced by the server)', { payload: 'x', alltalk: { rvccharacter_pitch: 30 } }, /rvccharacter_pitch.*-24 to 24/],
      ['language', { payload: 'x', language: 'klingon' }, /language is "klingon"/],
      ['narrator_enabled', { payload: 'x', alltalk: { narrator_enabled: 'maybe' } }, /narrator_enabled.*true, false, silent/],
      ['text_not_inside', { payload: 'x', alltalk: { text_not_inside: 'both' } }, /text_not_inside/],
      ['text_filtering', { payload: 'x', alltalk: { text_filtering: 'xml' } }, /text_filtering/],
      ['a voice with a forbidden character', { payload: 'x', voice: 'a|b' }, /character_voice_gen/],
      ['an unknown voice', { payload: 'x', voice: 'nobody.wav' }, /not one of the server's voices/],
      ['an unknown RVC voice', { payload: 'x', alltalk: { rvccharacter_voice_gen: 'nope/none.pth' } }, /rvccharacter_voice_gen/],
      ['a field the engine cannot use (pitch on XTTS)', { payload: 'x', alltalk: { pitch: 2 } }, /pitch cannot be used.*pitch_capable is false/],
      ['a bad boolean', { payload: 'x', alltalk: { autoplay: 'sometimes' } }, /autoplay/],
      ['an unknown output mode', { payload: 'x', alltalk: { output: 'speaker' } }, /buffer, url or file/],
      ['file output asked for by a message when the dialog does not allow it', { payload: 'x', alltalk: { output: 'file' } }, /"file" is not taken/],
    ];
    for (const [what, props, pattern] of bad) {
      it(`refuses ${what}, names it, and sends nothing`, async function () {
        if (!sim) {
          sim = await startSim({ profile: 'xtts' });
        }
        await helper.load(nodes, ttsFlow(sim));
        await ready(sim);
        const badge = watchStatus(helper.getNode('tts'));
        const r = await run(msg({ topic: 'keep-me', ...props }));
        assert.ok(r.error, 'an error reaches Catch nodes');
        assert.match(r.error.message, pattern);
        assert.equal(r.msg.topic, 'keep-me', 'the original message goes with the error');
        assert.equal(generations(sim).length, 0, 'no request was sent');
        await badge.waitFor('error:');
        assert.equal(badge.last().fill, 'red');
      });
    }
  });

  describe('server errors', function () {
    const shapes = [
      ['E1 422 validation list', { status: 422, body: { detail: [{ type: 'missing', loc: ['body', 'text_input'], msg: 'Field required', input: null }] } }, /422.*text_input: Field required/],
      ['E2 engine detail', { status: 500, body: { detail: 'Model file not found.' } }, /500.*Model file not found/],
      ['E3 plain text 500', { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' }, /500.*Internal Server Error/],
      ['E4 field errors', { status: 400, body: { error: 'language: Language code\ntemperature: Temperature' } }, /400.*language: Language code; temperature: Temperature/],
      ['E5 generate-failure', { status: 500, body: { status: 'generate-failure', error: 'TTS generation failed' } }, /500.*TTS generation failed/],
      ['E5 507', { status: 507, body: { status: 'generate-failure', error: 'Insufficient memory' } }, /507.*Insufficient memory/],
      ['200 with status error', { status: 200, body: { status: 'error', message: 'You currently have no TTS model loaded.' } }, /no TTS model loaded/],
    ];
    for (const [what, reply, pattern] of shapes) {
      it(`turns ${what} into a clear error at Catch, with the message kept and no retry`, async function () {
        sim = await startSim();
        await helper.load(nodes, ttsFlow(sim));
        await ready(sim);
        sim.failNext('/api/tts-generate', 1, reply);
        const r = await run(msg({ payload: 'hello', topic: 't' }));
        assert.ok(r.error);
        assert.match(r.error.message, pattern);
        assert.match(r.error.message, new RegExp(`AllTalk at ${sim.url.replace(/[.]/g, '\\.')}`));
        assert.equal(r.msg.topic, 't');
        assert.equal(generations(sim).length, 1, 'a generation is never sent twice');
      });
    }

    it('never retries a generation after a timeout', async function () {
      sim = await startSim({ msPerChar: 0, minGenerationMs: 1500 });
      await helper.load(nodes, ttsFlow(sim, {}, { generationTimeout: 0.5 }));
      await ready(sim);
      const r = await run(msg({ payload: 'slow' }));
      assert.ok(r.error);
      assert.equal(r.error.kind, 'timeout');
      assert.match(r.error.message, /did not finish/);
      await new Promise((resolve) => sim.once('generation-end', resolve));
      assert.equal(generations(sim).length, 1);
    });
  });
});
