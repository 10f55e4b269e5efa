'use strict';
// Routing between AllTalk servers, continued (see failover.test.js): shared load spreads a burst;
// stop and interrupt act on every server of the group; a 4xx or our own validation is not tried
// elsewhere; a redeploy ends a rerouted message once; the status lists the fallbacks; cycles are
// harmless and fallbacks of fallbacks are not followed; the cache never lets a stand-in's audio
// answer for the primary.
const assert = require('node:assert/strict');
const { FakeServer, silentServer, send } = require('../api/fake-server');
const {
  helper, server, ttsNode, outputs, member, waitUp, deploy, generationRequests, texts, track, pause, waitFor, useServers,
} = require('./failover-support');

describe('failover between AllTalk servers: the group (alltalk-tts, alltalk-control, alltalk-status)', function () {
  this.timeout(30000);
  const { servers, pair, stopLater } = useServers();

  describe('shared load', function () {
    for (const share of [true, false]) {
      it(`a burst of 10 messages ${share ? 'is spread over both servers (share on)' : 'all go to the primary (share off)'}`, async function () {
        const [a, b] = await servers('xtts', 'xtts');
        await deploy(pair(a, b, { share }), ['cfgA', 'cfgB'], [a, b]);
        const t = track(['speak']);
        // Alone, on a tie (no jobs anywhere): its own server.
        const alone = t.send('speak', { payload: 'Alone.' });
        await t.settled([alone]);
        assert.equal(t.ok(alone).alltalk.server.id, 'cfgA');
        a.clearRequests();
        const ids = Array.from({ length: 10 }, (_, i) => t.send('speak', { payload: `Burst ${i}.` }));
        await t.settled(ids, 20000);
        const outs = ids.map((id) => t.ok(id));
        const onA = outs.filter((o) => o.alltalk.server.id === 'cfgA').length;
        const onB = outs.filter((o) => o.alltalk.server.id === 'cfgB').length;
        assert.equal(onA + onB, 10);
        assert.equal(texts(a).length, onA);
        assert.equal(texts(b).length, onB);
        if (share) {
          assert.ok(onA >= 3 && onB >= 3, `spread: ${onA} on alpha, ${onB} on beta`);
          for (const o of outs.filter((x) => x.alltalk.rerouted)) assert.match(o.alltalk.reroutedBecause, /^shared load: beta had \d+ jobs, alpha \d+$/);
          assert.ok(a.generations.length > 0 && b.generations.length > 0);
        } else {
          assert.equal(onA, 10);
          assert.equal(b.generations.length, 0, 'beta generated nothing');
          assert.ok(outs.every((o) => o.alltalk.rerouted === false));
        }
      });
    }
  });

  describe('stop and interrupt act on every server of the group', function () {
    const ways = [
      ['alltalk-control stop with "also clear the queue"', { clearQueue: true }, { topic: 'stop' }, /^Cancelled by alltalk-control stop: the queue of AllTalk at (\S+) was cleared\.$/],
      ['alltalk-control stop with msg.alltalk.interrupt', { clearQueue: false }, { topic: 'stop', alltalk: { interrupt: true } }, /^Cancelled by alltalk-control stop: the queue of AllTalk at (\S+) was cleared\.$/],
      ['a message with msg.alltalk.interrupt', null, { payload: 'Doorbell!', alltalk: { interrupt: true } }, /^Interrupted by alltalk-tts \(id ring\) \(msg\.alltalk\.interrupt\): the queue of AllTalk at (\S+) was cleared\.$/],
    ];
    for (const [what, ctlProps, msg, expected] of ways) {
      it(`${what}: messages queued and generating on the primary and on the fallback are cancelled`, async function () {
        const [a, b] = await servers('xtts', 'xtts');
        const more = [
          { id: 'ctl', type: 'alltalk-control', server: 'cfgA', command: '', ...(ctlProps || {}), wires: [['out']] },
          ttsNode('ring', 'cfgA'),
        ];
        await deploy(pair(a, b, { share: true }, {}, more), ['cfgA', 'cfgB'], [a, b]);
        const t = track(['speak', 'ctl', 'ring']);
        const holds = [a.holdEngine(), b.holdEngine()];
        const ids = [];
        for (let i = 0; i < 6; i++) {
          ids.push(t.send('speak', { payload: `Waiting ${i}.` }));
          await waitFor(() => member('cfgA').load + member('cfgB').load === i + 1, `${i + 1} jobs`);
        }
        await waitFor(() => a.generations.length === 1 && b.generations.length === 1, 'one generating on each');
        assert.equal(member('cfgA').load, 3);
        assert.equal(member('cfgB').load, 3);
        const stop = t.send(ctlProps ? 'ctl' : 'ring', msg);
        await t.settled(ids);
        const origins = { [`http://127.0.0.1:${a.port}`]: 0, [`http://127.0.0.1:${b.port}`]: 0 };
        for (const id of ids) {
          const err = t.failed(id);
          const m = expected.exec(err.message);
          assert.ok(m, err.message);
          origins[m[1]]++;
        }
        assert.deepEqual(Object.values(origins), [3, 3], 'three cancelled on each server');
        holds.forEach((release) => release());
        await t.settled([stop]);
        const out = t.ok(stop);
        if (ctlProps) {
          assert.equal(out.payload.cancelled, 3);
          assert.equal(out.payload.fallbacks.length, 1);
          assert.equal(out.payload.fallbacks[0].server.id, 'cfgB');
          assert.equal(out.payload.fallbacks[0].cancelled, 3);
        } else {
          assert.equal(out.alltalk.rerouted, false);
        }
        assert.ok(a.requests.some((r) => r.path === '/api/stop-generation'), 'alpha was told to stop');
        assert.ok(b.requests.some((r) => r.path === '/api/stop-generation'), 'beta was told to stop');
        // Nothing that waited reached a server.
        assert.equal(texts(a).length + texts(b).length, 2 + (ctlProps ? 0 : 1));
        await pause(300);
        for (const id of ids) t.failed(id);
      });
    }

    it('the other control commands go to the named server only (refresh)', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      const more = [{ id: 'ctl', type: 'alltalk-control', server: 'cfgA', command: '', wires: [['out']] }];
      await deploy(pair(a, b, { share: true }, {}, more), ['cfgA', 'cfgB'], [a, b]);
      const t = track(['ctl']);
      const id = t.send('ctl', { topic: 'refresh' });
      await t.settled([id]);
      t.ok(id);
      assert.equal(a.requests.filter((r) => r.path === '/api/reload_config').length, 1);
      assert.equal(b.requests.filter((r) => r.path === '/api/reload_config').length, 0);
    });
  });

  describe('what is not tried elsewhere', function () {
    for (const status of [400, 422]) {
      it(`HTTP ${status} from the primary: the message fails, the fallback is not tried`, async function () {
        const [b] = await servers('xtts');
        const a = new FakeServer((req, res) => (req.url.startsWith('/api/tts-generate')
          ? send(res, status, { detail: status === 422 ? [{ loc: ['body', 'text_input'], msg: 'bad', type: 'value_error' }] : 'Bad request' })
          : false));
        await a.start();
        stopLater(a);
        await deploy(pair(a, b), ['cfgA', 'cfgB'], [b]);
        const t = track(['speak']);
        const id = t.send('speak', { payload: 'Refused.' });
        await t.settled([id]);
        const err = t.failed(id);
        assert.match(err.message, new RegExp(String(status)));
        assert.equal(a.to('/api/tts-generate').length, 1);
        assert.equal(generationRequests(b).length, 0, 'beta was not tried');
        assert.equal(member('cfgA').up, true, 'an answer is not a server down');
      });
    }

    it('HTTP 500 from the primary: the message is retried on the fallback', async function () {
      const [b] = await servers('xtts');
      const a = new FakeServer((req, res) => (req.url.startsWith('/api/tts-generate') ? send(res, 500, { detail: 'boom' }) : false));
      await a.start();
      stopLater(a);
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [b]);
      const t = track(['speak']);
      const id = t.send('speak', { payload: 'Server error.' });
      await t.settled([id]);
      const out = t.ok(id);
      assert.equal(out.alltalk.rerouted, true);
      assert.match(out.alltalk.reroutedBecause, /^alpha failed: .*500/);
      assert.equal(a.to('/api/tts-generate').length, 1, 'alpha once');
      assert.deepEqual(texts(b), ['Server error.']);
    });

    it('the fallback fails too (each server once): the message ends once with the fallback\'s error', async function () {
      const [b] = await servers('xtts');
      const a = new FakeServer((req, res) => (req.url.startsWith('/api/tts-generate') ? send(res, 503, { detail: 'overloaded' }) : false));
      await a.start();
      stopLater(a);
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [b]);
      b.failNext('/api/tts-generate', 5, { status: 500, body: { detail: 'also broken' } });
      const t = track(['speak']);
      const id = t.send('speak', { payload: 'Nowhere.' });
      await t.settled([id]);
      const err = t.failed(id);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${b.port}`), err.message);
      assert.equal(a.to('/api/tts-generate').length, 1, 'alpha once');
      assert.equal(generationRequests(b).length, 1, 'beta once');
      await pause(300);
      t.failed(id);
    });

    it('our own validation (a message that is not valid): refused, neither server gets anything, also while the primary is down', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
      const t = track(['speak']);
      const bad = [{ payload: '' }, { payload: 'Too fast.', speed: 'fast' }, { payload: 'No such voice.', voice: 'nobody.wav' }];
      for (const props of bad) {
        const id = t.send('speak', props);
        await t.settled([id]);
        assert.equal(t.failed(id).code, 'ALLTALK_VALIDATION');
      }
      await a.goAway();
      await helper.getNode('cfgA').connection.checkNow();
      for (const props of bad) {
        const id = t.send('speak', props);
        await t.settled([id]);
        assert.equal(t.failed(id).code, 'ALLTALK_VALIDATION');
      }
      assert.equal(generationRequests(a).length, 0);
      assert.equal(generationRequests(b).length, 0);
    });
  });

  it('redeployed while a rerouted message is generating on the fallback: it ends once with an error, nothing is left hanging', async function () {
    const [a, b] = await servers('xtts', 'xtts');
    const flow = pair(a, b);
    await deploy(flow, ['cfgA', 'cfgB'], [a, b]);
    const t = track(['speak']);
    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const release = b.holdEngine();
    const id = t.send('speak', { payload: 'In flight on beta.' });
    await waitFor(() => b.generations.length === 1, 'generating on beta');
    const oldB = helper.getNode('cfgB').connection;
    await helper.setFlows(flow.map((n) => ({ ...n })));
    await t.settled([id]);
    const err = t.failed(id);
    assert.equal(err.code, 'ALLTALK_ABORTED', err.message);
    const request = generationRequests(b)[0];
    await waitFor(() => request.finishedAt !== undefined, 'beta\'s request closed');
    assert.equal(oldB.queue.running + oldB.queue.length, 0, 'nothing left in the old queue');
    release();
    await pause(300);
    t.failed(id);
    // The new flow works, on the fallback while alpha is away.
    await waitUp('cfgB');
    const t2 = track(['speak']);
    const next = t2.send('speak', { payload: 'After the redeploy.' });
    await t2.settled([next]);
    assert.equal(t2.ok(next).alltalk.server.id, 'cfgB');
  });

  describe('configurations', function () {
    it('alltalk-status lists each fallback with name, address and state; an unknown fallback is a warning on deploy, not a crash', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      const c = await silentServer();
      stopLater(c);
      const flow = [
        server('cfgA', 'alpha', a, { fallbacks: ['cfgB', 'no-such-config', 'cfgC'] }),
        server('cfgB', 'beta', b),
        server('cfgC', 'gamma', c),
        ttsNode('speak', 'cfgA'),
        { id: 'stat', type: 'alltalk-status', server: 'cfgA', wires: [['out']] },
        ...outputs(),
      ];
      await deploy(flow, ['cfgA', 'cfgB'], [a, b]);
      await waitFor(() => helper.log().args.some(([e]) => e.level === helper.log().WARN && /no-such-config/.test(e.msg)), 'the warning');
      const warning = helper.log().args.map(([e]) => e).find((e) => /no-such-config/.test(e.msg));
      assert.equal(warning.id, 'cfgA');
      assert.equal(warning.msg, 'The fallback server "no-such-config" does not exist (it was deleted?): it is left out.');
      const t = track(['stat', 'speak']);
      const s1 = t.send('stat', {});
      await t.settled([s1]);
      const { fallbacks } = t.ok(s1).payload;
      assert.deepEqual(fallbacks.map((f) => [f.id, f.name, f.url, f.up]), [
        ['cfgB', 'beta', `http://127.0.0.1:${b.port}`, true],
        ['cfgC', 'gamma', `http://127.0.0.1:${c.port}`, false],
      ]);
      assert.equal(fallbacks[0].state, 'ready');
      assert.notEqual(fallbacks[1].state, 'ready');
      // Messages still run (on alpha), and beta's state follows it.
      const m = t.send('speak', { payload: 'Still fine.' });
      await t.settled([m]);
      assert.equal(t.ok(m).alltalk.server.id, 'cfgA');
      await b.goAway();
      await helper.getNode('cfgB').connection.checkNow();
      const s2 = t.send('stat', {});
      await t.settled([s2]);
      const after = t.ok(s2).payload.fallbacks[0];
      assert.equal(after.state, 'offline');
      assert.equal(after.up, false);
    });

    it('a cycle: two servers listing only each other (as the editor stores them) both start, and each falls back on the other', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      const flow = [
        server('cfgA', 'alpha', a, { fallbacks: ['cfgB'] }),
        server('cfgB', 'beta', b, { fallbacks: ['cfgA'] }),
        ttsNode('speakA', 'cfgA'),
        ttsNode('speakB', 'cfgB'),
        ...outputs(),
      ];
      assert.deepEqual(flow[0].fallbacks, [{ id: 'cfgB' }]);
      await deploy(flow, ['cfgA', 'cfgB'], [a, b]);
      assert.deepEqual(helper.getNode('cfgA').group.members().map((m) => m.ref.id), ['cfgA', 'cfgB']);
      assert.deepEqual(helper.getNode('cfgB').group.members().map((m) => m.ref.id), ['cfgB', 'cfgA']);
      const t = track(['speakA', 'speakB']);
      await a.goAway();
      await helper.getNode('cfgA').connection.checkNow();
      const ids = [t.send('speakA', { payload: 'From alpha.' }), t.send('speakB', { payload: 'From beta.' })];
      await t.settled(ids);
      assert.equal(t.ok(ids[0]).alltalk.server.id, 'cfgB');
      assert.equal(t.ok(ids[0]).alltalk.rerouted, true);
      assert.equal(t.ok(ids[1]).alltalk.server.id, 'cfgB');
      assert.equal(t.ok(ids[1]).alltalk.rerouted, false);
      await a.comeBack();
      await waitUp('cfgA');
      await b.goAway();
      await helper.getNode('cfgB').connection.checkNow();
      const back = t.send('speakB', { payload: 'Beta to alpha.' });
      await t.settled([back]);
      assert.equal(t.ok(back).alltalk.server.id, 'cfgA');
      assert.equal(t.ok(back).alltalk.rerouted, true);
      // Both down: each message ends once, with an error, on its own server; no ping-pong.
      await a.goAway();
      await helper.getNode('cfgA').connection.checkNow();
      const none = [t.send('speakA', { payload: 'Nowhere A.' }), t.send('speakB', { payload: 'Nowhere B.' })];
      await t.settled(none);
      await pause(300);
      for (const id of none) assert.equal(t.failed(id).code, 'ALLTALK_OFFLINE');
    });

    it('fallbacks of fallbacks are not followed: alpha falls back on beta, beta on gamma; with alpha and beta down alpha\'s message fails', async function () {
      const [a, b, c] = await servers('xtts', 'xtts', 'xtts');
      const flow = [
        server('cfgA', 'alpha', a, { fallbacks: ['cfgB'] }),
        server('cfgB', 'beta', b, { fallbacks: ['cfgC'] }),
        server('cfgC', 'gamma', c),
        ttsNode('speakA', 'cfgA'),
        ttsNode('speakB', 'cfgB'),
        ...outputs(),
      ];
      await deploy(flow, ['cfgA', 'cfgB', 'cfgC'], [a, b, c]);
      assert.deepEqual(helper.getNode('cfgA').group.members().map((m) => m.ref.id), ['cfgA', 'cfgB']);
      const t = track(['speakA', 'speakB']);
      for (const [sim, cfg] of [[a, 'cfgA'], [b, 'cfgB']]) {
        await sim.goAway();
        await helper.getNode(cfg).connection.checkNow();
      }
      const none = t.send('speakA', { payload: 'Nowhere to go.' });
      const viaC = t.send('speakB', { payload: 'Beta goes to gamma.' });
      await t.settled([none, viaC]);
      assert.equal(t.failed(none).code, 'ALLTALK_OFFLINE');
      assert.equal(t.ok(viaC).alltalk.server.id, 'cfgC');
      assert.deepEqual(texts(c), ['Beta goes to gamma.'], 'gamma got only beta\'s message');
      await pause(300);
      t.failed(none);
    });

    it('plain ids are taken too (a list, or one text with commas); itself and repeats are left out', async function () {
      const [a, b, c] = await servers('xtts', 'xtts', 'xtts');
      const flow = [
        { ...server('cfgA', 'alpha', a), fallbacks: ['cfgA', 'cfgC', 'cfgB', 'cfgC'] },
        { ...server('cfgB', 'beta', b), fallbacks: 'cfgC, cfgA' },
        server('cfgC', 'gamma', c),
        ttsNode('speakA', 'cfgA'),
        ...outputs(),
      ];
      await deploy(flow, ['cfgA', 'cfgB', 'cfgC'], [a, b, c]);
      assert.deepEqual(helper.getNode('cfgA').group.members().map((m) => m.ref.id), ['cfgA', 'cfgC', 'cfgB']);
      assert.deepEqual(helper.getNode('cfgB').group.members().map((m) => m.ref.id), ['cfgB', 'cfgC', 'cfgA']);
      const t = track(['speakA']);
      await a.goAway();
      await helper.getNode('cfgA').connection.checkNow();
      const id = t.send('speakA', { payload: 'First fallback in order.' });
      await t.settled([id]);
      assert.equal(t.ok(id).alltalk.server.id, 'cfgC', 'the first fallback that is up, in order');
      assert.equal(generationRequests(b).length, 0);
    });
  });

  it('the cache: audio a Piper fallback made never answers for the XTTS primary; back on XTTS the message generates there, then is cached', async function () {
    const [a, b] = await servers('xtts', 'piper');
    const flow = [
      server('cfgA', 'alpha', a, { fallbacks: ['cfgB'] }),
      server('cfgB', 'beta', b),
      ttsNode('speak', 'cfgA', { cache: true }),
      ...outputs(),
    ];
    await deploy(flow, ['cfgA', 'cfgB'], [a, b]);
    const t = track(['speak']);
    const words = { payload: 'Cached words.', voice: 'female_01.wav' };
    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const away = t.send('speak', { ...words });
    await t.settled([away]);
    const stand = t.ok(away);
    assert.equal(stand.alltalk.rerouted, true);
    assert.equal(stand.alltalk.cached, false);
    assert.equal(generationRequests(b).length, 1);
    await a.comeBack();
    await waitUp('cfgA');
    const home = t.send('speak', { ...words });
    await t.settled([home]);
    const out = t.ok(home);
    assert.equal(out.alltalk.rerouted, false);
    assert.equal(out.alltalk.cached, false, 'not answered with the stand-in\'s audio');
    assert.deepEqual(texts(a), ['Cached words.'], 'generated on XTTS');
    assert.ok(!out.payload.equals(stand.payload), 'other audio than Piper\'s');
    const again = t.send('speak', { ...words });
    await t.settled([again]);
    const cached = t.ok(again);
    assert.equal(cached.alltalk.cached, true);
    assert.ok(cached.payload.equals(out.payload), 'XTTS\'s audio from the cache');
    assert.equal(texts(a).length, 1);
    assert.equal(generationRequests(b).length, 1);
  });
});

