'use strict';
// alltalk-wyoming's limits: at most 16 connections (a burst waits for a place); header, data and
// payload limits; idle connections closed, busy ones kept.
const assert = require('node:assert/strict');
const { encodeWav } = require('../../dist/api');
const { WyomingServer } = require('../../dist/wyoming/server');
const { WyomingSession } = require('../../dist/runtime/wyoming-session');
const { encode, synthesize } = require('./ha-client');
const { helper, startSim, waitFor, deploy } = require('./support');

const { MB, KB64, sleep, open, next, untilEnd } = require('./limits-support');

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
