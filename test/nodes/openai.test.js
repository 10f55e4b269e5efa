'use strict';
// alltalk-openai in a real Node-RED runtime against the simulator: every format, pcm made here,
// every check made before sending, dialog/message precedence, split and join, the bare 500, files.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, collect, ready, runOn } = require('./support');
const { parseWav, decodeWav, wavToPcm } = require('../../dist/api');

const OPENAI = require('../../nodes/alltalk-openai.js');
const TTS = require('../../nodes/alltalk-tts.js');
const STREAM = require('../../nodes/alltalk-stream.js');
const nodes = [NODES.config, OPENAI, TTS, STREAM];

function flow(sim, props = {}, cfgProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'oa', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: '', format: '', speed: '', model: 'tts-1', output: '', filePath: '', splitLongText: false, wires: [['out']], ...props },
    { id: 'out', type: 'helper' },
  ];
}

let seq = 0;
const msg = (props) => ({ _msgid: `o${++seq}`, ...props });
const speech = (sim) => sim.requests.filter((r) => r.path === '/v1/audio/speech');

/** Sends one message to node `id` (default "oa") and resolves when it ends. */
const run = (m, id = 'oa') => runOn(id, m);

const SENTENCE = 'The dishwasher has finished and the kitchen is quiet again, so the evening can begin. ';

describe('alltalk-openai', function () {
  let sim;
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-openai-'));
  });
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('each format: the right bytes and the standard content type; the JSON sent is what the server parses', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { voice: 'nova' }));
    await ready(sim);
    const expected = {
      mp3: ['audio/mpeg', (b) => b.toString('latin1', 0, 3) === 'ID3' || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0)],
      wav: ['audio/wav', (b) => parseWav(b).duration > 0],
      opus: ['audio/ogg', (b) => b.toString('latin1', 0, 4) === 'OggS'],
      aac: ['audio/aac', (b) => b[0] === 0xff && (b[1] & 0xf6) === 0xf0],
      flac: ['audio/flac', (b) => b.toString('latin1', 0, 4) === 'fLaC'],
    };
    for (const [format, [type, looksRight]] of Object.entries(expected)) {
      const r = await run(msg({ payload: 'Hello from the speech endpoint.', format, topic: 'x' }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(r.msg.contentType, type, format);
      assert.ok(Buffer.isBuffer(r.msg.payload) && looksRight(r.msg.payload), `${format} bytes`);
      assert.equal(r.msg.alltalk.format, format);
      assert.equal(r.msg.alltalk.bytes, r.msg.payload.length);
      assert.equal(r.msg.topic, 'x', 'the rest of the message is kept');
    }
    assert.deepEqual(speech(sim)[0].json, { model: 'tts-1', input: 'Hello from the speech endpoint.', voice: 'nova', response_format: 'mp3', speed: 1 });
  });

  for (const profile of ['xtts', 'piper']) {
    it(`pcm from a ${profile} WAV: 16-bit mono 24 kHz, no header, the same samples as the WAV`, async function () {
      sim = await startSim({ profile });
      await helper.load(nodes, flow(sim, { voice: 'echo', format: 'pcm' }));
      await ready(sim);
      const text = 'Raw samples for a player that takes pcm.';
      const r = await run(msg({ payload: text }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(speech(sim)[0].json.response_format, 'wav', 'pcm is asked for as wav');
      const pcm = r.msg.payload;
      assert.notEqual(pcm.toString('latin1', 0, 4), 'RIFF');
      assert.equal(r.msg.contentType, 'audio/pcm');
      // The WAV the server would send for the same request, turned into pcm independently.
      const wav = Buffer.from(await (await fetch(`${sim.url}/v1/audio/speech`, {
        method: 'POST', body: JSON.stringify({ model: 'tts-1', input: text, voice: 'echo', response_format: 'wav' }),
      })).arrayBuffer());
      const { info } = decodeWav(wav);
      assert.equal(info.format, profile === 'xtts' ? 3 : 1, 'float from XTTS, 16-bit from Piper');
      assert.equal(pcm.length % 2, 0);
      assert.equal(pcm.length / 2, Math.ceil((info.dataLength / (info.bitsPerSample / 8)) * 24000 / info.sampleRate));
      assert.deepEqual(pcm, wavToPcm(wav));
    });
  }

  describe('checked before sending: each refusal sends nothing', function () {
    const refusals = [
      [{ voice: 'Alloy' }, /"Alloy" is not one of the six OpenAI voices: alloy, echo, fable, nova, onyx, shimmer/],
      [{ voice: 'ash' }, /"ash" is not one of the six OpenAI voices/],
      [{}, /No voice/],
      [{ voice: 'alloy', format: 'ogg' }, /format "ogg" is not one of wav, mp3, opus, aac, flac, pcm/],
      [{ voice: 'alloy', speed: 5 }, /speed 5 is out of range: it must be a number from 0.25 to 4/],
      [{ voice: 'alloy', speed: 0.1 }, /from 0.25 to 4/],
      [{ voice: 'alloy', speed: 'fast' }, /speed "fast" is out of range/],
      [{ voice: 'alloy', payload: 'x'.repeat(4097) }, /4097 characters long; AllTalk's OpenAI endpoint accepts at most 4096/],
      [{ voice: 'alloy', payload: '\u{1F600}'.repeat(4097) }, /4097 characters long/],
      [{ voice: 'alloy', payload: '' }, /empty/],
      [{ voice: 'alloy', payload: { text: 'hi' } }, /must be a string/],
      [{ voice: 'alloy', payload: '12345 !!!' }, /has no letters, so AllTalk's OpenAI endpoint cannot detect its language/],
    ];
    for (const [props, message] of refusals) {
      it(`${JSON.stringify(props).slice(0, 70)}`, async function () {
        sim = await startSim();
        await helper.load(nodes, flow(sim));
        await ready(sim);
        const r = await run(msg({ payload: 'Hello.', ...props }));
        assert.ok(r.error, 'refused');
        assert.equal(r.error.kind, 'validation');
        assert.match(r.error.message, message);
        assert.match(r.error.message, /Nothing was sent to AllTalk/);
        assert.equal(speech(sim).length, 0);
      });
    }

    it('4096 characters counted as the server counts them (code points, not UTF-16 units) are accepted', async function () {
      sim = await startSim({ msPerChar: 0, audioSecondsPerChar: 0.001 });
      await helper.load(nodes, flow(sim, { voice: 'alloy', format: 'wav' }));
      await ready(sim);
      // 4096 code points, 4915 UTF-16 units (the emoji take two each).
      const text = `${'Hi \u{1F600} '.repeat(819)}a`;
      assert.equal([...text].length, 4096);
      assert.ok(text.length > 4096);
      const r = await run(msg({ payload: text }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(speech(sim).length, 1);
    });
  });

  it('precedence: the dialog wins; a blank field takes msg.alltalk.<field>, then the short form', async function () {
    sim = await startSim();
    await helper.load(nodes, [...flow(sim, { voice: 'onyx', format: 'wav', speed: '1.5', model: 'tts-1-hd' }),
      { id: 'blank', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: '', format: '', speed: '', model: '', wires: [['out']] }]);
    await ready(sim);
    await run(msg({ payload: 'One.', voice: 'echo', format: 'mp3', speed: 2, alltalk: { voice: 'fable' } }));
    await run(msg({ payload: 'Two.', voice: 'echo', format: 'flac', speed: 2, alltalk: { voice: 'fable', response_format: 'aac', speed: 3, model: 'm' } }), 'blank');
    await run(msg({ payload: 'Three.', voice: 'echo', format: 'flac', speed: 2 }), 'blank');
    await run(msg({ payload: 'Four.', voice: 'shimmer' }), 'blank');
    const sent = speech(sim).map((r) => r.json);
    assert.deepEqual(sent.map((j) => [j.voice, j.response_format, j.speed, j.model]), [
      ['onyx', 'wav', 1.5, 'tts-1-hd'],
      ['fable', 'aac', 3, 'm'],
      ['echo', 'flac', 2, 'tts-1'],
      ['shimmer', 'mp3', 1, 'tts-1'],
    ]);
  });

  describe('long text', function () {
    const long = SENTENCE.repeat(60);
    for (const format of ['wav', 'pcm', 'mp3']) {
      it(`${format}: split at sentence ends, generated in order, joined into one file`, async function () {
        sim = await startSim({ msPerChar: 0, audioSecondsPerChar: 0.001 });
        await helper.load(nodes, flow(sim, { voice: 'alloy', format, splitLongText: true }));
        await ready(sim);
        const r = await run(msg({ payload: long }));
        assert.ok(r.msg, r.error && r.error.message);
        const parts = speech(sim);
        assert.ok(parts.length >= 2);
        assert.ok(parts.every((p) => [...p.json.input].length <= 4096));
        assert.equal(parts.map((p) => p.json.input).join(' '), long.trim());
        assert.equal(r.msg.alltalk.parts, parts.length);
        assert.equal(r.msg.alltalk.request.length, parts.length);
        const gens = sim.generations.filter((g) => g.route === '/v1/audio/speech');
        const seconds = gens.reduce((n, g) => n + g.audioSeconds, 0);
        const out = r.msg.payload;
        if (format === 'wav') assert.ok(Math.abs(parseWav(out).duration - seconds) < 0.01);
        if (format === 'pcm') assert.ok(Math.abs(out.length / 48000 - seconds) < 0.01);
        if (format === 'mp3') {
          assert.equal(out.toString('latin1', 0, 3), 'ID3');
          assert.equal(out.toString('latin1').split('ID3').length - 1, 1, 'the later parts\' tags were dropped');
        }
      });
    }

    for (const format of ['opus', 'aac', 'flac']) {
      it(`${format}: a text that would need splitting is refused before sending`, async function () {
        sim = await startSim();
        await helper.load(nodes, flow(sim, { voice: 'alloy', format, splitLongText: true }));
        await ready(sim);
        const r = await run(msg({ payload: long }));
        assert.equal(r.error.kind, 'validation');
        assert.match(r.error.message, new RegExp(`${format} files, which cannot be joined into one. Use wav, pcm, mp3`));
        assert.equal(speech(sim).length, 0);
      });
    }
  });

  describe('a bare 500 from the server', function () {
    it('without ffmpeg: says every check passed, the cause is on the server, and names ffmpeg and the voice map; not retried', async function () {
      sim = await startSim({ ffmpeg: false });
      await helper.load(nodes, flow(sim, { voice: 'alloy', format: 'wav' }));
      await ready(sim);
      const r = await run(msg({ payload: 'No ffmpeg here.' }));
      assert.equal(r.error.kind, 'http');
      assert.equal(r.error.status, 500);
      assert.match(r.error.message, /passed every check here.*cause is on the server/);
      assert.match(r.error.message, /ffmpeg is not installed on the AllTalk machine \(it is needed even for wav\)/);
      assert.match(r.error.message, /"alloy" is mapped to a voice file that does not exist.*voicemap/);
      assert.equal(speech(sim).length, 1);
    });

    it('a voice mapped to a file that does not exist (XTTS: bare 500; Piper: the engine says so)', async function () {
      sim = await startSim();
      sim.openaiVoiceMap = { ...sim.openaiVoiceMap, fable: 'gone.wav' };
      await helper.load(nodes, flow(sim, { voice: 'fable', format: 'mp3' }));
      await ready(sim);
      const r = await run(msg({ payload: 'Where did the voice go?' }));
      assert.match(r.error.message, /"fable" is mapped to a voice file that does not exist/);
    });

    it('a timeout is never retried: AllTalk keeps working on it', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { voice: 'alloy' }, { generationTimeout: 0.3 }));
      await ready(sim);
      sim.setLatency('/v1/audio/speech', 1000);
      const r = await run(msg({ payload: 'Slow.' }));
      assert.equal(r.error.kind, 'timeout');
      await new Promise((res) => setTimeout(res, 1200));
      assert.equal(speech(sim).length, 1);
    });
  });

  it('output file: written through a temporary name, with the format\'s extension inside a folder', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { voice: 'alloy', format: 'mp3', output: 'file', filePath: `${dir}/` }));
    await ready(sim);
    const r = await run(msg({ payload: 'Into a file.' }));
    const file = path.join(dir, 'alltalk_speech.mp3');
    assert.equal(r.msg.payload, file);
    assert.equal(r.msg.filename, file);
    assert.equal(fs.readFileSync(file).toString('latin1', 0, 3), 'ID3');
    assert.deepEqual(fs.readdirSync(dir), ['alltalk_speech.mp3']);
  });

  it('a burst through the queue with tts and stream nodes on the same server never overlaps at the server', async function () {
    sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 2 });
    await helper.load(nodes, [...flow(sim, { voice: 'alloy', format: 'mp3' }),
      { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
      { id: 'st', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: 'buffer', wires: [['out']] }]);
    await ready(sim);
    const out = collect(helper.getNode('out'));
    for (let i = 0; i < 5; i++) {
      helper.getNode('oa').receive(msg({ payload: `OpenAI ${i}.` }));
      helper.getNode('tts').receive(msg({ payload: `Speech ${i}.` }));
      helper.getNode('st').receive(msg({ payload: `Stream ${i}.` }));
    }
    await waitFor(() => out.length === 15, 'fifteen outputs', 20000);
    assert.equal(sim.maxConcurrentGenerations, 1);
    assert.equal(out.filter((m) => m.contentType === 'audio/mpeg').length, 5);
  });
  describe('voice and speed from anywhere', function () {
    it('voice from msg and speed from JSONata, per message; nothing found leaves them to msg.alltalk and the short forms', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { voice: 'who', voiceType: 'msg', speed: 'slow ? 0.5 : 1.25', speedType: 'jsonata' }));
      await ready(sim);
      const r1 = await run(msg({ payload: 'Hello there.', who: 'echo', slow: true }));
      assert.ok(r1.msg, r1.error && r1.error.message);
      const r2 = await run(msg({ payload: 'Hello there.', voice: 'onyx' }));
      assert.ok(r2.msg, r2.error && r2.error.message);
      assert.deepEqual(speech(sim).map((r) => [r.json.voice, r.json.speed]), [['echo', 0.5], ['onyx', 1.25]]);
      // What the voice comes to is checked as a typed one would be: nothing is sent for a voice OpenAI does not have.
      const r3 = await run(msg({ payload: 'Hello there.', who: 'Nova' }));
      assert.match(r3.error.message, /not one of the six OpenAI voices/);
      assert.equal(speech(sim).length, 2);
    });
  });
});
