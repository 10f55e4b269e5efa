'use strict';
// alltalk-wyoming's limits and failures, as a Home Assistant-like client sees them: a request that
// cannot be spoken (unknown voice, text too long, AllTalk offline, failing or transcoding) ends with
// one `error` event and a clean close; at most 16 connections; header, data and payload limits; idle
// connections closed, busy ones kept; a port in use retried every 10 s; close frees everything; a
// client that hangs up cancels its request and the queue moves on.
const assert = require('node:assert/strict');
const net = require('node:net');
const { encodeWav } = require('../../dist/api');
const { WyomingServer } = require('../../dist/wyoming/server');
const { WyomingSession } = require('../../dist/runtime/wyoming-session');
const { EventStream, encode, connect, describe: describeServer, synthesize } = require('./ha-client');
const { helper, startSim, waitFor, freePort, wyomingFlow, deploy, waitForPort, isFree, generations, nodes } = require('./support');
const { configNode } = require('../nodes/support');
const { FakeServer, send } = require('../api/fake-server');

const MB = 1024 * 1024;
const KB64 = 64 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection and its event reader. */
async function open(port) {
  const socket = await connect(port);
  socket.setNoDelay(true);
  return { socket, events: new EventStream(socket), closedAt: closedAt(socket) };
}

/** Resolves the time the socket closed. */
function closedAt(socket) {
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
}

/** The next event within `timeoutMs` (undefined: the connection ended). */
async function next(events, timeoutMs = 5000, what = 'an event') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([events.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every event until the server ends the connection; rejects when it is still open after `timeoutMs`. */
async function untilEnd(events, timeoutMs = 5000) {
  const seen = [];
  const started = Date.now();
  for (;;) {
    const left = timeoutMs - (Date.now() - started);
    const e = await next(events, Math.max(1, left), `end of the connection (saw ${JSON.stringify(seen.map((x) => x.type))})`);
    if (!e) return seen;
    seen.push(e);
  }
}

/** Exactly one error event, the last thing before the end (no audio-stop after it); its data. */
function oneErrorThenEnd(seen, code, pattern) {
  const types = JSON.stringify(seen.map((e) => e.type));
  const errors = seen.filter((e) => e.type === 'error');
  assert.equal(errors.length, 1, `one error event: ${types}`);
  assert.equal(seen[seen.length - 1].type, 'error', `nothing after the error: ${types}`);
  assert.equal(errors[0].data.code, code, errors[0].data.text);
  assert.equal(typeof errors[0].data.text, 'string');
  if (pattern) assert.match(errors[0].data.text, pattern);
  return errors[0].data;
}

/** Sends the events of one request and reads until the server closes the connection. */
async function failingRequest(port, data, { streaming = false } = {}) {
  const { socket, events } = await open(port);
  if (streaming) {
    const voice = data.voice ? { voice: data.voice } : {};
    socket.write(Buffer.concat([encode('synthesize-start', voice), encode('synthesize-chunk', { text: data.text }),
      encode('synthesize', { text: data.text, ...voice }), encode('synthesize-stop')]));
  } else {
    socket.write(encode('synthesize', data));
  }
  try {
    return await untilEnd(events, 15000);
  } finally {
    socket.destroy();
  }
}

/** The node's one output message for a failed request: `error: {message, code}` as the client was told. */
async function oneErrorOutput(outputs, told, extra = {}) {
  await waitFor(() => outputs.length >= 1, 'the output message', 10000);
  await sleep(150);
  assert.equal(outputs.length, 1, 'one output message');
  assert.deepEqual(outputs[0].error, { message: told.text, code: told.code });
  for (const [k, v] of Object.entries(extra)) assert.deepEqual(outputs[0][k], v, k);
  return outputs[0];
}

function listenOn(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
  });
}

/** Status calls of the node with id `id` (the helper spies on every node's status). */
function statusesOf(id) {
  const node = helper.getNode(id);
  return node.status.getCalls().filter((c) => c.thisValue === node).map((c) => c.args[0]);
}

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

describe('alltalk-wyoming: connections and framing limits', function () {
  this.timeout(30000);
  let sim;
  const sockets = [];

  afterEach(async function () {
    for (const s of sockets.splice(0)) s.destroy();
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('at most 16 served at once: 16 more wait, one more is refused at once with an error and closed; the 16 keep working; a waiting one gets a freed place', async function () {
    sim = await startSim();
    const { port } = await deploy(sim);
    const held = [];
    for (let i = 0; i < 16; i++) {
      const c = await open(port);
      sockets.push(c.socket);
      c.socket.write(encode('describe'));
      assert.equal((await next(c.events, 2000, `info on connection ${i + 1}`)).type, 'info');
      held.push(c);
    }
    // A burst beyond 16 waits (16 more at most): what they send stays unanswered meanwhile.
    const waiting = [];
    for (let i = 0; i < 16; i++) {
      const c = await open(port);
      sockets.push(c.socket);
      c.socket.write(encode('describe'));
      const seen = [];
      c.events.next().then((e) => seen.push(e));
      waiting.push({ ...c, seen });
    }
    const extra = await open(port);
    sockets.push(extra.socket);
    const refusedAt = Date.now();
    const seen = await untilEnd(extra.events, 2000);
    assert.ok(Date.now() - refusedAt < 1500, 'refused at once');
    assert.equal(seen.length, 1, JSON.stringify(seen.map((e) => e.type)));
    assert.equal(seen[0].type, 'error');
    assert.equal(seen[0].data.code, 'too-many-connections');
    assert.match(seen[0].data.text, /at most 16 connections/);
    assert.ok(waiting.every((w) => w.seen.length === 0 && !w.socket.destroyed), 'the 16 beyond wait, unanswered');

    // The 16 keep working: each still describes (and one speaks).
    for (const c of held) c.socket.write(encode('describe'));
    for (const [i, c] of held.entries()) assert.equal((await next(c.events, 2000, `info again on ${i + 1}`)).type, 'info');
    held[0].socket.write(encode('synthesize', { text: 'Still here.', voice: { name: 'female_01.wav@en' } }));
    let e;
    do e = await next(held[0].events, 10000, 'audio'); while (e && e.type !== 'audio-stop' && e.type !== 'error');
    assert.equal(e && e.type, 'audio-stop');

    // One leaves: the first waiting connection takes its place and is answered; the others still wait.
    held[1].socket.destroy();
    await waitFor(() => waiting[0].seen.length === 1, 'the first waiting connection to be answered', 2000);
    assert.equal(waiting[0].seen[0].type, 'info');
    await sleep(100);
    assert.ok(waiting.slice(1).every((w) => w.seen.length === 0), 'only one place came free');
  });

  it('a header over 64 KB, a data_length or payload_length over 1 MB, malformed JSON: an error event, then the close; others unaffected', async function () {
    sim = await startSim();
    const { port } = await deploy(sim);
    const bystander = await open(port);
    sockets.push(bystander.socket);
    bystander.socket.write(encode('describe'));
    assert.equal((await next(bystander.events)).type, 'info');

    const cases = [
      ['a header line over 64 KB with no newline yet', Buffer.alloc(KB64 + 100, 0x61), 'header-too-long'],
      ['a header line over 64 KB', Buffer.from(`${JSON.stringify({ type: 'describe', data: { pad: 'x'.repeat(KB64) } })}\n`), 'header-too-long'],
      ['data_length over 1 MB', Buffer.from(`${JSON.stringify({ type: 'synthesize', data_length: MB + 1 })}\n`), 'body-too-large'],
      ['payload_length over 1 MB', Buffer.from(`${JSON.stringify({ type: 'audio-chunk', payload_length: MB + 1 })}\n`), 'body-too-large'],
      ['a header that is not JSON', Buffer.from('{"type": "describe"\n'), 'malformed-header'],
      ['a data block that is not JSON', Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'synthesize', data_length: 9 })}\n`), Buffer.from('{text: 1}')]), 'malformed-data'],
    ];
    for (const [what, bytes, code] of cases) {
      const c = await open(port);
      sockets.push(c.socket);
      const sentAt = Date.now();
      c.socket.write(bytes);
      const seen = await untilEnd(c.events, 3000);
      assert.equal(seen.length, 1, `${what}: ${JSON.stringify(seen.map((e) => e.type))}`);
      assert.equal(seen[0].type, 'error', what);
      assert.equal(seen[0].data.code, code, `${what}: ${seen[0].data.text}`);
      assert.ok((await c.closedAt) - sentAt < 1500, `${what}: closed at once`);
      // The others are unaffected.
      bystander.socket.write(encode('ping', { text: what }));
      const pong = await next(bystander.events, 2000, `pong after ${what}`);
      assert.deepEqual([pong.type, pong.data.text], ['pong', what]);
    }

    // Right at the limits is fine: a 64 KB header line, a 1 MB payload.
    const edge = await open(port);
    sockets.push(edge.socket);
    const prefix = '{"type":"ping","data":{"text":"';
    const suffix = '"}}';
    const line = `${prefix}${'y'.repeat(KB64 - prefix.length - suffix.length)}${suffix}`;
    assert.equal(Buffer.byteLength(line), KB64);
    edge.socket.write(`${line}\n`);
    const pong = await next(edge.events, 3000, 'pong to a 64 KB header');
    assert.equal(pong.type, 'pong');
    assert.equal(pong.data.text.length, KB64 - prefix.length - suffix.length);
    edge.socket.write(Buffer.concat([encode('audio-chunk', { rate: 16000, width: 2, channels: 1 }, Buffer.alloc(MB, 1)), encode('describe')]));
    assert.equal((await next(edge.events, 3000, 'info after a 1 MB payload')).type, 'info');
    const ok = await synthesize(port, 'Still speaking.', { voice: 'female_01.wav@en' });
    assert.ok(ok.wav, JSON.stringify(ok.events.map((e) => e.type)));
  });
});

describe('WyomingServer: waiting and idle connections', function () {
  this.timeout(10000);
  let server;
  const sockets = [];

  afterEach(async function () {
    for (const s of sockets.splice(0)) s.destroy();
    if (server) await server.close();
    server = undefined;
  });

  async function start(idleMs, handler) {
    server = new WyomingServer({ host: '127.0.0.1', port: 0, idleMs, handler });
    await server.listen();
    return server.address.port;
  }

  it('beyond maxConnections a connection waits waitMs for a place, then gets too-many-connections and is closed; the admitted are unaffected', async function () {
    server = new WyomingServer({
      host: '127.0.0.1', port: 0, maxConnections: 2, waitMs: 300,
      handler: (c) => ({ event: (e) => void (e.type === 'ping' && c.send({ type: 'pong', data: {} })), closed: () => undefined }),
    });
    await server.listen();
    const port = server.address.port;
    const admitted = [await open(port), await open(port)];
    sockets.push(...admitted.map((c) => c.socket));
    for (const c of admitted) {
      c.socket.write(encode('ping'));
      assert.equal((await next(c.events, 1000)).type, 'pong');
    }
    const started = Date.now();
    const third = await open(port);
    const fourth = await open(port);
    const fifth = await open(port);
    sockets.push(third.socket, fourth.socket, fifth.socket);
    third.socket.write(encode('ping'));
    // "As many again" may wait: the fifth is refused at once.
    const five = await untilEnd(fifth.events, 1000);
    assert.ok(Date.now() - started < 250, `the one beyond the waiting ones at once (${Date.now() - started} ms)`);
    assert.deepEqual(five.map((x) => [x.type, x.data.code]), [['error', 'too-many-connections']]);
    const seen = await untilEnd(third.events, 2000);
    const waited = (await third.closedAt) - started;
    assert.deepEqual(seen.map((x) => [x.type, x.data.code]), [['error', 'too-many-connections']], 'its ping never answered');
    assert.ok(waited >= 250 && waited < 1500, `refused after ${waited} ms`);
    await untilEnd(fourth.events, 2000);
    for (const c of admitted) {
      c.socket.write(encode('ping'));
      assert.equal((await next(c.events, 1000)).type, 'pong');
    }
    assert.equal(server.connections, 2);
  });

  it('a connection with no event for idleMs gets an idle error and is closed; one with traffic stays', async function () {
    const idleMs = 300;
    const port = await start(idleMs, (c) => ({
      event: (e) => void (e.type === 'ping' && c.send({ type: 'pong', data: {} })),
      closed: () => undefined,
    }));
    const quiet = await open(port);
    const busy = await open(port);
    sockets.push(quiet.socket, busy.socket);
    const started = Date.now();
    const pinger = setInterval(() => busy.socket.write(encode('ping')), idleMs / 3);
    try {
      const seen = await untilEnd(quiet.events, 3000);
      const elapsed = (await quiet.closedAt) - started;
      assert.equal(seen.length, 1);
      assert.equal(seen[0].type, 'error');
      assert.equal(seen[0].data.code, 'idle');
      assert.ok(elapsed >= idleMs - 50 && elapsed < idleMs + 1000, `closed after ${elapsed} ms`);
      await sleep(idleMs * 2);
      assert.equal(busy.socket.destroyed, false, 'the connection with traffic is open');
      assert.equal(server.connections, 1);
    } finally {
      clearInterval(pinger);
    }
    // Its traffic stops: it is idle too.
    const stoppedAt = Date.now();
    const rest = await untilEnd(busy.events, 3000);
    assert.equal(rest[rest.length - 1].type, 'error');
    assert.equal(rest[rest.length - 1].data.code, 'idle');
    assert.ok(Date.now() - stoppedAt >= idleMs - 150);
    await waitFor(() => server.connections === 0, 'no connections', 2000);
  });

  /** A WyomingSession whose generations wait for `gate()` to resolve (a fake server connection). */
  async function sessionServer(idleMs, gate) {
    const state = { asked: 0, reports: [] };
    const wav = encodeWav(new Float32Array(2400), { sampleRate: 24000, encoding: 's16' });
    const settings = { streaming_capable: false, languages_capable: false };
    const connection = {
      origin: 'http://alltalk.test',
      cache: { settings, updatedAt: 1 },
      // What a generation of the speech module resolves: the WAV, not streamed, and the voice it was spoken with.
      runGeneration: async () => {
        state.asked++;
        await gate();
        return { wav, streams: false, here: { voice: 'female_01.wav', language: 'auto' } };
      },
    };
    // One server, no fallbacks: routing runs the work on it directly.
    const own = { connection, ref: { id: 'cfg', name: 'fake', url: connection.origin }, settings: { fallbacks: [] } };
    const group = { own, members: () => [own] };
    state.port = await start(idleMs, (c) => new WyomingSession(c, {
      group, audio: undefined, priority: 5, cache: false, warn: () => undefined,
      voice: '', language: 'auto', maxCharacters: 2000, maxTotal: 20000,
    }, {
      info: () => ({ type: 'info', data: {} }),
      source: () => ({ settings, voices: ['female_01.wav'] }),
      busy: () => undefined,
      report: (r) => state.reports.push(r),
    }));
    return state;
  }

  /** audio-start, audio-chunk(s), audio-stop, then the idle error as the last event. */
  function answeredThenIdle(seen) {
    const types = seen.map((e) => e.type);
    assert.equal(types[0], 'audio-start', JSON.stringify(types));
    assert.ok(types.includes('audio-chunk'));
    assert.equal(types[types.length - 2], 'audio-stop', JSON.stringify(types));
    assert.equal(seen[seen.length - 1].data.code, 'idle', 'then idle, and closed');
  }

  it('a connection waiting for a long generation is not closed as idle (the session holds it) and is answered', async function () {
    const idleMs = 250;
    let finish;
    const generating = new Promise((resolve) => {
      finish = resolve;
    });
    const state = await sessionServer(idleMs, () => generating);
    const c = await open(state.port);
    sockets.push(c.socket);
    c.socket.write(encode('synthesize', { text: 'A long story.' }));
    await waitFor(() => state.asked === 1, 'the generation', 2000);
    await sleep(idleMs * 4);
    assert.equal(c.socket.destroyed, false, 'still open while the generation runs');
    assert.equal(server.connections, 1);
    finish();
    const types = [];
    let e;
    do {
      e = await next(c.events, 2000, 'audio-stop');
      if (e) types.push(e.type);
    } while (e && e.type !== 'audio-stop');
    assert.deepEqual([types[0], types[types.length - 1]], ['audio-start', 'audio-stop'], JSON.stringify(types));
    assert.ok(!types.includes('error'));
    await waitFor(() => state.reports.length === 1, 'the report', 2000);
    assert.equal(state.reports[0].error, undefined);
  });

  it('a generation shorter than idleMs: answered, then the connection is closed as idle', async function () {
    const idleMs = 400;
    const state = await sessionServer(idleMs, () => sleep(100));
    const c = await open(state.port);
    sockets.push(c.socket);
    const sentAt = Date.now();
    c.socket.write(encode('synthesize', { text: 'A short story.' }));
    const seen = await untilEnd(c.events, 3000);
    answeredThenIdle(seen);
    const closed = (await c.closedAt) - sentAt;
    assert.ok(closed >= idleMs && closed < idleMs + 1500, `closed ${closed} ms after the request`);
  });

  // BUG (src/wyoming/server.ts): the idle callback is registered with socket.setTimeout(ms, idle),
  // which Node attaches with once('timeout'); when it fires during a hold it re-arms with
  // socket.setTimeout(ms) and no callback, so the connection is never closed as idle again.
  it('a connection held through an idle period is closed as idle once it is answered', async function () {
    const idleMs = 250;
    let finish;
    const generating = new Promise((resolve) => {
      finish = resolve;
    });
    const state = await sessionServer(idleMs, () => generating);
    const c = await open(state.port);
    sockets.push(c.socket);
    c.socket.write(encode('synthesize', { text: 'A long story.' }));
    await waitFor(() => state.asked === 1, 'the generation', 2000);
    await sleep(idleMs * 4);
    finish();
    const answeredAt = Date.now();
    answeredThenIdle(await untilEnd(c.events, 3000));
    assert.ok((await c.closedAt) - answeredAt >= idleMs - 100);
  });
});

describe('alltalk-wyoming: the port', function () {
  this.timeout(30000);
  let sim;
  let blocker;
  const sockets = [];

  afterEach(async function () {
    for (const s of sockets.splice(0)) s.destroy();
    await helper.unload();
    if (blocker) await new Promise((resolve) => blocker.close(() => resolve()));
    blocker = undefined;
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('a port in use: a red badge naming the port, retried every 10 s; listening within ~10 s of the port being freed', async function () {
    sim = await startSim();
    const port = await freePort();
    blocker = net.createServer((s) => s.destroy());
    await listenOn(blocker, port);
    // The server configuration first, ready: no state change of AllTalk's can replace the badge (see the skipped test).
    const flow = wyomingFlow(sim, port);
    await helper.load(nodes, flow.filter((n) => n.id !== 'wy'));
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    await helper.setFlows(flow, 'nodes');
    const text = `port ${port} in use · retrying`;
    await waitFor(() => statusesOf('wy').some((s) => s && s.text === text), 'the port-in-use badge', 5000);
    const badge = statusesOf('wy').find((s) => s && s.text === text);
    assert.equal(badge.fill, 'red');
    const wy = helper.getNode('wy');
    const warned = wy.warn.getCalls().filter((c) => c.thisValue === wy).map((c) => String(c.args[0]));
    assert.ok(warned.some((w) => w.includes(`Port ${port} is in use`) && w.includes('every 10 s')), JSON.stringify(warned));
    const freedAt = Date.now();
    await new Promise((resolve) => blocker.close(() => resolve()));
    blocker = undefined;
    await sleep(1500);
    assert.equal(await isFree(port), true, 'not tried again at once: every 10 s');
    await waitForPort(port, 11000);
    const took = Date.now() - freedAt;
    assert.ok(took < 11000, `listening ${took} ms after the port was freed`);
    await waitFor(() => {
      const last = statusesOf('wy').pop();
      return last && last.text === `listening 127.0.0.1:${port}`;
    }, 'the listening badge', 3000);
    const { info } = await describeServer(port);
    assert.equal(info.tts[0].installed, true);
  });

  // BUG (src/runtime/node-badge.ts + src/nodes/alltalk-wyoming/index.ts): the NodeBadge follows the
  // server configuration's state itself, so AllTalk becoming ready (or offline) replaces the red
  // "port N in use · retrying" badge with "ready" while the port is still retried.
  it('the port-in-use badge stays while it retries, also when AllTalk becomes ready after the deploy', async function () {
    sim = await startSim();
    const port = await freePort();
    blocker = net.createServer((s) => s.destroy());
    await listenOn(blocker, port);
    await helper.load(nodes, wyomingFlow(sim, port));
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    await sleep(500);
    const last = statusesOf('wy').pop();
    assert.deepEqual(last && { fill: last.fill, text: last.text }, { fill: 'red', text: `port ${port} in use · retrying` });
  });

  it('close frees the port and every connection within 1 s, even with a generation running; nothing listens after', async function () {
    sim = await startSim({ profile: 'piper' });
    const { port } = await deploy(sim);
    const clients = [];
    for (let i = 0; i < 5; i++) {
      const c = await open(port);
      sockets.push(c.socket);
      c.socket.write(encode('describe'));
      assert.equal((await next(c.events)).type, 'info');
      clients.push(c);
    }
    const release = sim.holdEngine();
    try {
      clients[0].socket.write(encode('synthesize', { text: 'A sentence that never ends.' }));
      await waitFor(() => sim.generations.length === 1, 'the generation to start', 5000);
      const started = Date.now();
      await helper.unload();
      const closed = await Promise.all(clients.map((c) => c.closedAt));
      for (const at of closed) assert.ok(at - started < 1000, `a connection closed ${at - started} ms after close`);
      assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
      assert.equal(await isFree(port), true, 'nothing listens after close');
      await sleep(300);
      assert.equal(await isFree(port), true, 'still nothing');
    } finally {
      release();
    }
  });

  // BUG (src/wyoming/server.ts close()): connections waiting for a place (beyond 16) are taken off
  // the waiting list with their timer cleared but never destroyed, so they stay open after close.
  it('close also drops the connections waiting for a place within 1 s', async function () {
    sim = await startSim();
    const { port } = await deploy(sim);
    for (let i = 0; i < 16; i++) {
      const c = await open(port);
      sockets.push(c.socket);
      c.socket.write(encode('describe'));
      assert.equal((await next(c.events)).type, 'info');
    }
    const waiting = await open(port);
    sockets.push(waiting.socket);
    await sleep(100);
    const started = Date.now();
    await helper.unload();
    const at = await Promise.race([waiting.closedAt, sleep(2000).then(() => Infinity)]);
    assert.ok(at - started < 1000, 'the waiting connection was closed');
  });

  it('a redeploy frees the port and every connection within 1 s; the new node listens on the same port at once', async function () {
    sim = await startSim();
    const port = await freePort();
    const flow = wyomingFlow(sim, port);
    await helper.load(nodes, flow);
    await waitForPort(port);
    const clients = [];
    for (let i = 0; i < 3; i++) {
      const c = await open(port);
      sockets.push(c.socket);
      c.socket.write(encode('describe'));
      assert.equal((await next(c.events)).type, 'info');
      clients.push(c);
    }
    const changed = flow.map((n) => (n.id === 'wy' ? { ...n, serviceName: 'Kitchen' } : n));
    const started = Date.now();
    await helper.setFlows(changed, 'nodes');
    const closed = await Promise.all(clients.map((c) => c.closedAt));
    for (const at of closed) assert.ok(at - started < 1000, `a connection closed ${at - started} ms after the redeploy`);
    await waitForPort(port, 2000);
    const { info } = await describeServer(port);
    assert.equal(info.tts[0].name, 'Kitchen', 'the new node answers');
    assert.ok(!statusesOf('wy').some((s) => s && /in use/.test(s.text)), 'the port was free for the new node');
  });
});

describe('alltalk-wyoming: a client that hangs up cancels its request', function () {
  this.timeout(30000);
  let sim;
  const sockets = [];

  afterEach(async function () {
    for (const s of sockets.splice(0)) s.destroy();
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('one-shot (generate route): the request to AllTalk is dropped, the next client is answered, one output with an error', async function () {
    sim = await startSim({ profile: 'piper' });
    const { port, outputs } = await deploy(sim, { cache: false });
    const release = sim.holdEngine();
    let second;
    try {
      const first = await open(port);
      sockets.push(first.socket);
      first.socket.write(encode('synthesize', { text: 'This sentence will never be heard.' }));
      await waitFor(() => sim.generations.length === 1, 'the first generation', 5000);
      const asked = sim.requests.find((r) => r.path === '/api/tts-generate');
      second = synthesize(port, 'The next one is heard.');
      await sleep(200);
      assert.equal(sim.requests.filter((r) => r.path === '/api/tts-generate').length, 1, 'the second waits its turn');
      first.socket.destroy();
      await waitFor(() => asked.finishedAt !== undefined, 'the request to AllTalk to be dropped', 2000);
      await waitFor(() => sim.requests.filter((r) => r.path === '/api/tts-generate').length === 2, 'the queue to move on', 2000);
    } finally {
      release();
    }
    const r = await second;
    assert.ok(r.wav, JSON.stringify(r.events.map((e) => e.type)));
    await waitFor(() => outputs.length === 2, 'two outputs', 5000);
    await sleep(300);
    assert.equal(outputs.length, 2);
    const hungUp = outputs.filter((m) => m.payload === 'This sentence will never be heard.');
    assert.equal(hungUp.length, 1, 'one output for the request whose client left');
    assert.equal(hungUp[0].error.code, 'ALLTALK_ABORTED');
    assert.match(hungUp[0].error.message, /closed the connection/);
    assert.equal(outputs.find((m) => m.payload === 'The next one is heard.').error, undefined);
    assert.equal(sim.requests.filter((r) => r.path.startsWith('/audio/')).length, 1, 'only the second one\'s audio was fetched');
  });

  it('streaming route: the stream from AllTalk is dropped mid-sentence, the next client is answered, one output with an error', async function () {
    sim = await startSim({ streamChunkIntervalMs: 200, streamChunkSamples: 2400 });
    const { port, outputs } = await deploy(sim, { cache: false });
    const text = 'This is a rather long sentence that the client will not wait for, as it hangs up after the first audio.';
    const first = await open(port);
    sockets.push(first.socket);
    first.socket.write(encode('synthesize', { text, voice: { name: 'female_01.wav@en' } }));
    let e;
    do e = await next(first.events, 5000, 'the first audio'); while (e && e.type !== 'audio-chunk');
    assert.ok(e, 'audio came');
    const stream = sim.requests.find((r) => r.path === '/api/tts-generate-streaming');
    assert.equal(stream.finishedAt, undefined, 'the stream is still running');
    const leftAt = Date.now();
    first.socket.destroy();
    await waitFor(() => stream.finishedAt !== undefined, 'the stream to be dropped', 2000);
    assert.ok(stream.finishedAt - leftAt < 1500);
    const r = await synthesize(port, 'Next.', { voice: 'female_01.wav@en' });
    assert.ok(r.wav, JSON.stringify(r.events.map((x) => x.type)));
    await waitFor(() => outputs.length === 2, 'two outputs', 5000);
    await sleep(300);
    const hungUp = outputs.filter((m) => m.payload === text);
    assert.equal(hungUp.length, 1);
    assert.equal(hungUp[0].error.code, 'ALLTALK_ABORTED');
    await waitFor(() => sim.generations[0].outcome !== undefined, 'the first generation to end', 3000);
    assert.equal(sim.generations[0].outcome, 'cut', 'AllTalk saw its stream cut');
  });

  it('streaming sequence: a client that leaves before synthesize-stop gets one output with an error; the next is answered', async function () {
    sim = await startSim({ streamChunkIntervalMs: 200, streamChunkSamples: 2400 });
    const { port, outputs } = await deploy(sim, { cache: false });
    const first = await open(port);
    sockets.push(first.socket);
    first.socket.write(Buffer.concat([encode('synthesize-start', { voice: { name: 'female_01.wav@en' } }),
      encode('synthesize-chunk', { text: 'The first sentence is long enough to take a while to stream. And then' })]));
    let e;
    do e = await next(first.events, 5000, 'the first audio'); while (e && e.type !== 'audio-chunk');
    first.socket.destroy();
    const stream = sim.requests.find((r) => r.path === '/api/tts-generate-streaming');
    await waitFor(() => stream.finishedAt !== undefined, 'the stream to be dropped', 2000);
    const r = await synthesize(port, 'Next.', { voice: 'female_01.wav@en' });
    assert.ok(r.wav);
    await waitFor(() => outputs.length === 2, 'two outputs', 5000);
    await sleep(300);
    assert.equal(outputs.length, 2);
    const left = outputs.find((m) => m.streaming);
    assert.equal(left.error.code, 'ALLTALK_ABORTED');
    assert.match(left.payload, /^The first sentence/);
    assert.equal(generations(sim).length, 2, 'the unfinished "And then" was never spoken');
  });
});
