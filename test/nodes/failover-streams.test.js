'use strict';
// Routing alltalk-stream's messages between AllTalk servers, in a real Node-RED runtime against
// simulators on loopback: a stream cut before any audio left the node is retried on a fallback
// that streams; one cut after its first chunk went out is not (it ends once, with an error); a
// Piper fallback (no streaming) is never chosen; a rerouted stream speaks with the fallback's
// stand-in voice, is stopped by alltalk-control's stop of its own server, and is not kept in the
// cache.
const assert = require('node:assert/strict');
const { watchStatus } = require('./support');
const {
  helper, server, ttsNode, streamNode, outputs, member, waitUp, deploy, generationRequests, track, pause, sims, waitFor,
} = require('./failover-support');

const STREAMING = '/api/tts-generate-streaming';
/** The WAV header a streaming response starts with. */
const HEADER_BYTES = 44;
/** One streamed chunk of the simulator: 4800 16-bit samples. */
const CHUNK_BYTES = 4800 * 2;

describe('failover of alltalk-stream between AllTalk servers', function () {
  this.timeout(30000);
  let started = [];

  async function servers(profiles, options = {}) {
    for (const profile of profiles) started.push(...(await sims({ profile, ...options })));
    return started.slice(-profiles.length);
  }

  afterEach(async function () {
    await helper.unload();
    for (const s of started) await s.stop();
    started = [];
  });

  /** alpha (cfgA, falling back on beta) and beta (cfgB); a stream node "strm" on alpha. */
  function pair(a, b, streamProps = {}, propsB = {}, more = []) {
    return [
      server('cfgA', 'alpha', a, { fallbacks: ['cfgB'] }),
      server('cfgB', 'beta', b, propsB),
      streamNode('strm', 'cfgA', streamProps),
      ...more,
      ...outputs(),
    ];
  }

  /** The chunk messages of a stream: how many began a WAV, and the last one (with msg.alltalk). */
  function chunksOf(t, id) {
    const list = t.chunks[id] || [];
    return { list, headers: list.filter((c) => c.payload.length >= 4 && c.payload.toString('latin1', 0, 4) === 'RIFF').length, last: list.filter((c) => c.alltalk) };
  }

  it('a stream cut before any audio (no byte after the status) is retried on the fallback, which streams it whole', async function () {
    const [a, b] = await servers(['xtts', 'xtts']);
    await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['strm']);
    const badge = watchStatus(helper.getNode('strm'));
    a.cutNextStream(0);
    const id = t.send('strm', { payload: 'Cut before the first chunk.' });
    await t.settled([id]);
    const last = t.ok(id);
    assert.equal(last.alltalk.rerouted, true);
    assert.deepEqual(last.alltalk.server, { id: 'cfgB', name: 'beta', url: `http://127.0.0.1:${b.port}` });
    assert.match(last.alltalk.reroutedBecause, /^alpha failed: .*cut the audio stream short/);
    assert.equal(last.alltalk.stopped, false);
    assert.ok(last.alltalk.bytes > HEADER_BYTES);
    assert.equal(chunksOf(t, id).headers, 1, 'one sequence, one header');
    assert.equal(generationRequests(a, STREAMING).length, 1);
    assert.equal(generationRequests(b, STREAMING).length, 1);
    await badge.waitFor('done');
    assert.match(badge.last().text, /^done .+ via beta$/);
  });

  // The node counts the stream as delivered once the WAV header is parsed (streamAll calls onFirstAudio
  // before sink.begin), though the chunk sink holds the header until audio comes: nothing left the node.
  it('a stream cut after its WAV header but before any audio chunk went out is retried on the fallback', async function () {
    const [a, b] = await servers(['xtts', 'xtts']);
    await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['strm']);
    a.cutNextStream(HEADER_BYTES);
    const id = t.send('strm', { payload: 'Cut right after the header.' });
    await t.settled([id]);
    const last = t.ok(id);
    assert.equal(last.alltalk.rerouted, true);
    assert.equal(last.alltalk.server.id, 'cfgB');
    assert.equal(chunksOf(t, id).headers, 1);
    assert.equal(generationRequests(b, STREAMING).length, 1);
  });

  it('a stream cut after its first chunk went out is not retried: it ends once, with an error, and the fallback gets nothing', async function () {
    const [a, b] = await servers(['xtts', 'xtts']);
    await deploy(pair(a, b), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['strm']);
    a.cutNextStream(HEADER_BYTES + CHUNK_BYTES + 100);
    const id = t.send('strm', { payload: 'A long stream that is cut off after its first chunk went out to the flow.' });
    await t.settled([id]);
    const err = t.failed(id);
    assert.equal(err.code, 'ALLTALK_OFFLINE', err.message);
    assert.match(err.message, /cut the audio stream short/);
    const { list, headers } = chunksOf(t, id);
    assert.ok(list.length >= 1, 'the first chunk went out');
    assert.equal(headers, 1);
    assert.equal(generationRequests(b, STREAMING).length, 0, 'beta was not tried');
    await pause(300);
    t.failed(id);
    assert.equal(t.chunks[id].length, list.length, 'nothing more came');
  });

  it('a stream node never routes to a Piper fallback (no streaming); its alltalk-tts neighbour does', async function () {
    const [a, b] = await servers(['xtts', 'piper']);
    await deploy(pair(a, b, {}, {}, [ttsNode('speak', 'cfgA')]), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['strm', 'speak']);
    // Gone, not noticed yet: the failed stream finds no fallback that streams.
    await a.goAway();
    const s1 = t.send('strm', { payload: 'Nowhere to stream.' });
    await t.settled([s1]);
    assert.equal(t.failed(s1).code, 'ALLTALK_OFFLINE');
    // Known down: its own server anyway (as with one server), and it fails there.
    assert.equal(member('cfgA').up, false);
    const s2 = t.send('strm', { payload: 'Still nowhere.' });
    await t.settled([s2]);
    assert.equal(t.failed(s2).code, 'ALLTALK_OFFLINE');
    assert.equal(generationRequests(b, STREAMING).length, 0, 'piper got no stream');
    assert.equal(b.generations.length, 0);
    const speech = t.send('speak', { payload: 'Piper can say this.' });
    await t.settled([speech]);
    assert.equal(t.ok(speech).alltalk.server.id, 'cfgB');
    await pause(300);
    t.failed(s1);
    t.failed(s2);
  });

  it('a primary known to be down: the stream goes straight to the fallback, with its stand-in voice for a voice it lacks', async function () {
    const [a, b] = await servers(['xtts', 'xtts']);
    await deploy(pair(a, b, { voice: 'female_03.wav' }, { standInVoice: 'male_02.wav' }), ['cfgA', 'cfgB'], [a, b]);
    b.voices = ['male_03.wav', 'male_02.wav'];
    await helper.getNode('cfgB').connection.checkNow();
    const t = track(['strm']);
    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const id = t.send('strm', { payload: 'Spoken by a stand-in.' });
    await t.settled([id]);
    const last = t.ok(id);
    assert.equal(last.alltalk.rerouted, true);
    assert.match(last.alltalk.reroutedBecause, /^alpha is down: /);
    const req = generationRequests(b, STREAMING);
    assert.equal(req.length, 1);
    assert.equal(req[0].query.voice, 'male_02.wav');
    assert.equal(req[0].query.text, 'Spoken by a stand-in.');
  });

  it('alltalk-control\'s stop on the primary ends a stream rerouted to the fallback (stopped, once)', async function () {
    const [a, b] = await servers(['xtts', 'xtts'], { streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
    const ctl = { id: 'ctl', type: 'alltalk-control', server: 'cfgA', command: 'stop', wires: [['out']] };
    await deploy(pair(a, b, {}, {}, [ctl]), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['strm', 'ctl']);
    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const id = t.send('strm', { payload: 'A long stream on beta that a stop of alpha\'s control node ends long before it is over.' });
    await waitFor(() => (t.chunks[id] || []).length >= 2, 'streaming on beta');
    const stop = t.send('ctl', {});
    await t.settled([id, stop]);
    const last = t.ok(id);
    assert.equal(last.alltalk.stopped, true);
    assert.equal(last.alltalk.server.id, 'cfgB');
    const out = t.ok(stop);
    assert.equal(out.payload.fallbacks[0].server.id, 'cfgB');
    assert.equal(out.payload.fallbacks[0].streamsStopped, 1);
    await pause(300);
    t.ok(id);
  });

  it('a rerouted stream is not kept in the cache: back on the primary the same text streams there', async function () {
    const [a, b] = await servers(['xtts', 'xtts']);
    await deploy(pair(a, b, { output: 'buffer', cache: true }), ['cfgA', 'cfgB'], [a, b]);
    const t = track(['strm']);
    await a.goAway();
    await helper.getNode('cfgA').connection.checkNow();
    const away = t.send('strm', { payload: 'Cache me if you can.' });
    await t.settled([away]);
    const first = t.ok(away);
    assert.equal(first.alltalk.rerouted, true);
    assert.equal(first.alltalk.cached, false);
    await a.comeBack();
    await waitUp('cfgA');
    const home = t.send('strm', { payload: 'Cache me if you can.' });
    await t.settled([home]);
    const second = t.ok(home);
    assert.equal(second.alltalk.cached, false, 'the rerouted stream was not kept');
    assert.equal(second.alltalk.rerouted, false);
    assert.equal(generationRequests(a, STREAMING).length, 1);
    const again = t.send('strm', { payload: 'Cache me if you can.' });
    await t.settled([again]);
    assert.equal(t.ok(again).alltalk.cached, true, 'the primary\'s stream was');
    assert.equal(generationRequests(a, STREAMING).length, 1);
  });
});
