'use strict';
// alltalk-wyoming's failures, as a Home Assistant-like client sees them: a request that cannot be
// spoken (unknown voice, text too long, AllTalk offline, failing or transcoding) ends with one
// `error` event and a clean close.
const assert = require('node:assert/strict');
const { describe: describeServer } = require('./ha-client');
const { helper, startSim, waitFor, freePort, wyomingFlow, deploy, waitForPort, generations, nodes } = require('./support');
const { configNode } = require('../nodes/support');
const { FakeServer, send } = require('../api/fake-server');

const { oneErrorThenEnd, failingRequest, oneErrorOutput } = require('./limits-support');

describe('alltalk-wyoming: requests that fail end with one error event and a clean close', function () {
  this.timeout(30000);
  let sim;
  let fake;

  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    if (fake) await fake.stop();
    sim = undefined;
    fake = undefined;
  });

  it('an unknown voice (one-shot and streaming): validation error naming the voice; nothing sent to AllTalk', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim);
    const seen = await failingRequest(port, { text: 'Hello there.', voice: { name: 'nobody.wav@en' } });
    const told = oneErrorThenEnd(seen, 'ALLTALK_VALIDATION', /"nobody\.wav@en" is not one of AllTalk's voices/);
    assert.ok(!seen.some((e) => e.type === 'audio-start'), 'no audio');
    await oneErrorOutput(outputs, told, { streaming: false, payload: 'Hello there.' });

    outputs.length = 0;
    const streamed = await failingRequest(port, { text: 'Hello again.', voice: { name: 'ghost.wav@de' } }, { streaming: true });
    const told2 = oneErrorThenEnd(streamed, 'ALLTALK_VALIDATION', /"ghost\.wav@de"/);
    assert.ok(!streamed.some((e) => e.type === 'synthesize-stopped'), 'no synthesize-stopped after the error');
    await oneErrorOutput(outputs, told2, { streaming: true });
    assert.equal(generations(sim).length, 0, 'nothing reached AllTalk');
  });

  it('a text over 20 000 characters (one request; streamed in all): validation error naming the limit; nothing sent', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim);
    const long = `${'Lorem ipsum dolor sit amet. '.repeat(715)}`.slice(0, 20001);
    assert.equal(long.length, 20001);
    const seen = await failingRequest(port, { text: long });
    const told = oneErrorThenEnd(seen, 'ALLTALK_VALIDATION', /20001 characters.*at most 20000/);
    await oneErrorOutput(outputs, told, { streaming: false });

    outputs.length = 0;
    const streamed = await failingRequest(port, { text: 'x'.repeat(20001) }, { streaming: true });
    const told2 = oneErrorThenEnd(streamed, 'ALLTALK_VALIDATION', /over 20000 characters/);
    await oneErrorOutput(outputs, told2, { streaming: true });
    assert.equal(generations(sim).length, 0, 'nothing reached AllTalk');
  });

  it('AllTalk offline: an offline error naming the server; the node still answers describe', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim);
    const origin = helper.getNode('cfg').connection.origin;
    await sim.stop();
    sim = undefined;
    const seen = await failingRequest(port, { text: 'Is anybody there?', voice: { name: 'female_01.wav@en' } });
    const told = oneErrorThenEnd(seen, 'ALLTALK_OFFLINE');
    assert.ok(told.text.includes(origin), told.text);
    await oneErrorOutput(outputs, told);
    const { info } = await describeServer(port);
    assert.equal(info.tts[0].name, 'AllTalk');
  });

  it('AllTalk failing (a 500 on the streaming route, and on /api/tts-generate): an http error naming the status', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim, { cache: false });
    sim.failNext('/api/tts-generate-streaming', 10, { status: 500, body: { detail: 'CUDA out of memory' } });
    const seen = await failingRequest(port, { text: 'The lights are off.', voice: { name: 'female_01.wav@en' } });
    const told = oneErrorThenEnd(seen, 'ALLTALK_HTTP', /500/);
    await oneErrorOutput(outputs, told);
    await helper.unload();
    await sim.stop();

    sim = await startSim({ profile: 'piper' });
    const again = await deploy(sim, { cache: false });
    sim.failNext('/api/tts-generate', 10, { status: 500, body: { detail: 'Engine crashed' } });
    const seen2 = await failingRequest(again.port, { text: 'The lights are off.' });
    const told2 = oneErrorThenEnd(seen2, 'ALLTALK_HTTP', /500/);
    assert.ok(!seen2.some((e) => e.type === 'audio-stop'), 'no audio-stop');
    await oneErrorOutput(again.outputs, told2);
    assert.ok(sim.requests.some((r) => r.path === '/api/tts-generate'), 'the generation was asked for');
  });

  it('AllTalk transcoding its audio (an mp3 instead of WAV): the error names the setting "Transcode audio format"', async function () {
    fake = new FakeServer((req, res) => (req.url.startsWith('/audio/out.mp3') ? send(res, 200, Buffer.concat([Buffer.from('ID3'), Buffer.alloc(400, 0)]), 'audio/mpeg') : false));
    await fake.start();
    const port = await freePort();
    await helper.load(nodes, [configNode(fake), ...wyomingFlow(fake, port, { cache: false }).slice(1)]);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    await waitForPort(port);
    const outputs = [];
    helper.getNode('out').on('input', (m) => outputs.push(m));
    fake.audioUrls.push('/audio/out.mp3');
    const seen = await failingRequest(port, { text: 'Good morning.' });
    const told = oneErrorThenEnd(seen, 'ALLTALK_INVALID_RESPONSE', /"Transcode audio format"/);
    assert.match(told.text, /mp3/);
    await oneErrorOutput(outputs, told);
    assert.equal(fake.to('/audio/out.mp3').length, 1, 'the audio was fetched');
  });
});
