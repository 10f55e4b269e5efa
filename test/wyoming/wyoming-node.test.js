'use strict';
// alltalk-wyoming in a real Node-RED runtime against the simulator, driven by a client that does what
// Home Assistant does: describe within 1 s (installed only once AllTalk was reached), one voice per
// (voice, language) whose name carries both, the one-shot request and the streaming sequence, 16-bit
// PCM out of XTTS's float WAVs, the cache and the queue's priority, the node's output messages.
const assert = require('node:assert/strict');
const { parseWav } = require('../../dist/api');
const { describe: describeServer, voicesByLanguage, synthesize, synthesizeStreaming } = require('./ha-client');
const { helper, startSim, waitFor, freePort, wyomingFlow, deploy, waitForPort, generations, nodes } = require('./support');

describe('alltalk-wyoming: Home Assistant\'s requests', function () {
  this.timeout(30000);
  let sim;

  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('describe → info within 1 s: not installed before AllTalk was reached, then one voice per (voice, language)', async function () {
    sim = await startSim({ startupMs: 60000 });
    const port = await freePort();
    await helper.load(nodes, wyomingFlow(sim, port));
    await waitForPort(port);
    const before = await describeServer(port);
    assert.ok(before.ms < 1000);
    assert.equal(before.info.tts.length, 1);
    assert.equal(before.info.tts[0].installed, false, 'never reached: not installed');
    assert.deepEqual(before.info.asr, []);
    await helper.unload();
    await sim.stop();

    sim = await startSim();
    const { port: p2 } = await deploy(sim);
    const { info, ms } = await describeServer(p2);
    assert.ok(ms < 1000, `${ms} ms`);
    const { program, byLanguage } = voicesByLanguage(info);
    assert.equal(program.name, 'AllTalk');
    assert.deepEqual(program.attribution, { name: 'AllTalk', url: 'https://github.com/erew123/alltalk_tts' });
    assert.equal(program.installed, true);
    assert.equal(program.supports_synthesize_streaming, true);
    assert.match(program.version, /^\d+\.\d+\.\d+/);
    const voices = sim.voices.filter((v) => !/^No Voices|^Please Refresh/.test(v));
    for (const v of program.voices) assert.equal(v.languages.length, 1, `${v.name}: exactly one language`);
    assert.equal(program.voices.length, voices.length * 17, 'XTTS: every voice in each of AllTalk\'s 17 languages');
    assert.ok(byLanguage.de.some((v) => v.voice_id === 'female_01.wav@de' && v.name === 'female_01 (German)'), JSON.stringify(byLanguage.de.slice(0, 3)));
    assert.equal(byLanguage.auto, undefined, 'auto is no language to list');
    assert.equal(sim.requests.length, 0, 'describe never asks AllTalk');
  });

  it('one-shot: a voice chosen per language reaches AllTalk (streaming route) as that voice and language; 16-bit PCM', async function () {
    sim = await startSim({ profile: 'xtts' });
    const { port, outputs } = await deploy(sim, { streaming: false });
    // The engine streams: the streaming route is used, its s16 PCM passed on.
    const r = await synthesize(port, 'Guten Abend, das Licht in der Küche ist an.', { voice: 'male_01.wav@de' });
    assert.ok(r.wav, JSON.stringify(r.events.map((e) => e.type)));
    assert.deepEqual(r.format, { rate: 24000, width: 2, channels: 1 });
    const info = parseWav(r.wav);
    assert.equal(info.bitsPerSample, 16);
    assert.ok(info.duration > 0.2, `${info.duration} s`);
    const types = r.events.map((e) => e.type);
    assert.equal(types[0], 'audio-start');
    assert.equal(types[types.length - 1], 'audio-stop');
    for (const e of r.events.filter((x) => x.type === 'audio-chunk')) assert.ok(e.payload.length <= 2048 && e.payload.length % 2 === 0);
    const sent = generations(sim);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].query.voice, 'male_01.wav');
    assert.equal(sent[0].query.language, 'de');
    await waitFor(() => outputs.length === 1, 'the output message');
    const m = outputs[0];
    assert.equal(m.payload, 'Guten Abend, das Licht in der Küche ist an.');
    assert.equal(m.voice, 'male_01.wav');
    assert.equal(m.language, 'de');
    assert.equal(m.cached, false);
    assert.equal(m.streaming, false);
    assert.equal(m.client, '127.0.0.1');
    assert.ok(m.firstAudioMs >= 0 && m.durationMs >= m.firstAudioMs);
    assert.equal(m.error, undefined);
  });

  it('XTTS with a model that cannot stream: generated, and its 32-bit float WAV sent as 16-bit PCM', async function () {
    sim = await startSim({ profile: 'xtts' });
    const loaded = await fetch(`http://127.0.0.1:${sim.port}/api/reload?tts_method=${encodeURIComponent('apitts - xttsv2_2.0.2')}`, { method: 'POST' });
    assert.equal(loaded.status, 200);
    const { port } = await deploy(sim);
    const r = await synthesize(port, 'The garage door is open.', { voice: 'female_01.wav@en' });
    assert.ok(r.wav, JSON.stringify(r.events.map((e) => e.data)));
    const gen = sim.requests.filter((q) => q.path === '/api/tts-generate');
    assert.equal(gen.length, 1, 'generated, not streamed');
    const file = sim.requests.find((q) => q.path.startsWith('/audio/'));
    assert.ok(file, 'the WAV was fetched');
    assert.deepEqual(r.format, { rate: 24000, width: 2, channels: 1 });
    const samples = r.pcm.length / 2;
    assert.ok(samples > 2400, `${samples} samples`);
    assert.ok([...Array(200).keys()].some((i) => r.pcm.readInt16LE(i * 2 * 10) !== 0), 'real samples, not silence from a misread float');
  });

  it('an engine that does not stream (Piper): generated, fetched and sent; each voice in its own language', async function () {
    sim = await startSim({ profile: 'piper' });
    const { port, outputs } = await deploy(sim);
    const { byLanguage } = voicesByLanguage((await describeServer(port)).info);
    assert.deepEqual(Object.keys(byLanguage).sort(), ['de', 'en']);
    assert.deepEqual(byLanguage.de.map((v) => v.voice_id), ['sub/de_DE-thorsten-high.onnx@de']);
    const r = await synthesize(port, 'Die Waschmaschine ist fertig.', { voice: 'sub/de_DE-thorsten-high.onnx@de' });
    assert.ok(r.wav);
    assert.equal(r.format.width, 2);
    const sent = sim.requests.filter((q) => q.path === '/api/tts-generate');
    assert.equal(sent.length, 1);
    assert.equal(sent[0].form.character_voice_gen, 'sub/de_DE-thorsten-high.onnx');
    await waitFor(() => outputs.length === 1, 'output');
    assert.equal(outputs[0].cached, false);
  });

  it('no voice: the node\'s voice and language; only a language: the node\'s voice in it; a plain AllTalk voice name works too', async function () {
    sim = await startSim();
    const { port } = await deploy(sim, { voice: 'female_01.wav', language: 'auto', cache: false });
    await synthesize(port, 'Hello there.');
    await synthesize(port, 'Bonjour.', { voice: undefined, onEvent: undefined });
    const sent = generations(sim);
    assert.equal(sent[0].query.voice, 'female_01.wav');
    assert.equal(sent[0].query.language, 'auto');
    const byLanguage = await synthesizeWithLanguage(port, 'Hola.', 'es');
    assert.ok(byLanguage.wav);
    assert.equal(generations(sim)[2].query.language, 'es');
    await synthesize(port, 'Plain name.', { voice: 'male_01.wav' });
    assert.equal(generations(sim)[3].query.voice, 'male_01.wav');
  });

  it('a phrase already said comes from the audio cache; the output says so', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim);
    const first = await synthesize(port, 'Turned on the kitchen light.', { voice: 'female_01.wav@en' });
    const second = await synthesize(port, 'Turned on the kitchen light.', { voice: 'female_01.wav@en' });
    assert.equal(generations(sim).length, 1, 'generated once');
    assert.ok(second.pcm.equals(first.pcm), 'the same audio');
    await waitFor(() => outputs.length === 2, 'outputs');
    assert.deepEqual(outputs.map((m) => m.cached), [false, true]);
  });

  it('streaming: each sentence as soon as it is complete, one audio group each, one format; synthesize-stopped at the end', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim);
    const chunks = ['The weather today ', 'is sunny. Tomorrow ', 'it will rain', ' in the afternoon. Take an umbrella'];
    const r = await synthesizeStreaming(port, chunks, { voice: 'female_01.wav@en', gapMs: 30 });
    assert.ok(!r.lost && !r.error, JSON.stringify(r.error || r.events.map((e) => e.type)));
    assert.equal(r.groups, 3, 'three sentences, three audio groups');
    const types = r.events.map((e) => e.type);
    assert.equal(types[types.length - 1], 'synthesize-stopped');
    assert.equal(types.filter((t) => t === 'audio-stop').length, 3);
    const starts = r.events.filter((e) => e.type === 'audio-start').map((e) => JSON.stringify(e.data));
    assert.equal(new Set(starts).size, 1, 'every group in one format');
    assert.deepEqual(generations(sim).map((q) => q.query.text),
      ['The weather today is sunny.', 'Tomorrow it will rain in the afternoon.', 'Take an umbrella'], 'the repeated synthesize was ignored');
    assert.ok(parseWav(r.wav).duration > 0.5);
    await waitFor(() => outputs.length === 1, 'one output for the whole stream');
    assert.equal(outputs[0].streaming, true);
    assert.equal(outputs[0].payload, chunks.join(''));
  });

  it('streaming events are taken even when streaming is not advertised', async function () {
    sim = await startSim();
    const { port } = await deploy(sim, { streaming: false });
    assert.equal(voicesByLanguage((await describeServer(port)).info).program.supports_synthesize_streaming, false);
    const r = await synthesizeStreaming(port, ['One. ', 'Two.'], { voice: 'female_01.wav@en' });
    assert.equal(r.groups, 2);
  });

  it('a text over AllTalk\'s limit is split at sentences and spoken in order, in one audio group', async function () {
    sim = await startSim({ msPerChar: 0, streamChunkIntervalMs: 0 });
    const { port, outputs } = await deploy(sim);
    const sentence = 'The washing machine has finished its programme and the laundry can come out now. ';
    const text = sentence.repeat(40).trim();
    const r = await synthesize(port, text, { voice: 'female_01.wav@en' });
    assert.ok(r.wav);
    assert.equal(r.events.filter((e) => e.type === 'audio-start').length, 1);
    const parts = generations(sim).map((q) => q.query.text);
    assert.ok(parts.length >= 2, `${parts.length} parts`);
    for (const p of parts) assert.ok(p.length <= 2000 && p.endsWith('.'), `cut at a sentence end: …${p.slice(-20)}`);
    assert.equal(parts.join(' '), text, 'everything, in order');
    await waitFor(() => outputs.length === 1, 'output');
    assert.equal(outputs[0].error, undefined);
  });

  it('Assist replies wait in the server\'s queue with the node\'s priority: before messages of priority 0', async function () {
    const TTS = require('../../nodes/alltalk-tts.js');
    sim = await startSim();
    const port = await freePort();
    await helper.load([...nodes, TTS], [...wyomingFlow(sim, port, { priority: 5, cache: false }),
      { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'buffer', cache: false, wires: [[]] }]);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    await waitForPort(port);
    const release = sim.holdEngine();
    helper.getNode('tts').receive({ payload: 'First, in flight.' });
    await waitFor(() => sim.generations.length === 1, 'the first generating');
    helper.getNode('tts').receive({ payload: 'Second, priority zero.' });
    await waitFor(() => helper.getNode('cfg').connection.queue.length === 1, 'one waiting');
    const assist = synthesize(port, 'Assist, priority five.', { voice: 'female_01.wav@en' });
    await waitFor(() => helper.getNode('cfg').connection.queue.length === 2, 'two waiting');
    release();
    assert.ok((await assist).wav);
    await waitFor(() => sim.generations.length === 3, 'all three');
    assert.deepEqual(sim.generations.map((g) => g.params.text_input ?? g.params.text), ['First, in flight.', 'Assist, priority five.', 'Second, priority zero.']);
  });

  it('alltalk-control\'s stop ends what is being spoken: the client gets an error event', async function () {
    const CONTROL = require('../../nodes/alltalk-control.js');
    sim = await startSim({ streamChunkIntervalMs: 50, streamChunkSamples: 1200 });
    const port = await freePort();
    await helper.load([...nodes, CONTROL], [...wyomingFlow(sim, port, { cache: false }),
      { id: 'ctl', type: 'alltalk-control', server: 'cfg', command: 'stop', wires: [[]] }]);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    await waitForPort(port);
    let stopped = false;
    const r = await synthesize(port, 'A long announcement that will be stopped half way through its many words.', {
      voice: 'female_01.wav@en',
      onEvent: (e) => {
        if (e.type === 'audio-chunk' && !stopped) {
          stopped = true;
          helper.getNode('ctl').receive({});
        }
      },
    });
    assert.equal(r.lost, true, 'no audio-stop after the stop');
    const error = r.events.find((e) => e.type === 'error');
    assert.ok(error, JSON.stringify(r.events.map((e) => e.type)));
    assert.match(error.data.text, /stop/i);
  });

  it('ping → pong; unknown events are ignored', async function () {
    const { connect, encode, EventStream } = require('./ha-client');
    sim = await startSim();
    const { port } = await deploy(sim);
    const socket = await connect(port);
    const events = new EventStream(socket);
    socket.write(Buffer.concat([encode('run-satellite'), encode('ping', { text: 'hi' }), encode('transcribe', { language: 'en' }), encode('ping')]));
    const a = await events.next();
    const b = await events.next();
    assert.deepEqual([a.type, a.data.text, b.type], ['pong', 'hi', 'pong']);
    socket.destroy();
  });
});

/** A request with only a language, as a client that names no voice may send. */
async function synthesizeWithLanguage(port, text, language) {
  const { connect, encode, EventStream, wavOf } = require('./ha-client');
  const socket = await connect(port);
  const events = new EventStream(socket);
  socket.write(encode('synthesize', { text, voice: { language } }));
  const pcm = [];
  let format;
  for (;;) {
    const e = await events.next();
    if (!e || e.type === 'audio-stop') break;
    if (e.type === 'audio-chunk') {
      format ??= e.data;
      pcm.push(e.payload);
    }
  }
  socket.destroy();
  return { wav: format ? wavOf(format, Buffer.concat(pcm)) : undefined };
}
