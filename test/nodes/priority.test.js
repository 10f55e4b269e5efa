'use strict';
// msg.priority and msg.alltalk.interrupt with alltalk-tts, alltalk-openai and alltalk-stream on ONE
// server (and alltalk-control's model changes): the order the simulator receives the requests in,
// the queued badges, an interrupt cancelling the others' queued and in-flight work with one error
// each naming the interrupter, and bad values refused with nothing sent.
const assert = require('node:assert/strict');
const { helper, NODES, startSim, configNode, waitFor, collect, watchStatus, ready } = require('./support');

const TTS = require('../../nodes/alltalk-tts.js');
const OPENAI = require('../../nodes/alltalk-openai.js');
const STREAM = require('../../nodes/alltalk-stream.js');
const CONTROL = require('../../nodes/alltalk-control.js');
const nodes = [NODES.config, TTS, OPENAI, STREAM, CONTROL];

const GENERATION_ROUTES = ['/api/tts-generate', '/v1/audio/speech', '/api/tts-generate-streaming'];

/** tts "t" (and "b"), openai "o" and stream "s" (chunks to "chunks") on one server; `names` gives some a name. */
function flow(sim, names = {}, cfg = {}) {
  return [
    configNode(sim, cfg),
    { id: 'b', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
    { id: 't', type: 'alltalk-tts', name: names.t, server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
    { id: 'o', type: 'alltalk-openai', name: names.o, server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'mp3', wires: [['out']] },
    { id: 's', type: 'alltalk-stream', name: names.s, server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: '', wires: [['chunks']] },
    { id: 'c', type: 'alltalk-control', server: 'cfg', command: '', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'chunks', type: 'helper' },
  ];
}

let seq = 0;

/**
 * Watches every message sent to t, o, s and c: how each ended (done / done(err), from Node-RED's
 * own _complete, once per message) and what came out for it.
 */
function watch() {
  const ends = {};
  for (const id of ['b', 't', 'o', 's', 'c']) {
    const n = helper.getNode(id);
    const complete = n._complete;
    n._complete = function (m, err) {
      (ends[m._msgid] ??= []).push({ node: id, err });
      return complete.apply(this, arguments);
    };
  }
  const outputs = {};
  const record = (m) => (outputs[m._msgid] ??= []).push(m);
  helper.getNode('out').on('input', record);
  helper.getNode('chunks').on('input', (m) => {
    // a chunk message has a msgid of its own; the stream's last chunk stands for the message
    if (m.parts && m.parts.count !== undefined) (outputs[m.source] ??= []).push(m);
  });
  const send = (id, props) => {
    const m = { _msgid: `p${++seq}`, ...props };
    if (id === 's') m.source = m._msgid;
    helper.getNode(id).receive(m);
    return m._msgid;
  };
  return { ends, outputs, send };
}

/** The text of each generation-type request, in the order the simulator received them. */
function generationTexts(sim) {
  return sim.requests.filter((r) => GENERATION_ROUTES.includes(r.path)).map((r) => {
    if (r.path === '/api/tts-generate') return r.form.text_input;
    if (r.path === '/v1/audio/speech') return r.json.input;
    return r.query.text;
  });
}

const queue = () => helper.getNode('cfg').connection.queue;

describe('priority and interrupt (alltalk-tts, alltalk-openai, alltalk-stream on one server)', function () {
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('messages of different priorities reach the server in priority order (arrival order among equals); badges show their places', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { ends, outputs, send } = watch();
    const badges = { t: watchStatus(helper.getNode('t')), o: watchStatus(helper.getNode('o')), s: watchStatus(helper.getNode('s')) };
    const release = sim.holdEngine();
    const ids = [send('b', { payload: 'Blocker.' })];
    await waitFor(() => sim.generations.length === 1, 'the first generation in flight');
    // Arrival is when a message reaches the queue: each is sent once the one before it is waiting
    // (nodes check and look in the cache first, which takes each its own time).
    const sends = [['t', { payload: 'A zero.' }], ['o', { payload: 'B five.', priority: 5 }], ['s', { payload: 'C one.', priority: 1 }],
      ['t', { payload: 'D five.', priority: '5' }], ['o', { payload: 'E minus one.', priority: -1 }], ['s', { payload: 'F ten.', priority: ' 10 ' }],
      ['t', { payload: 'G zero.', priority: null }]];
    for (const [i, [node, props]] of sends.entries()) {
      ids.push(send(node, props));
      await waitFor(() => queue().length === i + 1, `${i + 1} waiting`);
    }
    // F(s) 1, B(o) 2, D(t) 3, C(s) 4, A(t) 5, G(t) 6, E(o) 7: each node shows its first place.
    const shown = () => [badges.t.last(), badges.o.last(), badges.s.last()].map((b) => b && b.text);
    await waitFor(() => shown().join() === 'queued (3),queued (2),queued (1)', 'the badges of the places', 3000)
      .catch(() => assert.deepEqual(shown(), ['queued (3)', 'queued (2)', 'queued (1)']));
    release();
    await waitFor(() => ids.every((id) => ends[id]), 'every message ended', 20000);
    assert.deepEqual(generationTexts(sim), ['Blocker.', 'F ten.', 'B five.', 'D five.', 'C one.', 'A zero.', 'G zero.', 'E minus one.']);
    for (const id of ids) {
      assert.equal(ends[id].length, 1, `${id} ended once`);
      assert.equal(ends[id][0].err, undefined, `${id}: ${ends[id][0].err && ends[id][0].err.message}`);
      assert.equal(outputs[id].length, 1, `${id} answered once`);
    }
    assert.equal(sim.maxConcurrentGenerations, 1);
  });

  it('an interrupt cancels the queued and in-flight work of the other nodes, one error each naming the interrupter, and goes first', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { o: 'Doorbell' }));
    await ready(sim);
    const { ends, outputs, send } = watch();
    const badgeO = watchStatus(helper.getNode('o'));
    const release = sim.holdEngine();
    const inFlight = send('t', { payload: 'In flight.' });
    await waitFor(() => sim.generations.length === 1, 'generating');
    const queued = [send('s', { payload: 'Queued stream.', priority: 5 }), send('t', { payload: 'Queued speech.' }), send('o', { payload: 'Queued OpenAI speech.' })];
    await waitFor(() => queue().length === 3, 'three waiting');
    const doorbell = send('o', { payload: 'Someone is at the door.', alltalk: { interrupt: true } });
    const origin = `http://127.0.0.1:${sim.port}`;
    const expected = `Interrupted by alltalk-openai "Doorbell" (msg.alltalk.interrupt): the queue of AllTalk at ${origin} was cleared.`;
    await waitFor(() => [inFlight, ...queued].every((id) => ends[id]), 'the cancelled messages ended');
    const after = send('t', { payload: 'After the doorbell.', priority: 9 });
    for (const id of [inFlight, ...queued]) {
      assert.equal(ends[id].length, 1);
      assert.equal(ends[id][0].err.message, expected);
      assert.equal(ends[id][0].err.code, 'ALLTALK_ABORTED');
    }
    release();
    await waitFor(() => ends[doorbell] && ends[after], 'the doorbell and the message after it', 20000);
    assert.equal(ends[doorbell][0].err, undefined, ends[doorbell][0].err && ends[doorbell][0].err.message);
    assert.ok(Buffer.isBuffer(outputs[doorbell][0].payload) && outputs[doorbell][0].payload.length > 0, 'the interrupter\'s audio arrived');
    assert.equal(ends[after][0].err, undefined);
    await new Promise((r) => setTimeout(r, 300));
    for (const id of [inFlight, ...queued, doorbell, after]) assert.equal(ends[id].length, 1, `${id} ended once`);
    for (const id of [inFlight, ...queued]) assert.equal(outputs[id], undefined, `${id} was not answered`);
    // The stop was sent before the interrupter's request; nothing queued reached the server.
    const paths = sim.requests.map((r) => r.path);
    assert.ok(paths.indexOf('/api/stop-generation') >= 0 && paths.indexOf('/api/stop-generation') < paths.indexOf('/v1/audio/speech'), paths.join(' '));
    assert.deepEqual(generationTexts(sim), ['In flight.', 'Someone is at the door.', 'After the doorbell.']);
    assert.ok(badgeO.texts().some((t) => t.startsWith('done')));
  });

  it('an interrupting message answered from the audio cache interrupts all the same', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { ends, outputs, send } = watch();
    const first = send('o', { payload: 'Fire alarm!' });
    await waitFor(() => ends[first], 'the alarm generated once');
    const release = sim.holdEngine();
    const inFlight = send('t', { payload: 'Chatter in flight.' });
    await waitFor(() => sim.generations.length === 2, 'generating');
    const queued = send('s', { payload: 'Queued chatter.' });
    await waitFor(() => queue().length === 1, 'one waiting');
    const alarm = send('o', { payload: 'Fire alarm!', alltalk: { interrupt: true } });
    await waitFor(() => ends[alarm] && ends[inFlight] && ends[queued], 'everything ended');
    release();
    assert.equal(ends[alarm][0].err, undefined);
    assert.equal(outputs[alarm][0].alltalk.cached, true);
    for (const id of [inFlight, queued]) assert.match(ends[id][0].err.message, /^Interrupted by alltalk-openai \(id o\)/);
  });

  it('an interrupt ends a stream in progress (stopped, as alltalk-control\'s stop), cancels what waits, and a node without a name is named by type and id', async function () {
    sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { ends, outputs, send } = watch();
    const chunks = collect(helper.getNode('chunks'));
    const stream = send('s', { payload: 'A long stream that an interrupt will end, long before it is over.' });
    await waitFor(() => chunks.length >= 2, 'streaming');
    const waiting = [send('o', { payload: 'Waiting OpenAI speech.' }), send('s', { payload: 'Waiting stream.' })];
    await waitFor(() => queue().length === 2, 'two waiting');
    const alarm = send('t', { payload: 'Alarm!', alltalk: { interrupt: 'true' } });
    await waitFor(() => ends[alarm] && ends[stream] && waiting.every((id) => ends[id]), 'everything ended', 20000);
    assert.equal(ends[stream][0].err, undefined, 'a stream in progress is stopped, not failed');
    assert.equal(outputs[stream].length, 1);
    assert.equal(outputs[stream][0].alltalk.stopped, true);
    for (const id of waiting) {
      assert.equal(ends[id].length, 1);
      assert.equal(ends[id][0].err.message, `Interrupted by alltalk-tts (id t) (msg.alltalk.interrupt): the queue of AllTalk at http://127.0.0.1:${sim.port} was cleared.`);
    }
    assert.equal(ends[alarm][0].err, undefined, ends[alarm][0].err && ends[alarm][0].err.message);
    assert.match(outputs[alarm][0].payload, /\/audio\/\w+\.wav$/);
    assert.deepEqual(generationTexts(sim).slice(1), ['Alarm!'], 'nothing that waited reached the server');
  });

  it('two interrupts in a row: the later one cancels the earlier (started or not) with one error, and runs', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim, { t: 'Alarm', o: 'Doorbell' }));
    await ready(sim);
    const { ends, outputs, send } = watch();
    const release = sim.holdEngine();
    const first = send('o', { payload: 'First interrupt.', alltalk: { interrupt: true } });
    await waitFor(() => sim.generations.length === 1, 'the first interrupt generating');
    const second = send('t', { payload: 'Second interrupt.', alltalk: { interrupt: true } });
    const third = send('s', { payload: 'Third interrupt.', alltalk: { interrupt: true } });
    await waitFor(() => ends[first] && ends[second], 'the first two ended');
    assert.match(ends[first][0].err.message, /^Interrupted by alltalk-tts "Alarm" \(msg\.alltalk\.interrupt\)/);
    assert.match(ends[second][0].err.message, /^Interrupted by alltalk-stream \(id s\) \(msg\.alltalk\.interrupt\)/);
    release();
    await waitFor(() => ends[third], 'the third ended', 20000);
    assert.equal(ends[third][0].err, undefined, ends[third][0].err && ends[third][0].err.message);
    assert.equal(outputs[third].length, 1);
    await new Promise((r) => setTimeout(r, 300));
    for (const id of [first, second, third]) assert.equal(ends[id].length, 1, `${id} ended once`);
    assert.equal(outputs[first], undefined);
    assert.equal(outputs[second], undefined);
    assert.deepEqual(generationTexts(sim), ['First interrupt.', 'Third interrupt.']);
  });

  it('alltalk-control: msg.priority places a model change among queued generations; an interrupting load-model goes first', async function () {
    sim = await startSim({ modelLoadMs: 50 });
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { ends, send } = watch();
    const release = sim.holdEngine();
    const ids = [send('t', { payload: 'In flight.' })];
    await waitFor(() => sim.generations.length === 1, 'generating');
    ids.push(send('t', { payload: 'Zero.' }), send('c', { topic: 'load-model', payload: 'xtts - xttsv2_2.0.2', priority: 1 }), send('o', { payload: 'Two.', priority: 2 }));
    await waitFor(() => queue().length === 3, 'three waiting');
    release();
    await waitFor(() => ids.every((id) => ends[id]), 'all ended', 20000);
    for (const id of ids) assert.equal(ends[id][0].err, undefined, `${id}: ${ends[id][0].err && ends[id][0].err.message}`);
    const order = sim.requests.filter((r) => r.path === '/api/reload' || GENERATION_ROUTES.includes(r.path))
      .map((r) => (r.path === '/api/reload' ? 'reload' : r.form ? r.form.text_input : r.json.input));
    assert.deepEqual(order, ['In flight.', 'Two.', 'reload', 'Zero.']);

    sim.clearRequests();
    const release2 = sim.holdEngine();
    const busy = [send('t', { payload: 'Busy.' })];
    await waitFor(() => sim.generations.length === 1, 'generating again');
    busy.push(send('o', { payload: 'Waiting.', priority: 100 }));
    await waitFor(() => queue().length === 1, 'one waiting');
    const load = send('c', { topic: 'load-model', payload: 'xtts - xttsv2_2.0.3', alltalk: { interrupt: true } });
    await waitFor(() => busy.every((id) => ends[id]), 'the others cancelled');
    for (const id of busy) assert.match(ends[id][0].err.message, /^Interrupted by alltalk-control \(id c\) \(msg\.alltalk\.interrupt\)/);
    release2();
    await waitFor(() => ends[load], 'the model change ended', 20000);
    assert.equal(ends[load][0].err, undefined, ends[load][0].err && ends[load][0].err.message);
    assert.equal(sim.requests.filter((r) => r.path === '/api/reload').length, 1);
  });

  it('alltalk-control: stop with msg.alltalk.interrupt clears the queue, as "also clear the queue" does; a waiting stream says who', async function () {
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { ends, outputs, send } = watch();
    const release = sim.holdEngine();
    const inFlight = send('t', { payload: 'In flight.' });
    await waitFor(() => sim.generations.length === 1, 'generating');
    const waiting = send('s', { payload: 'A waiting stream.' });
    await waitFor(() => queue().length === 1, 'one waiting');
    const stop = send('c', { topic: 'stop', alltalk: { interrupt: true } });
    await waitFor(() => ends[inFlight] && ends[waiting], 'both cancelled');
    for (const id of [inFlight, waiting]) assert.match(ends[id][0].err.message, /^Cancelled by alltalk-control stop: the queue of AllTalk at .* was cleared\.$/);
    release();
    await waitFor(() => ends[stop], 'the stop ended', 10000);
    assert.equal(outputs[stop][0].payload.cancelled, 2);
  });

  describe('bad values are refused with nothing sent', function () {
    const bad = [
      [{ priority: NaN }, /msg\.priority is NaN: it must be a number \(higher goes first, the default is 0\), or a string holding one\. Nothing was sent to AllTalk\./],
      [{ priority: Infinity }, /msg\.priority is Infinity/],
      [{ priority: 'high' }, /msg\.priority is "high"/],
      [{ priority: '0x10' }, /msg\.priority is "0x10"/],
      [{ priority: { level: 1 } }, /msg\.priority is an object/],
      [{ priority: true }, /msg\.priority is true/],
      [{ alltalk: { interrupt: 'yes' } }, /msg\.alltalk\.interrupt is "yes": it must be true or false\. Nothing was sent to AllTalk\./],
      [{ alltalk: { interrupt: 1 } }, /msg\.alltalk\.interrupt is 1/],
    ];
    for (const id of ['t', 'o', 's', 'c']) {
      it(`${id === 't' ? 'alltalk-tts' : id === 'o' ? 'alltalk-openai' : id === 's' ? 'alltalk-stream' : 'alltalk-control'}`, async function () {
        sim = await startSim();
        await helper.load(nodes, flow(sim));
        await ready(sim);
        const { ends, send } = watch();
        const extra = id === 'c' ? { topic: 'load-model', payload: 'xtts - xttsv2_2.0.2' } : { payload: 'Hello.' };
        for (const [props, message] of bad) {
          const m = send(id, { ...extra, ...props });
          await waitFor(() => ends[m], 'the message ended');
          const { err } = ends[m][0];
          assert.ok(err, `${JSON.stringify(props)} was refused`);
          assert.equal(err.code, 'ALLTALK_VALIDATION');
          assert.match(err.message, message);
          assert.equal(err.shortReason, props.priority !== undefined ? 'bad priority' : 'bad interrupt', 'the badge says which');
        }
        // A priority getter that throws, on a message without a prototype: refused, not a crash.
        const odd = Object.assign(Object.create(null), { _msgid: `p${++seq}`, ...extra });
        Object.defineProperty(odd, 'priority', { enumerable: true, get() { throw new Error('no priority here'); } });
        helper.getNode(id).receive(odd);
        await waitFor(() => ends[odd._msgid], 'the odd message ended');
        assert.match(ends[odd._msgid][0].err.message, /The message could not be read: no priority here\. Nothing was sent to AllTalk\./);
        assert.equal(sim.requests.length, 0, 'nothing was sent');
      });
    }
  });
});
