'use strict';
// Routing a message between AllTalk servers, in a real Node-RED runtime against two and three
// simulators on loopback: a server configuration with fallbacks (alltalk-tts, alltalk-openai).
// A primary that goes away before, during or between messages, or never answers, leaves its
// messages to the fallback (msg.alltalk.rerouted, reroutedBecause, the badge says via which),
// those waiting in its queue too; it is probed and gets its messages back after two good probes.
// Flapping never ends a message twice; a fallback without the voice or a capability gets a
// fitting request. The group as a whole: failover-group.test.js.
const assert = require('node:assert/strict');
const { watchStatus } = require('./support');
const { FakeServer, silentServer } = require('../api/fake-server');
const {
  helper, member, waitUp, deploy, generationRequests, texts, track, pause, waitFor, useServers,
} = require('./failover-support');

describe('failover between AllTalk servers (alltalk-tts, alltalk-openai)', function () {
  this.timeout(30000);
  const { servers, pair, stopLater } = useServers();

  describe('a primary that goes away', function () {
    it('killed before a message (not yet noticed): the message is retried on the fallback; back again, it gets messages after two good probes', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
      const t = track(['speak']);
      const badge = watchStatus(helper.getNode('speak'));
      const home = t.send('speak', { payload: 'At home.' });
      await t.settled([home]);
      const first = t.ok(home);
      assert.equal(first.alltalk.rerouted, false);
      assert.deepEqual(first.alltalk.server, { id: 'cfgA', name: 'alpha', url: `http://127.0.0.1:${a.port}` });
      assert.equal(first.alltalk.reroutedBecause, undefined);

      await a.goAway();
      assert.equal(member('cfgA').up, true, 'not noticed yet');
      const away = t.send('speak', { payload: 'Alpha is gone.' });
      await t.settled([away]);
      const out = t.ok(away);
      assert.equal(out.alltalk.rerouted, true);
      assert.deepEqual(out.alltalk.server, { id: 'cfgB', name: 'beta', url: `http://127.0.0.1:${b.port}` });
      assert.match(out.alltalk.reroutedBecause, /^alpha failed: /);
      assert.ok(Buffer.isBuffer(out.payload) && out.payload.toString('latin1', 0, 4) === 'RIFF');
      assert.deepEqual(texts(b), ['Alpha is gone.']);
      assert.deepEqual(texts(a), ['At home.']);
      await badge.waitFor('done');
      assert.match(badge.last().text, /^done .+ via beta$/);
      assert.equal(member('cfgA').up, false, 'the failure marked alpha down at once');

      // Back: still down until two probes in a row answered.
      const readyBefore = generationRequests(a, '/api/ready').length;
      await a.comeBack();
      await waitFor(() => a.requests.filter((r) => r.path === '/api/ready' && r.finishedAt).length > readyBefore, 'a first good answer', 3000);
      await pause(30);
      assert.equal(member('cfgA').up, false, 'one good probe is not enough');
      const still = t.send('speak', { payload: 'Right after the return.' });
      await t.settled([still]);
      assert.equal(t.ok(still).alltalk.rerouted, true, 'not up before its probes');
      assert.match(t.ok(still).alltalk.reroutedBecause, /^alpha is down: /);
      await waitUp('cfgA');
      assert.ok(generationRequests(a, '/api/ready').length - readyBefore >= 2, 'at least two probes');
      const back = t.send('speak', { payload: 'Home again.' });
      await t.settled([back]);
      const again = t.ok(back);
      assert.equal(again.alltalk.rerouted, false);
      assert.equal(again.alltalk.server.id, 'cfgA');
      assert.deepEqual(texts(a), ['At home.', 'Home again.']);
      assert.deepEqual(texts(b), ['Alpha is gone.', 'Right after the return.']);
      await badge.waitFor('done');
      await waitFor(() => !/via/.test(badge.last().text), 'a badge without "via"', 2000);
    });

    it('killed while generating: the reset request is retried on the fallback, the message ends once', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
      const t = track(['speak']);
      const release = a.holdEngine();
      const id = t.send('speak', { payload: 'Cut off in the middle.' });
      await waitFor(() => a.generations.length === 1, 'generating on alpha');
      await a.goAway();
      release();
      await t.settled([id]);
      const out = t.ok(id);
      assert.equal(out.alltalk.rerouted, true);
      assert.equal(out.alltalk.server.name, 'beta');
      assert.match(out.alltalk.reroutedBecause, /^alpha failed: /);
      assert.deepEqual(texts(b), ['Cut off in the middle.']);
      await pause(300);
      t.ok(id);
    });

    it('killed with messages waiting in its queue: once it is known down, they move to the fallback without a try on it', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
      const t = track(['speak']);
      const release = a.holdEngine();
      const ids = ['One.', 'Two.', 'Three.', 'Four.'].map((payload) => t.send('speak', { payload }));
      await waitFor(() => a.generations.length === 1, 'the first generating on alpha');
      await a.goAway();
      release();
      await t.settled(ids);
      const outs = ids.map((id) => t.ok(id));
      assert.deepEqual(outs.map((o) => o.alltalk.server.name), ['beta', 'beta', 'beta', 'beta']);
      assert.match(outs[0].alltalk.reroutedBecause, /^alpha failed: /, 'the one that was running failed there');
      for (const o of outs.slice(1)) {
        assert.match(o.alltalk.reroutedBecause, /^alpha (is down|went down while this message waited)/, `moved, not tried on alpha: ${o.alltalk.reroutedBecause}`);
      }
      assert.deepEqual(texts(b), ['One.', 'Two.', 'Three.', 'Four.']);
    });

    it('gone between messages (noticed by a check): the message goes to the fallback at once, saying the primary is down', async function () {
      const [a, b] = await servers('xtts', 'xtts');
      await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
      const t = track(['speak']);
      await a.goAway();
      await helper.getNode('cfgA').connection.checkNow();
      assert.equal(member('cfgA').up, false, 'the check marked alpha down');
      const ids = [t.send('speak', { payload: 'One.' }), t.send('speak', { payload: 'Two.' })];
      await t.settled(ids);
      for (const id of ids) {
        const out = t.ok(id);
        assert.equal(out.alltalk.rerouted, true);
        assert.equal(out.alltalk.server.id, 'cfgB');
        assert.match(out.alltalk.reroutedBecause, /^alpha is down: /);
      }
      assert.deepEqual(texts(b).sort(), ['One.', 'Two.']);
      await a.comeBack();
      await waitUp('cfgA');
      const back = t.send('speak', { payload: 'Three.' });
      await t.settled([back]);
      assert.equal(t.ok(back).alltalk.rerouted, false);
      assert.deepEqual(texts(a), ['Three.']);
    });

    it('accepts connections but never answered (never reached since deploy): messages go to the fallback', async function () {
      const [b] = await servers('xtts');
      const a = await silentServer();
      stopLater(a);
      await deploy(pair(a, b), ['cfgB'], [b]);
      const t = track(['speak']);
      assert.equal(member('cfgA').up, false);
      const ids = [t.send('speak', { payload: 'Nobody home.' }), t.send('speak', { payload: 'Still nobody.' })];
      await t.settled(ids);
      for (const id of ids) {
        const out = t.ok(id);
        assert.equal(out.alltalk.rerouted, true);
        assert.equal(out.alltalk.server.name, 'beta');
        assert.equal(out.alltalk.reroutedBecause, 'alpha is down: not reached yet');
      }
      assert.deepEqual(texts(b), ['Nobody home.', 'Still nobody.']);
      assert.ok(a.connections() > 0, 'alpha was connected to (and never answered)');
    });

    it('accepts connections but stops answering: the message times out there, is retried on the fallback, and the next goes straight there', async function () {
      const [b] = await servers('xtts');
      let silent = false;
      const a = new FakeServer(() => silent);
      await a.start();
      stopLater(a);
      await deploy(pair(a, b, { timeout: 0.5, generationTimeout: 1 }), ['cfgA', 'cfgB'], [b]);
      const t = track(['speak']);
      const home = t.send('speak', { payload: 'Answered.' });
      await t.settled([home]);
      assert.equal(t.ok(home).alltalk.rerouted, false);
      silent = true;
      const started = Date.now();
      const hung = t.send('speak', { payload: 'Hung.' });
      await t.settled([hung]);
      assert.ok(Date.now() - started >= 900, 'it waited for the generation timeout on alpha');
      const out = t.ok(hung);
      assert.equal(out.alltalk.rerouted, true);
      assert.equal(out.alltalk.server.name, 'beta');
      assert.match(out.alltalk.reroutedBecause, /^alpha failed: /);
      assert.equal(member('cfgA').up, false, 'the timeout marked alpha down');
      const tried = a.to('/api/tts-generate').length;
      const next = t.send('speak', { payload: 'Next.' });
      await t.settled([next]);
      assert.equal(t.ok(next).alltalk.rerouted, true);
      assert.match(t.ok(next).alltalk.reroutedBecause, /^alpha is down: /);
      assert.equal(a.to('/api/tts-generate').length, tried, 'alpha was not tried again');
      assert.deepEqual(texts(b), ['Hung.', 'Next.']);
    });
  });

  it('flapping: the primary goes and comes back again and again while messages arrive; every message ends exactly once, none twice', async function () {
    const [a, b] = await servers('xtts', 'xtts');
    await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['speak']);
    const ids = [];
    let flaps = 0;
    const flapping = (async () => {
      for (let i = 0; i < 10; i++) {
        await pause(90);
        if (i % 2 === 0) await a.goAway();
        else await a.comeBack();
        flaps++;
      }
    })();
    for (let i = 0; i < 24; i++) {
      ids.push(t.send('speak', { payload: `Flap message ${i}.` }));
      await pause(40);
    }
    await flapping;
    assert.equal(flaps, 10);
    await t.settled(ids, 25000);
    await pause(500);
    const where = { cfgA: 0, cfgB: 0 };
    for (const id of ids) {
      const out = t.ok(id);
      where[out.alltalk.server.id]++;
      assert.equal(out.alltalk.rerouted, out.alltalk.server.id !== 'cfgA', `${id}: rerouted says where it ran`);
      if (out.alltalk.rerouted) assert.match(out.alltalk.reroutedBecause, /^alpha (failed|is down): /);
    }
    assert.ok(where.cfgB > 0, `some ran on beta (${JSON.stringify(where)})`);
    // Each message was spoken by the server that answered it: beta's texts are exactly those rerouted.
    const onB = ids.filter((id) => t.outs[id][0].alltalk.server.id === 'cfgB').map((id) => t.outs[id][0].alltalk.request.text_input).sort();
    for (const text of onB) assert.ok(texts(b).includes(text), `${text} reached beta`);
    assert.equal(Object.keys(t.ends).length, ids.length, 'no message ended that was not sent');
  });

  it('a fallback without the voice or a capability: the stand-in voice is used, language and speed are left out, and the message succeeds', async function () {
    const [a, b] = await servers('xtts', 'piper');
    await deploy(pair(a, b, {}, { standInVoice: 'en_US-ljspeech-high.onnx' }), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['speak']);
    const props = { payload: 'Guten Tag.', voice: 'female_02.wav', language: 'de', speed: 1.5 };
    const home = t.send('speak', { ...props });
    await t.settled([home]);
    assert.equal(t.ok(home).alltalk.rerouted, false);
    const onA = generationRequests(a)[0].form;
    assert.equal(onA.character_voice_gen, 'female_02.wav');
    assert.equal(onA.language, 'de');
    assert.equal(Number(onA.speed), 1.5);

    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const away = t.send('speak', { ...props });
    await t.settled([away]);
    const out = t.ok(away);
    assert.equal(out.alltalk.rerouted, true);
    assert.equal(out.alltalk.server.name, 'beta');
    const onB = generationRequests(b);
    assert.equal(onB.length, 1);
    assert.equal(onB[0].form.text_input, 'Guten Tag.');
    assert.equal(onB[0].form.character_voice_gen, 'en_US-ljspeech-high.onnx', 'the stand-in voice');
    assert.equal('language' in onB[0].form, false, 'no language for piper');
    assert.equal('speed' in onB[0].form, false, 'no speed for piper');
    // The message says what was sent where it ran.
    assert.equal(out.alltalk.request.character_voice_gen, 'en_US-ljspeech-high.onnx');
    assert.equal(out.alltalk.request.language, undefined);
    assert.equal(out.alltalk.request.speed, undefined);
    assert.ok(Buffer.isBuffer(out.payload) && out.payload.length > 44);
  });

  it('a fallback without a stand-in voice set speaks with its first voice; a voice it has is kept', async function () {
    const [a, b] = await servers('xtts', 'xtts');
    await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
    b.voices = ['male_03.wav', 'female_01.wav'];
    await helper.getNode('cfgB').connection.checkNow();
    const t = track(['speak']);
    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const ids = [t.send('speak', { payload: 'Missing voice.', voice: 'female_02.wav' }), t.send('speak', { payload: 'Shared voice.', voice: 'female_01.wav' })];
    await t.settled(ids);
    for (const id of ids) assert.equal(t.ok(id).alltalk.rerouted, true);
    const byText = Object.fromEntries(generationRequests(b).map((r) => [r.form.text_input, r.form.character_voice_gen]));
    assert.deepEqual(byText, { 'Missing voice.': 'male_03.wav', 'Shared voice.': 'female_01.wav' });
  });

  it('alltalk-openai: a message whose primary went away is retried on the fallback and says so', async function () {
    const [a, b] = await servers('xtts', 'xtts');
    const oai = { id: 'oai', type: 'alltalk-openai', server: 'cfgA', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'wav', wires: [['out']] };
    await deploy(pair(a, b, {}, {}, [oai]), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['oai']);
    await a.goAway();
    const id = t.send('oai', { payload: 'OpenAI speech, elsewhere.' });
    await t.settled([id]);
    const out = t.ok(id);
    assert.equal(out.alltalk.rerouted, true);
    assert.deepEqual(out.alltalk.server, { id: 'cfgB', name: 'beta', url: `http://127.0.0.1:${b.port}` });
    assert.match(out.alltalk.reroutedBecause, /^alpha failed: /);
    assert.deepEqual(generationRequests(b, '/v1/audio/speech').map((r) => r.json.input), ['OpenAI speech, elsewhere.']);
  });
});
