'use strict';
// alltalk-stream in a real Node-RED runtime against the simulator: chunks as they arrive, the join
// node rebuilding the WAV, buffer and file output, stop in both simulator modes, and every way a
// stream can go wrong.
const assert = require('node:assert/strict');
const asyncHooks = require('node:async_hooks');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, collect, watchStatus, ready, runOn } = require('./support');
const { parseWav, fixWavSizes } = require('../../dist/api');

const STREAM = require('../../nodes/alltalk-stream.js');
const TTS = require('../../nodes/alltalk-tts.js');
const JOIN = require('@node-red/nodes/core/sequence/17-split.js');
const nodes = [NODES.config, STREAM, TTS, JOIN];

const VOICE = 'female_01.wav';
const LONG = 'The garden lights are on and the back door is still open, please check it before bed. ';

function flow(sim, streamProps = {}, cfgProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'st', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: VOICE, language: 'en', output: '', filePath: '', maxCharacters: 2000, splitLongText: false, wires: [['out']], ...streamProps },
    { id: 'out', type: 'helper' },
  ];
}

let seq = 0;
const msg = (props) => ({ _msgid: `s${++seq}`, ...props });

/** Records how messages to node `id` end: done() / done(err), per message object. */
function ends(id) {
  const n = helper.getNode(id);
  const log = [];
  const complete = n._complete;
  n._complete = function (m, err) {
    log.push({ msg: m, err });
    return complete.apply(this, arguments);
  };
  return log;
}

const last = (out) => out.find((m) => m.parts && m.parts.count !== undefined);
const streams = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate-streaming');

describe('alltalk-stream', function () {
  let sim;
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-stream-'));
  });
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('output chunks', function () {
    it('passes audio on as it arrives: whole samples, a header first, msg.parts and msg.audioFormat, the msg kept', async function () {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20 });
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const out = [];
      const arrived = [];
      helper.getNode('out').on('input', (m) => {
        out.push(m);
        arrived.push(performance.timeOrigin + performance.now());
      });
      helper.getNode('st').receive(msg({ payload: 'The washing machine has finished.', topic: 'laundry', extra: 1 }));
      await waitFor(() => last(out), 'the last chunk');
      const gen = sim.generations[0];
      assert.ok(arrived[0] < gen.endedAt - 100, 'the first chunk left the node well before the server finished');
      assert.ok(out.length > 5);
      assert.equal(out[0].payload.toString('ascii', 0, 4), 'RIFF');
      assert.equal(out[0].payload.readUInt32LE(40), 0, 'the header as streamed (sizes 0)');
      assert.ok((out[0].payload.length - 44) % 2 === 0, 'whole samples after the header');
      out.forEach((m, i) => {
        if (i > 0) assert.equal(m.payload.length % 2, 0, `chunk ${i} holds whole samples`);
        assert.deepEqual(m.audioFormat, { sampleRate: 24000, channels: 1, bitsPerSample: 16 });
        assert.equal(m.parts.index, i);
        assert.equal(m.parts.type, 'buffer');
        assert.equal(m.parts.ch, '');
        assert.equal(m.parts.id, out[0].parts.id);
        assert.equal(m.topic, 'laundry');
        assert.equal(m.extra, 1);
        assert.equal(m.parts.count === undefined, i < out.length - 1, 'count on the last only');
      });
      const a = last(out).alltalk;
      assert.equal(a.stopped, false);
      assert.deepEqual(a.request, { text: 'The washing machine has finished.', voice: VOICE, language: 'en', output_file: 'stream_output' });
      const data = out.reduce((n, m) => n + m.payload.length, 0);
      assert.equal(a.bytes, data);
      assert.equal(a.seconds, (data - 44) / 48000);
      assert.equal(Math.round(a.seconds * 24000), Math.round(gen.audioSeconds * 24000));
      for (const k of ['queuedMs', 'firstAudioMs', 'totalMs']) assert.equal(typeof a.timing[k], 'number');
      assert.ok(a.timing.firstAudioMs < a.timing.totalMs);
    });

    it('a core join node in automatic mode rebuilds exactly the streamed WAV', async function () {
      sim = await startSim({ streamChunkSamples: 1000, streamChunkIntervalMs: 1 });
      // In a tab and with a position: otherwise Node-RED takes a join node for a config node.
      const inTab = (n) => (n.type === 'alltalk-config' ? n : { ...n, z: 'tab', x: 100, y: 100 });
      await helper.load(nodes, [
        { id: 'tab', type: 'tab' },
        ...[...flow(sim, { wires: [['join', 'out']] }),
          { id: 'join', type: 'join', mode: 'auto', build: 'buffer', property: 'payload', propertyType: 'msg', wires: [['joined']] },
          { id: 'joined', type: 'helper' },
          { id: 'buf', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: VOICE, language: 'en', output: 'buffer', wires: [['out']] },
        ].map(inTab),
      ]);
      await ready(sim);
      const joined = collect(helper.getNode('joined'));
      const out = collect(helper.getNode('out'));
      const text = 'Joined back into one file, byte for byte.';
      helper.getNode('st').receive(msg({ payload: text }));
      await waitFor(() => joined.length === 1, 'the joined message');
      const chunks = out.filter((m) => m.parts);
      assert.deepEqual(joined[0].payload, Buffer.concat(chunks.map((m) => m.payload)));
      helper.getNode('buf').receive(msg({ payload: text }));
      await waitFor(() => out.some((m) => !m.parts), 'the buffer output');
      const whole = out.find((m) => !m.parts).payload;
      assert.deepEqual(fixWavSizes(joined[0].payload), whole, 'the same audio as output buffer, once its sizes are written');
    });

    it('a split text streams part after part as one sequence with one header', async function () {
      sim = await startSim({ streamChunkSamples: 4800, streamChunkIntervalMs: 1 });
      await helper.load(nodes, flow(sim, { splitLongText: true, maxCharacters: 100 }));
      await ready(sim);
      const out = collect(helper.getNode('out'));
      helper.getNode('st').receive(msg({ payload: LONG.repeat(3) }));
      await waitFor(() => last(out), 'the last chunk');
      assert.equal(streams(sim).length, 3);
      const riffs = out.filter((m) => m.payload.length >= 4 && m.payload.toString('ascii', 0, 4) === 'RIFF');
      assert.equal(riffs.length, 1, 'one header');
      out.forEach((m, i) => assert.equal(m.parts.index, i));
      assert.equal(last(out).alltalk.request.length, 3);
      const audio = sim.generations.reduce((n, g) => n + Math.round(g.audioSeconds * 24000) * 2, 0);
      assert.equal(out.reduce((n, m) => n + m.payload.length, 0), 44 + audio);
    });
  });

  describe('output buffer and file', function () {
    it('buffer: one message with the whole WAV, its sizes written in', async function () {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 1 });
      await helper.load(nodes, flow(sim, { output: 'buffer' }));
      await ready(sim);
      const out = collect(helper.getNode('out'));
      helper.getNode('st').receive(msg({ payload: 'Collected into one buffer.', topic: 't' }));
      await waitFor(() => out.length === 1, 'the output');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(out.length, 1, 'one message only');
      const wav = out[0].payload;
      assert.equal(wav.readUInt32LE(4), wav.length - 8);
      assert.equal(wav.readUInt32LE(40), wav.length - 44);
      assert.equal(parseWav(wav).duration, out[0].alltalk.seconds);
      assert.equal(out[0].contentType, 'audio/wav');
      assert.equal(out[0].topic, 't');
      assert.equal(out[0].alltalk.bytes, wav.length);
      assert.equal(out[0].parts, undefined);
    });

    it('file: written as it arrives through a temporary name, the header fixed at the end', async function () {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 10 });
      const file = path.join(dir, 'door.wav');
      await helper.load(nodes, flow(sim, { output: 'file', filePath: file }));
      await ready(sim);
      const out = collect(helper.getNode('out'));
      let sawTemp = false;
      const watcher = setInterval(() => {
        sawTemp ||= fs.readdirSync(dir).some((f) => f.startsWith('.alltalk-') && fs.statSync(path.join(dir, f)).size > 44);
      }, 5);
      helper.getNode('st').receive(msg({ payload: 'Someone is at the front door, please open it.' }));
      await waitFor(() => out.length === 1, 'the output');
      clearInterval(watcher);
      assert.ok(sawTemp, 'audio reached the temporary file while the stream ran');
      assert.equal(out[0].payload, file);
      assert.equal(out[0].filename, file);
      const wav = fs.readFileSync(file);
      assert.equal(wav.readUInt32LE(4), wav.length - 8);
      assert.equal(wav.readUInt32LE(40), wav.length - 44);
      assert.equal(out[0].alltalk.bytes, wav.length);
      assert.deepEqual(fs.readdirSync(dir), ['door.wav']);
    });
  });

  describe('stop', function () {
    for (const mode of ['real', 'documented']) {
      it(`${mode} mode: msg.topic "stop" ends the stream at once; the last chunk says stopped; the stop itself sends nothing`, async function () {
        sim = await startSim({ mode, streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
        await helper.load(nodes, flow(sim));
        await ready(sim);
        const out = collect(helper.getNode('out'));
        const log = ends('st');
        const talk = msg({ payload: LONG });
        helper.getNode('st').receive(talk);
        await waitFor(() => out.length >= 2, 'streaming');
        const stop = msg({ topic: 'stop' });
        const stoppedAt = Date.now();
        helper.getNode('st').receive(stop);
        await waitFor(() => last(out), 'the finishing chunk', 2000);
        assert.ok(Date.now() - stoppedAt < 1000, 'within a second');
        const fin = last(out);
        assert.equal(fin.alltalk.stopped, true);
        assert.equal(fin.parts.count, out.length);
        assert.ok(fin.alltalk.seconds < LONG.length * 0.5, 'shorter than the full text');
        await waitFor(() => log.length === 2, 'both messages ended');
        assert.deepEqual(log.map((e) => e.msg === talk ? 'talk' : e.msg === stop ? 'stop' : '?').sort(), ['stop', 'talk']);
        assert.ok(log.every((e) => e.err === undefined), 'a stopped stream is not an error, nor is the stop');
        assert.ok(out.every((m) => m.topic !== 'stop'), 'the stop message sent nothing');
        await waitFor(() => sim.requests.some((r) => r.path === '/api/stop-generation'), 'the stop sent to the server');
      });
    }

    it('output buffer: the audio so far with a correct header; the queue place is given back at once', async function () {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
      await helper.load(nodes, [...flow(sim, { output: 'buffer' }),
        { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] }]);
      await ready(sim);
      const out = collect(helper.getNode('out'));
      helper.getNode('st').receive(msg({ payload: LONG }));
      await waitFor(() => sim.generations.length === 1, 'streaming');
      helper.getNode('tts').receive(msg({ payload: 'Waiting behind the stream.' }));
      await new Promise((r) => setTimeout(r, 300));
      helper.getNode('st').receive(msg({ stop: true }));
      await waitFor(() => out.length === 2, 'the stopped stream and the tts output');
      const stopped = out.find((m) => Buffer.isBuffer(m.payload));
      assert.equal(stopped.alltalk.stopped, true);
      assert.equal(stopped.payload.readUInt32LE(40), stopped.payload.length - 44);
      assert.ok(parseWav(stopped.payload).duration > 0);
      assert.ok(out.some((m) => typeof m.payload === 'string'), 'the tts message behind it was served');
    });

    it("a stop also ends this node's messages still waiting in the queue, each with one error", async function () {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const log = ends('st');
      helper.getNode('st').receive(msg({ payload: LONG }));
      helper.getNode('st').receive(msg({ payload: 'Second.' }));
      await waitFor(() => sim.generations.length === 1, 'streaming');
      helper.getNode('st').receive(msg({ topic: 'stop' }));
      await waitFor(() => log.length === 3, 'all three ended');
      const errors = log.filter((e) => e.err).map((e) => e.err.message);
      assert.equal(errors.length, 1);
      assert.match(errors[0], /Stopped by a stop message before it started streaming/);
      assert.equal(streams(sim).length, 1, 'the waiting one never reached the server');
    });
  });

  describe('failures', function () {
    it('a body cut short ends the message with one error for Catch, naming the server; no file is left', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { output: 'file', filePath: path.join(dir, 'cut.wav') }));
      await ready(sim);
      const log = ends('st');
      sim.cutNextStream(3000);
      helper.getNode('st').receive(msg({ payload: 'This stream will be cut short.' }));
      await waitFor(() => log.length === 1, 'the end');
      assert.equal(log[0].err.kind, 'offline');
      assert.match(log[0].err.message, new RegExp(`AllTalk at ${sim.url}.*cut the audio stream short`));
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    it('a stall (no bytes for the generation timeout) ends the message with a timeout error', async function () {
      // The first chunk comes at once, the next only after 5 s: longer than the 0.5 s timeout.
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 5000 });
      await helper.load(nodes, flow(sim, {}, { generationTimeout: 0.5 }));
      await ready(sim);
      const log = ends('st');
      const out = collect(helper.getNode('out'));
      helper.getNode('st').receive(msg({ payload: 'This one will stall after its first chunk.' }));
      await waitFor(() => log.length === 1, 'the end', 5000);
      assert.equal(log[0].err.kind, 'timeout');
      assert.match(log[0].err.message, /sent no audio for 0\.5 s after \d+ bytes/);
      assert.equal(out.length, 1, 'the first chunk had gone out');
    });

    it('a voice the server does not list is refused before sending; one it dropped since is a stream cut short', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { voice: '' }));
      await ready(sim);
      const log = ends('st');
      helper.getNode('st').receive(msg({ payload: 'Hello.', voice: 'nobody.wav' }));
      await waitFor(() => log.length === 1, 'refused');
      assert.equal(log[0].err.kind, 'validation');
      assert.match(log[0].err.message, /"nobody.wav" is not one of the server's voices/);
      assert.equal(streams(sim).length, 0);
      sim.voices = sim.voices.filter((v) => v !== 'male_01.wav');
      helper.getNode('st').receive(msg({ payload: 'Hello.', voice: 'male_01.wav' }));
      await waitFor(() => log.length === 2, 'cut');
      assert.equal(log[1].err.kind, 'offline');
      assert.match(log[1].err.message, /cut the audio stream short after 0 bytes.*voice may not exist/);
    });

    it('no voice at all, an engine that cannot stream, an apitts model: refused before sending, saying what to use', async function () {
      sim = await startSim({ profile: 'piper' });
      await helper.load(nodes, flow(sim, { voice: '' }));
      await ready(sim);
      const log = ends('st');
      helper.getNode('st').receive(msg({ payload: 'Hello.' }));
      helper.getNode('st').receive(msg({ payload: 'Hello.', voice: sim.voices[0] }));
      await waitFor(() => log.length === 2, 'refused');
      assert.match(log[0].err.message, /No voice to stream with/);
      assert.match(log[1].err.message, /cannot stream \(streaming_capable is false\).*Use alltalk-tts/);
      sim.setProfile('xtts');
      sim.settings = { ...sim.settings, current_model_loaded: 'apitts - xttsv2_2.0.3' };
      await helper.getNode('cfg').connection.checkNow();
      helper.getNode('st').receive(msg({ payload: 'Hello.', voice: VOICE }));
      await waitFor(() => log.length === 3, 'refused');
      assert.match(log[2].err.message, /"apitts - xttsv2_2.0.3" cannot stream: load an "xtts - …" model/);
      assert.equal(streams(sim).length, 0);
    });

    it('closing the flow mid-stream ends the message with the aborted error and leaves no file, timer or socket', async function () {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
      // Sockets by count; timers by who made them during this test (not the test's own waiting).
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const before = sockets();
      const timers = new Map();
      const hook = asyncHooks.createHook({
        init(id, type) {
          if (type !== 'Timeout') return;
          const stack = new Error().stack;
          if (!/test[\\/]nodes[\\/](support|stream\.test)\.js|mocha[\\/]lib/.test(stack)) timers.set(id, stack);
        },
        destroy(id) {
          timers.delete(id);
        },
      }).enable();
      await helper.load(nodes, flow(sim, { output: 'file', filePath: path.join(dir, 'closed.wav') }));
      await ready(sim);
      const log = ends('st');
      helper.getNode('st').receive(msg({ payload: LONG }));
      await waitFor(() => fs.readdirSync(dir).length === 1, 'writing');
      await helper.unload();
      await waitFor(() => log.length === 1, 'the end');
      assert.equal(log[0].err.kind, 'aborted');
      await waitFor(() => fs.readdirSync(dir).length === 0, 'the temporary file removed');
      try {
        await waitFor(() => sockets() <= before && timers.size === 0, `timers and sockets back to ${before}`);
      } finally {
        hook.disable();
      }
    });
  });

  it('two stream nodes and a tts node on one server never overlap at the server', async function () {
    sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 2 });
    await helper.load(nodes, [...flow(sim),
      { id: 'st2', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: VOICE, language: 'en', output: 'buffer', wires: [['out']] },
      { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] }]);
    await ready(sim);
    const out = collect(helper.getNode('out'));
    const badge = watchStatus(helper.getNode('st2'));
    for (let i = 0; i < 3; i++) {
      helper.getNode('st').receive(msg({ payload: `Stream one, message ${i}.` }));
      helper.getNode('st2').receive(msg({ payload: `Stream two, message ${i}.` }));
      helper.getNode('tts').receive(msg({ payload: `Speech, message ${i}.` }));
    }
    await waitFor(() => out.filter((m) => !m.parts || m.parts.count !== undefined).length === 9, 'nine finished messages', 20000);
    assert.equal(sim.maxConcurrentGenerations, 1);
    assert.ok(badge.texts().some((t) => /^queued \(\d+\)$/.test(t)), badge.texts().join());
  });
  describe('voice and language', function () {
    /** The badges node `id` showed since it was made (deploy included). */
    const badgesOf = (id) => {
      const n = helper.getNode(id);
      return Object.getPrototypeOf(n).status.getCalls().filter((c) => c.thisValue === n).map((c) => c.args[0]);
    };

    it('a node without a voice says so on its badge at deploy; a message that brings one streams, one that does not is refused', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { voice: '', output: 'buffer' }));
      await ready(sim);
      await waitFor(() => badgesOf('st').some((b) => b.text === 'no voice chosen'), 'the no-voice badge', 2000);
      const badges = badgesOf('st');
      assert.deepEqual(badges[badges.length - 1], { fill: 'red', shape: 'ring', text: 'no voice chosen' }, JSON.stringify(badges));
      assert.ok(!badges.some((b) => b.text === 'ready'), 'the server\'s state does not hide it');
      const ok = await runOn('st', msg({ payload: 'Hello.', voice: 'male_01.wav' }));
      assert.equal(ok.error, undefined, ok.error && ok.error.message);
      assert.equal(streams(sim)[0].query.voice, 'male_01.wav');
      const refused = await runOn('st', msg({ payload: 'Hello.' }));
      assert.match(refused.error.message, /No voice to stream with/);
      assert.equal(streams(sim).length, 1, 'nothing sent for the refused one');
    });

    it('voice and language from anywhere: msg, an environment variable; nothing found leaves the field to msg.alltalk', async function () {
      sim = await startSim();
      process.env.ALLTALK_TEST_LANGUAGE = 'de';
      await helper.load(nodes, flow(sim, { voice: 'speaker.voice', voiceType: 'msg', language: 'ALLTALK_TEST_LANGUAGE', languageType: 'env', output: 'buffer' }));
      await ready(sim);
      const r1 = await runOn('st', msg({ payload: 'Hallo.', speaker: { voice: 'female_02.wav' } }));
      assert.equal(r1.error, undefined, r1.error && r1.error.message);
      assert.deepEqual([streams(sim)[0].query.voice, streams(sim)[0].query.language], ['female_02.wav', 'de']);
      // No msg.speaker.voice: the field is blank, so msg.alltalk.voice fills it as for a blank dialog field.
      const r2 = await runOn('st', msg({ payload: 'Hallo.', alltalk: { voice: 'male_02.wav' } }));
      assert.equal(r2.error, undefined, r2.error && r2.error.message);
      assert.equal(streams(sim)[1].query.voice, 'male_02.wav');
      // Something that is no voice name is refused, naming where it came from; nothing is sent.
      const r3 = await runOn('st', msg({ payload: 'Hallo.', speaker: { voice: { name: 'x' } } }));
      assert.match(r3.error.message, /voice from msg\.speaker\.voice is an object/);
      assert.equal(streams(sim).length, 2);
      delete process.env.ALLTALK_TEST_LANGUAGE;
    });

    it('a JSONata voice is worked out per message', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { voice: '$length(payload) > 10 ? "male_01.wav" : "female_01.wav"', voiceType: 'jsonata', output: 'buffer' }));
      await ready(sim);
      await runOn('st', msg({ payload: 'Short.' }));
      await runOn('st', msg({ payload: 'A somewhat longer text.' }));
      assert.deepEqual(streams(sim).map((r) => r.query.voice), ['female_01.wav', 'male_01.wav']);
    });
  });
});
