'use strict';
// alltalk-control in a real Node-RED runtime against the simulator: every command as the server
// parses it, every refusal sending nothing, model changes in the queue and verified, the start-up
// model put back, stop with and without clearing the queue, and the other nodes seeing it all.
const assert = require('node:assert/strict');
const { helper, NODES, startSim, configNode, waitFor, collect, watchStatus, ready, runOn } = require('./support');

const CONTROL = require('../../nodes/alltalk-control.js');
const TTS = require('../../nodes/alltalk-tts.js');
const OPENAI = require('../../nodes/alltalk-openai.js');
const STREAM = require('../../nodes/alltalk-stream.js');
const nodes = [NODES.config, NODES.status, CONTROL, TTS, OPENAI, STREAM];

const MAP = { alloy: 'female_01.wav', echo: 'male_01.wav', fable: 'female_02.wav', nova: 'female_03.wav', onyx: 'male_02.wav', shimmer: 'male_03.wav' };

function flow(sim, props = {}, more = []) {
  return [
    configNode(sim),
    { id: 'c', type: 'alltalk-control', server: 'cfg', command: '', keepModel: true, wires: [['out']], ...props },
    { id: 'out', type: 'helper' },
    ...more,
  ];
}

let seq = 0;
const msg = (props) => ({ _msgid: `c${++seq}`, ...props });

/** Sends one message to node `id` (default "c") and resolves when it ends. */
const run = (m, id = 'c') => runOn(id, m);

const sent = (sim, path) => sim.requests.filter((r) => r.path === path);

describe('alltalk-control', function () {
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('sends each command as the server parses it, with { ok, command, response, settings } out', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const cases = [
      [{ topic: 'stop' }, 'PUT', '/api/stop-generation', (r) => assert.deepEqual(r.query, {})],
      [{ topic: 'refresh' }, 'GET', '/api/reload_config', () => undefined],
      [{ topic: 'load-model', payload: 'xtts - xttsv2_2.0.2' }, 'POST', '/api/reload', (r) => assert.equal(r.query.tts_method, 'xtts - xttsv2_2.0.2')],
      [{ topic: 'deepspeed', payload: 'on' }, 'POST', '/api/deepspeed', (r) => assert.equal(r.query.new_deepspeed_value, 'true')],
      [{ topic: 'lowvram', payload: false }, 'POST', '/api/lowvramsetting', (r) => assert.equal(r.query.new_low_vram_value, 'false')],
      [{ topic: 'voicemap', payload: MAP }, 'PUT', '/api/openai-voicemap', (r) => assert.deepEqual(r.json, MAP)],
    ];
    for (const [props, method, path, check] of cases) {
      sim.clearRequests();
      const r = await run(msg({ ...props, extra: 1 }));
      assert.ok(r.msg, `${props.topic}: ${r.error && r.error.message}`);
      const [req] = sent(sim, path);
      assert.ok(req, `${props.topic} reached ${path}`);
      assert.equal(req.method, method);
      check(req);
      const p = r.msg.payload;
      assert.equal(p.ok, true);
      assert.equal(p.command, props.topic);
      assert.ok(p.response !== undefined);
      assert.equal(p.settings.current_engine_loaded, 'xtts', `${props.topic}: fresh settings`);
      assert.equal(r.msg.extra, 1, 'the rest of the message is kept');
    }
    assert.deepEqual(sim.openaiVoiceMap, MAP);
  });

  it('the dialog sets the command and its argument; msg.topic and msg.payload are used only when it is blank', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { command: 'load-model', model: 'xtts - xttsv2_2.0.2' }));
    await ready(sim);
    const r = await run(msg({ topic: 'stop', payload: 'apitts - xttsv2_2.0.3' }));
    assert.equal(r.msg.payload.command, 'load-model');
    assert.equal(sent(sim, '/api/reload')[0].query.tts_method, 'xtts - xttsv2_2.0.2');
    assert.equal(sent(sim, '/api/stop-generation').length, 0);
  });

  describe('refusals send nothing', function () {
    const refusals = [
      [{ topic: 'shutdown' }, /"shutdown" is unknown.*stop, refresh, load-model, deepspeed, lowvram, voicemap/],
      [{ topic: 'engine', payload: 'piper' }, /Switching the TTS engine over the API is broken.*AllTalk's own web interface/],
      [{ topic: 'load-model', payload: 'xtts - v9' }, /"xtts - v9" is not one the server has: xtts - xttsv2_2.0.2, apitts - xttsv2_2.0.2, xtts - xttsv2_2.0.3/],
      [{ topic: 'deepspeed', payload: 'maybe' }, /needs on or off/],
      [{ topic: 'voicemap', payload: { alloy: 'female_01.wav', echo: 'nobody.wav', bogus: 'x' } }, /fable, nova, onyx, shimmer are missing; bogus is not an OpenAI voice; echo → "nobody.wav" is not one of the server's voices/],
      [{ topic: 'voicemap', payload: 'female_01.wav' }, /must be an object with the six keys/],
    ];
    for (const [props, message] of refusals) {
      it(JSON.stringify(props).slice(0, 80), async function () {
        sim = await startSim();
        await helper.load(nodes, flow(sim));
        await ready(sim);
        const r = await run(msg(props));
        assert.equal(r.error.kind, 'validation', r.error.message);
        assert.match(r.error.message, message);
        assert.equal(sim.requests.length, 0);
      });
    }

    it('DeepSpeed and low VRAM on an engine that cannot, and DeepSpeed not installed: each says which', async function () {
      sim = await startSim({ profile: 'piper' });
      await helper.load(nodes, flow(sim));
      await ready(sim);
      assert.match((await run(msg({ topic: 'deepspeed', payload: true }))).error.message, /"piper" cannot use DeepSpeed \(deepspeed_capable is false\)/);
      assert.match((await run(msg({ topic: 'lowvram', payload: true }))).error.message, /"piper" has no low-VRAM mode \(lowvram_capable is false\)/);
      sim.setProfile('xtts');
      sim.settings = { ...sim.settings, deepspeed_available: false };
      await helper.getNode('cfg').connection.checkNow();
      sim.clearRequests();
      assert.match((await run(msg({ topic: 'deepspeed', payload: true }))).error.message, /DeepSpeed is not installed on the AllTalk machine \(deepspeed_available is false\)/);
      assert.equal(sim.requests.length, 0);
    });
  });

  describe('model changes', function () {
    it('load-model is verified: a server that answers success but keeps the old model is an error', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      sim.failNext('/api/reload', 1, { status: 200, body: { status: 'model-success' } });
      const r = await run(msg({ topic: 'load-model', payload: 'xtts - xttsv2_2.0.2' }));
      assert.equal(r.error.kind, 'rejected');
      assert.match(r.error.message, /answered model-success, but reports "xtts - xttsv2_2.0.3" loaded instead of "xtts - xttsv2_2.0.2"/);
    });

    it('status "error" and model-failure replies (HTTP 200) are failures with the server\'s message', async function () {
      sim = await startSim();
      await helper.load(nodes, flow(sim));
      await ready(sim);
      sim.failNext('/api/deepspeed', 1, { status: 200, body: { status: 'error', message: 'Runtime error: CUDA out of memory' }, contentType: null });
      const ds = await run(msg({ topic: 'deepspeed', payload: true }));
      assert.equal(ds.error.kind, 'rejected');
      assert.match(ds.error.message, /CUDA out of memory/);
      sim.failNext('/api/reload', 1, { status: 200, body: { status: 'model-failure' } });
      const lm = await run(msg({ topic: 'load-model', payload: 'xtts - xttsv2_2.0.2' }));
      assert.equal(lm.error.kind, 'rejected');
      assert.match(lm.error.message, /could not load model "xtts - xttsv2_2.0.2" \(model-failure\)/);
    });

    it('DeepSpeed reloads the start-up model: the model that was loaded is loaded again (unless told not to)', async function () {
      sim = await startSim();
      await helper.load(nodes, [...flow(sim), { id: 'c2', type: 'alltalk-control', server: 'cfg', command: 'deepspeed', deepspeed: '', keepModel: false, wires: [['out']] }]);
      await ready(sim);
      const change = !sim.settings.deepspeed_enabled;
      assert.ok((await run(msg({ topic: 'load-model', payload: 'xtts - xttsv2_2.0.2' }))).msg);
      sim.clearRequests();
      const on = await run(msg({ topic: 'deepspeed', payload: change }));
      assert.deepEqual(on.msg.payload.modelRestored, { startupModel: 'xtts - xttsv2_2.0.3', reloaded: 'xtts - xttsv2_2.0.2' });
      assert.equal(on.msg.payload.settings.current_model_loaded, 'xtts - xttsv2_2.0.2');
      assert.deepEqual(sent(sim, '/api/reload').map((r) => r.query.tts_method), ['xtts - xttsv2_2.0.2']);
      const off = await run(msg({ payload: !change }), 'c2');
      assert.equal(off.msg.payload.modelRestored, undefined);
      assert.equal(off.msg.payload.settings.current_model_loaded, 'xtts - xttsv2_2.0.3', 'the start-up model stays');
    });

    it('a model load waits its turn behind queued generations; every node shows "loading model…"; the status node sees the new model', async function () {
      sim = await startSim({ modelLoadMs: 300 });
      await helper.load(nodes, flow(sim, {}, [
        { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
        { id: 'st', type: 'alltalk-status', server: 'cfg', interval: 0, onlyChanges: true, wires: [['reports']] },
        { id: 'reports', type: 'helper' },
      ]));
      await ready(sim);
      const reports = collect(helper.getNode('reports'));
      const badge = watchStatus(helper.getNode('tts'));
      const release = sim.holdEngine();
      const first = run(msg({ payload: 'Before the model change.' }), 'tts');
      await waitFor(() => sim.generations.length === 1, 'a generation in flight');
      const load = run(msg({ topic: 'load-model', payload: 'xtts - xttsv2_2.0.2' }));
      const after = run(msg({ payload: 'After the model change.' }), 'tts');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(sent(sim, '/api/reload').length, 0, 'the load waits for the generation in flight');
      release();
      assert.ok((await first).msg);
      await waitFor(() => badge.texts().includes('loading model…'), 'the tts node shows loading model…');
      assert.ok((await load).msg);
      assert.ok((await after).msg);
      const reload = sent(sim, '/api/reload')[0];
      const gens = sim.generations.filter((g) => g.route === '/api/tts-generate');
      assert.ok(gens[0].endedAt <= reload.receivedAt, 'the generation ended before the load began');
      assert.ok(gens[1].startedAt >= reload.finishedAt, 'the next generation began after the load');
      assert.equal(sim.maxConcurrentGenerations, 1);
      await waitFor(() => reports.some((m) => m.payload.model === 'xtts - xttsv2_2.0.2'), 'the status node reports the new model');
    });
  });

  it('with "At once" 2, a model change still waits for every generation in flight, and nothing starts beside it', async function () {
    sim = await startSim({ modelLoadMs: 200 });
    await helper.load(nodes, [
      { ...configNode(sim), concurrency: 2 },
      { id: 'c', type: 'alltalk-control', server: 'cfg', command: 'load-model', model: 'xtts - xttsv2_2.0.2', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
    ]);
    await ready(sim);
    const release = sim.holdEngine();
    const first = run(msg({ payload: 'In flight when the load is asked for.' }), 'tts');
    await waitFor(() => sim.generations.length === 1, 'generating');
    const load = run(msg({}));
    const second = run(msg({ payload: 'Asked for after the load.' }), 'tts');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sent(sim, '/api/reload').length, 0, 'the load waits although a slot is free');
    assert.equal(sim.generations.length, 1, 'and what came after it waits behind it');
    release();
    assert.ok((await first).msg && (await load).msg && (await second).msg);
    const reload = sent(sim, '/api/reload')[0];
    const gens = sim.generations.filter((g) => g.route === '/api/tts-generate');
    assert.ok(gens[0].endedAt <= reload.receivedAt);
    assert.ok(gens[1].startedAt >= reload.finishedAt);
  });

  it('the voice map is refused while the server\'s voices are not known (nothing to check it against)', async function () {
    sim = await startSim();
    await sim.goAway();
    await helper.load(nodes, flow(sim));
    const r = await run(msg({ topic: 'voicemap', payload: MAP }));
    assert.equal(r.error.kind, 'validation');
    assert.match(r.error.message, /voices are not known yet/);
    await sim.comeBack();
    assert.equal(sent(sim, '/api/openai-voicemap').length, 0);
  });

  describe('stop', function () {
    async function busyServer(clearQueue) {
      sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
      await helper.load(nodes, flow(sim, { command: 'stop', clearQueue }, [
        { id: 'st', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: '', wires: [['chunks']] },
        { id: 'chunks', type: 'helper' },
        { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
        { id: 'oa', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'mp3', wires: [['out']] },
      ]));
      await ready(sim);
      const chunks = collect(helper.getNode('chunks'));
      helper.getNode('st').receive(msg({ payload: 'A long stream that will be stopped by the control node, long before it ends.' }));
      await waitFor(() => chunks.length >= 2, 'streaming');
      const queued = [run(msg({ payload: 'Queued speech.' }), 'tts'), run(msg({ payload: 'Queued OpenAI speech.' }), 'oa')];
      await waitFor(() => helper.getNode('cfg').connection.queue.length === 2, 'two waiting');
      return { chunks, queued };
    }

    it('without clearing: every stream ends at once (stopped), the queued messages then run', async function () {
      const { chunks, queued } = await busyServer(false);
      const r = await run(msg({}));
      assert.equal(r.msg.payload.streamsStopped, 1);
      assert.equal(r.msg.payload.cancelled, 0);
      await waitFor(() => chunks.some((m) => m.parts.count !== undefined), 'the stream\'s last chunk', 2000);
      assert.equal(chunks.find((m) => m.parts.count !== undefined).alltalk.stopped, true);
      const [tts, oa] = await Promise.all(queued);
      assert.ok(tts.msg && oa.msg, 'both queued messages were served');
      assert.equal(sent(sim, '/api/stop-generation').length, 1);
    });

    it('with clearing: the queued messages and the generation in flight each end once with "cancelled by alltalk-control stop"', async function () {
      const { chunks, queued } = await busyServer(true);
      const r = await run(msg({}));
      assert.equal(r.msg.payload.streamsStopped, 1);
      assert.equal(r.msg.payload.cancelled, 2);
      const results = await Promise.all(queued);
      for (const x of results) {
        assert.equal(x.error.kind, 'aborted');
        assert.match(x.error.message, /Cancelled by alltalk-control stop/);
      }
      await waitFor(() => chunks.some((m) => m.parts.count !== undefined), 'the stream\'s last chunk', 2000);
      assert.equal(sent(sim, '/api/tts-generate').length + sent(sim, '/v1/audio/speech').length, 0, 'nothing queued reached the server');
      // A generation in flight is cancelled too (the server finishes it in the background).
      const release = sim.holdEngine();
      const inFlight = run(msg({ payload: 'In flight.' }), 'tts');
      await waitFor(() => sim.generations.some((g) => g.route === '/api/tts-generate'), 'generating');
      const stop = await run(msg({ payload: { clearQueue: true } }));
      release();
      assert.equal(stop.msg.payload.cancelled, 1);
      assert.match((await inFlight).error.message, /Cancelled by alltalk-control stop/);
    });
  });
});
