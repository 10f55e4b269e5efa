'use strict';
// One test per defect of "never wedged, never crashed, never unbounded" that lives in the nodes:
// a message that could crash Node-RED, a raw TypeError, a file problem found only after the
// server worked, an unbounded split text, a warning in the log, an offline state lagging.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, collect, ready } = require('./support');
const { AllTalkError, encodeWav, parseWav } = require('../../dist/api');
const { WavPartsBuffer } = require('../../dist/runtime/wav-parts');
const { FakeServer } = require('../api/fake-server');

const TTS = require('../../nodes/alltalk-tts.js');
const nodes = [NODES.config, NODES.status, TTS];

function flow(sim, ttsProps = {}, cfgProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: '', filePath: '', wires: [['out']], ...ttsProps },
    { id: 'st', type: 'alltalk-status', server: 'cfg', interval: 0, onlyChanges: false, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
}

let seq = 0;
const id = () => `r${++seq}`;

/**
 * Sends `msg` to node `nodeId` and resolves how it ended: { ended: [errors given to done] , errors:
 * node.error calls, outputs }. Node-RED's done() ends in node._complete(msg, err): counted there.
 */
async function end(nodeId, msg, settleMs = 150) {
  const n = helper.getNode(nodeId);
  const out = helper.getNode('out');
  const ended = [];
  const errors = [];
  const outputs = [];
  const complete = n._complete;
  n._complete = function (m, err) {
    if (m === msg) ended.push(err);
    return complete.apply(this, arguments);
  };
  const onError = (call) => errors.push(call.args);
  const onOut = (m) => outputs.push(m);
  n.on('call:error', onError);
  out.on('input', onOut);
  try {
    n.receive(msg);
    await waitFor(() => ended.length > 0, `message ${msg._msgid} to end`);
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    n._complete = complete;
    n.off('call:error', onError);
    out.off('input', onOut);
  }
  return { ended, errors, outputs };
}

const generations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate');

describe('robustness of the nodes', function () {
  let sim;
  let dir;
  const rejections = [];
  const onRejection = (reason) => rejections.push(reason);

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-robust-'));
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
  });
  afterEach(async function () {
    process.off('unhandledRejection', onRejection);
    await helper.unload();
    helper.settings({});
    if (sim) await sim.stop();
    sim = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  });

  describe('a message that could take Node-RED down', function () {
    it('alltalk-status: a getter-only msg.payload ends the message with one clear error', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const msg = { _msgid: id() };
      Object.defineProperty(msg, 'payload', { get: () => 'read only', enumerable: true });
      const r = await end('st', msg);
      assert.equal(r.ended.length, 1);
      assert.equal(r.ended[0].name, 'AllTalkError');
      assert.match(r.ended[0].message, /msg\.payload cannot be written/);
      assert.equal(r.outputs.length, 0);
    });

    it('alltalk-tts: a message without a prototype that fails ends once and reaches the log and Catch', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const msg = Object.create(null);
      msg._msgid = id();
      msg.payload = '   ';
      const r = await end('tts', msg);
      assert.equal(r.ended.length, 1, 'done called once');
      assert.ok(r.errors.some(([err]) => /empty/.test(err.message)), 'the error was reported');
      assert.equal(generations(sim).length, 0);
    });

    it('alltalk-tts: a getter that throws on msg.alltalk becomes a validation error, nothing sent', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const msg = { _msgid: id(), payload: 'Hello there.' };
      Object.defineProperty(msg, 'alltalk', { get() { throw new TypeError('nope'); }, enumerable: true });
      const r = await end('tts', msg);
      assert.equal(r.ended[0].name, 'AllTalkError');
      assert.equal(r.ended[0].kind, 'validation');
      assert.match(r.ended[0].message, /could not be read: nope/);
      assert.equal(generations(sim).length, 0);
    });
  });

  describe('raw TypeErrors become our errors, before anything is sent', function () {
    it('a prototype-less msg.alltalk.output', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const r = await end('tts', { _msgid: id(), payload: 'Hello.', alltalk: { output: Object.create(null) } });
      assert.equal(r.ended[0].name, 'AllTalkError');
      assert.match(r.ended[0].message, /msg\.alltalk\.output is an object: it must be buffer, url or file/);
      assert.equal(generations(sim).length, 0);
    });

    it('a frozen message is refused before generating', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      const r = await end('tts', Object.freeze({ _msgid: id(), payload: 'Hello there.' }));
      assert.equal(r.ended[0].kind, 'validation');
      assert.match(r.ended[0].message, /frozen/);
      assert.equal(generations(sim).length, 0, 'nothing sent');
    });
  });

  describe('file targets are checked before anything is sent', function () {
    const fileFlow = (sim) => flow(sim, { output: 'file' });
    for (const [what, target, why] of [
      ['a NUL byte', () => path.join(dir, 'a\u0000b.wav'), /NUL byte/],
      ['a name over 255 bytes', () => path.join(dir, `${'x'.repeat(300)}.wav`), /304 bytes long; file systems allow 255/],
      ['a file used as a folder', () => {
        fs.writeFileSync(path.join(dir, 'plain'), 'x');
        return path.join(dir, 'plain', 'sub', 'out.wav');
      }, /is a file, not a folder/],
    ]) {
      it(`msg.filename with ${what}`, async function () {
        sim = await startSim();
        await helper.load(nodes, fileFlow(sim));
        await ready(sim);
        const r = await end('tts', { _msgid: id(), payload: 'Hello there.', filename: target() });
        assert.equal(r.ended[0].name, 'AllTalkError', String(r.ended[0]));
        assert.equal(r.ended[0].kind, 'validation');
        assert.match(r.ended[0].message, why);
        assert.equal(generations(sim).length, 0, 'nothing sent');
      });
    }

    it("a relative path starts in Node-RED's fileWorkingDirectory", async function () {
      sim = await startSim();
      helper.settings({ fileWorkingDirectory: dir });
      await helper.load(nodes, flow(sim, { output: 'file', filePath: 'announcements/door.wav', createFolders: true }));
      await ready(sim);
      const r = await end('tts', { _msgid: id(), payload: 'Someone is at the door.' });
      assert.equal(r.ended[0], undefined);
      const written = path.join(dir, 'announcements', 'door.wav');
      assert.equal(r.outputs[0].payload, written);
      assert.ok(parseWav(fs.readFileSync(written)).duration > 0);
    });
  });

  describe('split text is bounded', function () {
    const sentence = 'The washing machine has finished its programme and the laundry can come out now. ';

    it('a text over "Longest text" is refused before sending', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim, { splitLongText: true, maxCharacters: 200, maxTotalCharacters: 1000 }));
      await ready(sim);
      const r = await end('tts', { _msgid: id(), payload: sentence.repeat(20) });
      assert.equal(r.ended[0].kind, 'validation');
      assert.match(r.ended[0].message, /at most 1000 in all.*Longest text/);
      assert.equal(generations(sim).length, 0);
    });

    it('file mode joins the parts straight into the file: the same audio as buffer mode', async function () {
      sim = await startSim({ msPerChar: 0, minGenerationMs: 0 });
      const file = path.join(dir, 'long.wav');
      await helper.load(nodes, [
        ...flow(sim, { splitLongText: true, maxCharacters: 200, output: 'file', filePath: file }),
        { id: 'buf', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 200, splitLongText: true, output: 'buffer', wires: [['out']] },
      ]);
      await ready(sim);
      const text = sentence.repeat(6);
      const inFile = await end('tts', { _msgid: id(), payload: text });
      const inMemory = await end('buf', { _msgid: id(), payload: text });
      assert.equal(inFile.outputs[0].alltalk.parts, 3);
      assert.deepEqual(fs.readFileSync(file), inMemory.outputs[0].payload);
      assert.equal(inFile.outputs[0].alltalk.bytes, fs.statSync(file).size);
      assert.deepEqual(fs.readdirSync(dir), ['long.wav'], 'no temporary file left');
    });

    it('audio past "Max audio size" stops generating with a clear error and leaves no file', async function () {
      sim = await startSim({ msPerChar: 0, minGenerationMs: 0, audioSecondsPerChar: 0.02 });
      const file = path.join(dir, 'big.wav');
      await helper.load(nodes, flow(sim, { splitLongText: true, maxCharacters: 200, output: 'file', filePath: file }, { maxAudioMb: 1 }));
      await ready(sim);
      const r = await end('tts', { _msgid: id(), payload: sentence.repeat(12) });
      assert.equal(r.ended[0].kind, 'too-large');
      assert.match(r.ended[0].message, /more than 1 MB of audio.*stopped after part \d+ of 6/);
      assert.ok(generations(sim).length < 6, 'the rest was not generated');
      assert.deepEqual(fs.readdirSync(dir), [], 'no file and no temporary file');
    });
  });

  it('a Catch node sees the kind of error as msg.error.code', async function () {
    sim = await startSim();
    const CATCH = require('@node-red/nodes/core/common/25-catch.js');
    await helper.load([...nodes, CATCH], [
      { id: 'tab', type: 'tab' },
      { ...configNode(sim) },
      { id: 'tts', z: 'tab', x: 100, y: 100, type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [[]] },
      { id: 'catch', z: 'tab', x: 100, y: 200, type: 'catch', scope: ['tts'], uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'tab', x: 300, y: 200, type: 'helper' },
    ]);
    await ready(sim);
    const caught = collect(helper.getNode('caught'));
    helper.getNode('tts').receive({ _msgid: id(), payload: '' });
    await waitFor(() => caught.length === 1, 'the caught error');
    assert.equal(caught[0].error.code, 'ALLTALK_VALIDATION');
    await sim.goAway();
    helper.getNode('tts').receive({ _msgid: id(), payload: 'Anyone there?' });
    await waitFor(() => caught.length === 2, 'the second caught error');
    assert.equal(caught[1].error.code, 'ALLTALK_OFFLINE');
  });

  it('more than 10 messages waiting on one node log no MaxListenersExceededWarning', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { output: 'url' }));
    await ready(sim);
    const warnings = [];
    const onWarning = (w) => warnings.push(w);
    process.on('warning', onWarning);
    const release = sim.holdEngine();
    const out = collect(helper.getNode('out'));
    try {
      for (let i = 0; i < 15; i++) helper.getNode('tts').receive({ _msgid: id(), payload: `Message ${i}.` });
      await waitFor(() => helper.getNode('cfg').connection.queue.length >= 14, 'messages queued');
      release();
      await waitFor(() => out.length === 15, 'every message answered');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String), []);
  });

  it('RVC voice "disabled" in any case is accepted, as the server accepts it', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { rvccharacter_voice_gen: 'DISABLED', output: 'url' }));
    await ready(sim);
    const r = await end('tts', { _msgid: id(), payload: 'Hello there.' });
    assert.equal(r.ended[0], undefined, r.ended[0] && r.ended[0].message);
    assert.equal(generations(sim)[0].form.rvccharacter_voice_gen, 'DISABLED');
  });

  it('a generation that succeeds while the state says offline makes it ready at once', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { output: 'url' }, { timeout: 0.3, healthInterval: 3600 }));
    await ready(sim);
    const connection = helper.getNode('cfg').connection;
    await sim.goAway();
    await connection.checkNow();
    assert.equal(connection.state.state, 'offline');
    await sim.comeBack();
    const states = [];
    connection.on('state', (s) => states.push(s.state));
    const r = await end('tts', { _msgid: id(), payload: 'Back again.' }, 0);
    assert.equal(r.ended[0], undefined);
    assert.equal(connection.state.state, 'ready', 'ready when the output leaves');
    assert.deepEqual(states.slice(0, 1), ['ready']);
  });

  it('a config with an invalid API key header refuses at deploy, and messages end with that reason', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { output: 'url' }, { apiKeyHeader: 'X-API-Key:' }), { cfg: { apiKey: 'secret-key-1' } });
    const cfg = helper.getNode('cfg');
    assert.equal(cfg.connection.state.state, 'offline');
    assert.match(cfg.connection.state.reason, /"X-API-Key:" is not a valid HTTP header name/);
    const r = await end('tts', { _msgid: id(), payload: 'Hello.' });
    assert.equal(r.ended[0].kind, 'validation');
    assert.match(r.ended[0].message, /header name/);
    assert.ok(!r.ended[0].message.includes('secret-key-1'));
    assert.equal(sim.requests.length, 0);
  });
  describe('joining split parts refuses WAV headers no audio has (runtime level)', function () {
    const MB = 1024 * 1024;
    /** 20 KB of 16-bit mono silence at 24 kHz, its header then edited by `edit`. */
    const part = (edit = () => undefined) => {
      const wav = encodeWav(new Float32Array(10_000), { sampleRate: 24000, encoding: 's16' });
      edit(wav);
      return wav;
    };
    const oneHz = (w) => w.writeUInt32LE(1, 24);
    const zeroBits = (w) => w.writeUInt16LE(0, 34);
    for (const [what, parts, why] of [
      ['a second part at 1 Hz', [part(), part(oneHz)], /Part 2 .*a sample rate of 1 Hz/],
      ['a second part with 0 bits per sample', [part(), part(zeroBits)], /Part 2 .*0 bits per sample/],
      ['a first part at 1 Hz', [part(oneHz), part()], /Part 1 .*a sample rate of 1 Hz/],
    ]) {
      it(`${what}: invalid-response at once, no RangeError, no big allocation`, async function () {
        const joined = new WavPartsBuffer(10 * MB, parts.length);
        const rss = process.memoryUsage().rss;
        let thrown;
        try {
          for (const p of parts) await joined.add(p);
        } catch (err) {
          thrown = err;
        }
        const grown = process.memoryUsage().rss - rss;
        assert.ok(thrown instanceof AllTalkError, `an AllTalkError, not ${thrown && thrown.stack}`);
        assert.equal(thrown.kind, 'invalid-response', thrown.message);
        assert.match(thrown.message, why);
        assert.ok(grown < 100 * MB, `rss grew by ${Math.round(grown / MB)} MB`);
      });
    }
  });

  it('a config refused at deploy: alltalk-status reports offline with the reason, and nothing is polled', async function () {
    // The address the config names: nothing may reach it (nor the default 127.0.0.1:7851).
    const fake = new FakeServer();
    await fake.start();
    try {
      await helper.load(nodes, flow({ port: fake.port }, { output: 'url' }, { apiKeyHeader: 'X-API-Key:', healthInterval: 1 }),
        { cfg: { apiKey: 'secret-key-2' } });
      const cfg = helper.getNode('cfg');
      const r = await end('st', { _msgid: id(), payload: 'how are you?' });
      assert.equal(r.ended[0], undefined, r.ended[0] && r.ended[0].message);
      const report = r.outputs[0].payload;
      assert.equal(report.ready, false);
      assert.equal(report.state, 'offline');
      assert.match(report.reason, /"X-API-Key:" is not a valid HTTP header name/);
      assert.ok(!JSON.stringify(report).includes('secret-key-2'), 'the key is not in the report');
      // A refresh cannot reach a server either: the message ends with the reason, still nothing polled.
      const refreshed = await end('st', { _msgid: id(), topic: 'refresh', payload: 'refresh' });
      assert.equal(refreshed.ended[0].kind, 'validation');
      assert.match(refreshed.ended[0].message, /X-API-Key:/);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.equal(cfg.connection.state.state, 'offline');
      assert.match(cfg.connection.state.reason, /"X-API-Key:" is not a valid HTTP header name/, 'the reason was not replaced by a poll');
      assert.equal(fake.requests.length, 0, 'nothing reached the configured server');
    } finally {
      await helper.unload();
      await fake.stop();
    }
  });
});
