'use strict';
// alltalk-tts nodes sharing one server's queue: the concurrency limit under load, the queued
// badge, the queue limit, and closing the flow mid-generation.
const assert = require('node:assert/strict');
const { helper, startSim, configNode, waitFor, watchStatus, collect, watchErrors } = require('./support');
const { nodes, ttsFlow, generations, run, msg, ready } = require('./tts-support');

describe('alltalk-tts', function () {
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
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
