'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, watchStatus, collect, watchErrors } = require('./support');
const { parseWav } = require('../../dist/api');

const nodes = [NODES.config, require('../../nodes/alltalk-tts.js')];

function ttsFlow(sim, ttsProps = {}, cfgProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: '', filePath: '', wires: [['out']], ...ttsProps },
    { id: 'out', type: 'helper' },
  ];
}

const generations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate');

/** Sends one message and resolves { msg } on output or { error, msg } on an error. */
function run(msg, nodeId = 'tts') {
  const n = helper.getNode(nodeId);
  const out = helper.getNode('out');
  return new Promise((resolve) => {
    const onOut = (m) => {
      if (m._msgid !== msg._msgid) return;
      cleanup();
      resolve({ msg: m });
    };
    const onErr = (call) => {
      const [error, m] = call.args;
      if (m && m._msgid !== msg._msgid) return;
      cleanup();
      resolve({ error, msg: m });
    };
    function cleanup() {
      out.off('input', onOut);
      n.off('call:error', onErr);
    }
    out.on('input', onOut);
    n.on('call:error', onErr);
    n.receive(msg);
  });
}

let seq = 0;
const msg = (props) => ({ _msgid: `m${++seq}`, ...props });

async function ready(sim) {
  await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'server ready');
  sim.clearRequests();
}

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
      ['file output without a path', { payload: 'x', alltalk: { output: 'file' } }, /needs a path/],
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

  describe('text', function () {
    it('keeps narrator text with quotes and asterisks, unicode and emoji exactly', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { narrator_enabled: 'true' }));
      await ready(sim);
      const text = '*Die Tür öffnet sich.* "Grüß Gott, 你好! 👋" she said — *quietly*.';
      const r = await run(msg({ payload: text }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(generations(sim)[0].form.text_input, text);
      const info = parseWav(r.msg.payload);
      assert.equal(info.sampleRate, 44100, 'narrator output is the combined 44.1 kHz file');
      assert.ok(info.duration > 0);
    });

    it('splits long text at sentence ends, in order, and joins one valid WAV', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { maxCharacters: 100, splitLongText: true }));
      await ready(sim);
      const sentences = Array.from({ length: 8 }, (_, i) => `This is sentence number ${i + 1} of the long announcement.`);
      const text = sentences.join(' ');
      const r = await run(msg({ payload: text }));
      assert.ok(r.msg, r.error && r.error.message);
      const sent = generations(sim).map((g) => g.form.text_input);
      assert.ok(sent.length > 1);
      assert.ok(sent.every((t) => t.length <= 100));
      assert.equal(sent.join(' '), text, 'in order, nothing lost');
      assert.ok(sent.every((t) => /\.$/.test(t)), 'cut at sentence ends');
      const joined = parseWav(r.msg.payload);
      assert.equal(joined.declaredDataLength, joined.dataLength, 'one header with the real size');
      assert.equal(r.msg.payload.readUInt32LE(4), r.msg.payload.length - 8);
      const parts = await Promise.all(r.msg.urls.map(async (u) => parseWav(Buffer.from(await (await fetch(u)).arrayBuffer()))));
      const sum = parts.reduce((s, p) => s + p.duration, 0);
      assert.ok(Math.abs(joined.duration - sum) < 0.01, `joined ${joined.duration}s, parts ${sum}s`);
      assert.equal(r.msg.alltalk.parts, sent.length);
    });

    it('refuses a text that would need splitting when the output is a single URL', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { maxCharacters: 40, splitLongText: true, output: 'url' }));
      await ready(sim);
      const r = await run(msg({ payload: 'First sentence here. Second sentence here. Third one.' }));
      assert.match(r.error.message, /would be generated in 2 files, but output "url" gives one URL/);
      assert.equal(generations(sim).length, 0);
    });

    it('refuses long text when splitting is off', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { maxCharacters: 50 }));
      await ready(sim);
      const r = await run(msg({ payload: 'x'.repeat(51) }));
      assert.match(r.error.message, /51 characters long; AllTalk accepts at most 50/);
      assert.equal(generations(sim).length, 0);
    });
  });

  describe('output', function () {
    it('buffer: the audio downloaded from the server, with url, cacheUrl, filePath, contentType and timing', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const badge = watchStatus(helper.getNode('tts'));
      // Badges change at most every 100 ms; after a quiet moment the next one shows at once.
      await new Promise((r) => setTimeout(r, 150));
      const r = await run(msg({ payload: 'The washing machine is done.', topic: 'laundry', extra: 1 }));
      assert.ok(r.msg, r.error && r.error.message);
      const m = r.msg;
      assert.ok(Buffer.isBuffer(m.payload));
      const direct = Buffer.from(await (await fetch(m.url)).arrayBuffer());
      assert.ok(m.payload.equals(direct));
      assert.ok(m.url.startsWith(`${sim.url}/audio/`));
      assert.ok(m.cacheUrl.startsWith(`${sim.url}/audiocache/`));
      assert.ok(path.isAbsolute(m.filePath));
      assert.equal(m.contentType, 'audio/wav');
      assert.equal(m.topic, 'laundry');
      assert.equal(m.extra, 1);
      assert.equal(m.alltalk.bytes, m.payload.length);
      assert.equal(m.alltalk.response.status, 'generate-success');
      for (const k of ['queuedMs', 'generationMs', 'downloadMs']) assert.equal(typeof m.alltalk.timing[k], 'number');
      await badge.waitFor('done');
      assert.match(badge.last().text, /^done \d+(\.\d)? s$/);
      assert.ok(badge.texts().includes('generating…'));
    });

    it('url: no download, the URL in msg.payload and msg.url', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { output: 'url' }));
      await ready(sim);
      const r = await run(msg({ payload: 'hi there' }));
      assert.equal(r.msg.payload, r.msg.url);
      assert.equal(sim.requests.filter((q) => q.path.startsWith('/audio')).length, 0);
    });

    it('msg.alltalk.output picks the mode when the dialog leaves it on its default', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const r = await run(msg({ payload: 'hi there', alltalk: { output: 'url' } }));
      assert.equal(typeof r.msg.payload, 'string');
    });

    it('file: written through a temporary name into created folders', async function () {
      sim = await startSim();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-tts-'));
      const target = path.join(dir, 'a', 'b', 'doorbell.wav');
      await helper.load(nodes, ttsFlow(sim, { output: 'file', filePath: target }));
      await ready(sim);
      const r = await run(msg({ payload: 'Someone is at the door.' }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(r.msg.payload, target);
      assert.equal(r.msg.filename, target);
      const written = fs.readFileSync(target);
      const direct = Buffer.from(await (await fetch(r.msg.url)).arrayBuffer());
      assert.ok(written.equals(direct));
      assert.deepEqual(fs.readdirSync(path.dirname(target)), ['doorbell.wav'], 'no temporary file left');
      // A folder from msg.filename receives the server's file name.
      await helper.unload();
      await helper.load(nodes, ttsFlow(sim, { output: 'file' }));
      await ready(sim);
      const r2 = await run(msg({ payload: 'Again.', filename: `${dir}/drop/` }));
      assert.ok(r2.msg, r2.error && r2.error.message);
      assert.equal(path.dirname(r2.msg.filename), path.join(dir, 'drop'));
      assert.ok(fs.existsSync(r2.msg.filename));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('rebases a legacy absolute URL on the configured server', async function () {
      sim = await startSim({ legacyApi: { ip: '10.11.12.13' } });
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const r = await run(msg({ payload: 'legacy' }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.ok(r.msg.url.startsWith(`${sim.url}/audio/`), r.msg.url);
      assert.ok(r.msg.alltalk.response.output_file_url.startsWith('http://10.11.12.13'));
      assert.ok(Buffer.isBuffer(r.msg.payload) && r.msg.payload.length > 44);
    });
  });

  describe('queue', function () {
    it('answers 200 messages from three nodes on one server, never more than `concurrency` at once', async function () {
      this.timeout(60000);
      sim = await startSim({ profile: 'piper', msPerChar: 0, minGenerationMs: 5 });
      const tts = (id) => ({ id, type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, output: 'url', wires: [['out']] });
      await helper.load(nodes, [configNode(sim, { concurrency: 2, queueLimit: 200 }), tts('t1'), tts('t2'), tts('t3'), { id: 'out', type: 'helper' }]);
      await ready(sim);
      const out = collect(helper.getNode('out'));
      const errors = ['t1', 't2', 't3'].map((id) => watchErrors(helper.getNode(id)));
      for (let i = 0; i < 200; i++) helper.getNode(`t${(i % 3) + 1}`).receive({ payload: `message ${i}`, n: i });
      await waitFor(() => out.length + errors.flat().length >= 200, '200 answers', 50000);
      assert.equal(errors.flat().length, 0, errors.flat().map((e) => e.error.message).join('\n'));
      assert.deepEqual(out.map((m) => m.n).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i), 'none lost, none duplicated');
      const gens = generations(sim);
      assert.equal(gens.length, 200);
      // Overlap from the request log: at any arrival, how many were still being answered.
      let most = 0;
      for (const g of gens) {
        const overlapping = gens.filter((o) => o.receivedAt <= g.receivedAt && (o.finishedAt === undefined || o.finishedAt > g.receivedAt)).length;
        most = Math.max(most, overlapping);
      }
      assert.ok(most <= 2, `at most 2 at the server at once, saw ${most}`);
      assert.ok(sim.maxConcurrentGenerations <= 2);
      assert.ok(sim.maxConcurrentGenerations >= 1);
    });

    it('shows "queued (n)" on a node waiting behind another node\'s generation', async function () {
      sim = await startSim({ msPerChar: 0, minGenerationMs: 400 });
      const tts = (id) => ({ id, type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, output: 'url', wires: [['out']] });
      await helper.load(nodes, [configNode(sim), tts('t1'), tts('t2'), { id: 'out', type: 'helper' }]);
      await ready(sim);
      const b1 = watchStatus(helper.getNode('t1'));
      const b2 = watchStatus(helper.getNode('t2'));
      const out = collect(helper.getNode('out'));
      const started = new Promise((resolve) => sim.once('generation-start', resolve));
      helper.getNode('t1').receive({ payload: 'first' });
      await started;
      helper.getNode('t2').receive({ payload: 'second' });
      await b2.waitFor('queued');
      assert.deepEqual(b2.last(), { fill: 'yellow', shape: 'ring', text: 'queued (1)' });
      assert.deepEqual(b1.last(), { fill: 'blue', shape: 'dot', text: 'generating…' });
      await waitFor(() => out.length === 2, 'both answered');
      await b2.waitFor('done');
      assert.ok(b2.texts().indexOf('generating…') > b2.texts().indexOf('queued (1)'));
    });

    it('refuses at once beyond the queue limit', async function () {
      sim = await startSim({ msPerChar: 0, minGenerationMs: 300 });
      await helper.load(nodes, ttsFlow(sim, { output: 'url' }, { queueLimit: 1 }));
      await ready(sim);
      const results = await Promise.all([run(msg({ payload: 'one' })), run(msg({ payload: 'two' })), run(msg({ payload: 'three' }))]);
      assert.equal(results.filter((r) => !r.error).length, 2);
      const refused = results.find((r) => r.error);
      assert.equal(refused.error.kind, 'queue-full');
      assert.match(refused.error.message, /queue .* is full/);
    });

    it('closing the flow mid-generation aborts cleanly, with an error for the message', async function () {
      sim = await startSim({ msPerChar: 0, minGenerationMs: 2000 });
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const tts = helper.getNode('tts');
      // Watched on the instance: unloading the flow restores the helper's spies.
      const errors = [];
      tts.error = (error, m) => errors.push({ error, msg: m });
      const started = new Promise((resolve) => sim.once('generation-start', resolve));
      tts.receive(msg({ payload: 'this will be cut off' }));
      tts.receive(msg({ payload: 'this waits in the queue' }));
      await started;
      await helper.unload();
      await waitFor(() => errors.length === 2, 'both messages end with an error');
      for (const e of errors) assert.equal(e.error.kind, 'aborted');
      assert.deepEqual(errors.map((e) => e.msg.payload).sort(), ['this waits in the queue', 'this will be cut off'], 'each error goes with its own message');
    });
  });
});
