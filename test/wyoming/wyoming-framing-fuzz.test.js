'use strict';
// Fuzzed Wyoming framing: the EventReader on its own (events in 1-byte pieces, merged, cut at every
// byte, huge or bad lengths, garbage, mutations: only WyomingProtocolError, never anything else), then
// the alltalk-wyoming node under the same bytes on real connections: every connection answers or ends,
// no uncaught exception or unhandled rejection, and the node keeps serving normal requests after.
const assert = require('node:assert/strict');
const { EventReader, WyomingProtocolError, encodeEvent, DEFAULT_LIMITS } = require('../../dist/wyoming/framing');
const { EventStream, encode, connect, describe: describeServer, synthesize } = require('./ha-client');
const { helper, startSim, waitFor, deploy } = require('./support');

const MB = 1024 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32): the same cases on every run. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.bytes = (n) => Buffer.from(Array.from({ length: n }, () => next.int(256)));
  return next;
}

/** `bytes` in pieces at random cuts. */
function randomPieces(bytes, rnd, maxPiece = 64) {
  const out = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + rnd.int(maxPiece);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Pushes every piece; the events, or the error thrown (which must be a WyomingProtocolError). */
function feed(reader, pieces) {
  const events = [];
  for (const p of pieces) {
    try {
      events.push(...reader.push(Buffer.from(p)));
    } catch (err) {
      assert.ok(err instanceof WyomingProtocolError, `only WyomingProtocolError, got ${err && err.stack}`);
      assert.ok(['header-too-long', 'body-too-large', 'malformed-header', 'malformed-data'].includes(err.code), err.code);
      return { events, error: err };
    }
  }
  return { events };
}

function shapeOk(e) {
  assert.equal(typeof e.type, 'string');
  assert.ok(e.type.length > 0);
  assert.ok(e.data && typeof e.data === 'object' && !Array.isArray(e.data));
  if (e.payload !== undefined) assert.ok(Buffer.isBuffer(e.payload) && e.payload.length > 0);
}

const line = (header) => Buffer.from(`${typeof header === 'string' ? header : JSON.stringify(header)}\n`);

/** Valid events, with where each ends in the stream, written several ways (data in the header, in a block, both). */
function sampleStream() {
  const events = [
    { bytes: encodeEvent({ type: 'describe' }), expect: { type: 'describe', data: {} } },
    { bytes: encodeEvent({ type: 'ping', data: { text: 'grüß dich 🎉' } }), expect: { type: 'ping', data: { text: 'grüß dich 🎉' } } },
    { bytes: Buffer.concat([line({ type: 'synthesize', data: { text: 'header', voice: { name: 'a' } }, data_length: 15 }), Buffer.from('{"text":"blok"}')]),
      expect: { type: 'synthesize', data: { text: 'blok', voice: { name: 'a' } } } },
    { bytes: encodeEvent({ type: 'audio-chunk', data: { rate: 16000, width: 2, channels: 1 }, payload: Buffer.from([0, 10, 0, 0x0a, 0xff, 0x7b]) }),
      expect: { type: 'audio-chunk', data: { rate: 16000, width: 2, channels: 1 }, payload: Buffer.from([0, 10, 0, 0x0a, 0xff, 0x7b]) } },
    { bytes: line({ type: 'audio-stop', data: null, data_length: null, payload_length: 0 }), expect: { type: 'audio-stop', data: {} } },
    { bytes: line({ type: 'synthesize-chunk', data_length: 0, data: { text: '\n{"type":"x"}\n' } }), expect: { type: 'synthesize-chunk', data: { text: '\n{"type":"x"}\n' } } },
  ];
  let end = 0;
  for (const e of events) {
    end += e.bytes.length;
    e.end = end;
  }
  return { events, bytes: Buffer.concat(events.map((e) => e.bytes)) };
}

function plain(e) {
  const out = { type: e.type, data: e.data };
  if (e.payload) out.payload = e.payload;
  return out;
}

describe('EventReader under fuzzed framing', function () {
  const { events, bytes } = sampleStream();
  const expected = events.map((e) => e.expect);

  it('events in 1-byte pieces, all merged in one push, and at random cuts: the same events', function () {
    const one = feed(new EventReader(), [...bytes].map((b) => [b]));
    assert.equal(one.error, undefined);
    assert.deepEqual(one.events.map(plain), expected);

    const many = Buffer.concat(Array.from({ length: 200 }, () => bytes));
    const merged = new EventReader().push(many);
    assert.equal(merged.length, 200 * events.length);
    assert.deepEqual(merged.slice(-events.length).map(plain), expected);

    const rnd = prng(7);
    for (let i = 0; i < 200; i++) {
      const r = feed(new EventReader(), randomPieces(bytes, rnd, 1 + rnd.int(40)));
      assert.equal(r.error, undefined);
      assert.deepEqual(r.events.map(plain), expected, `split #${i}`);
    }
  });

  it('truncated at every cut: only the complete events, the rest kept, and the rest completes them', function () {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new EventReader();
      const first = reader.push(bytes.subarray(0, cut));
      const complete = events.filter((e) => e.end <= cut);
      assert.deepEqual(first.map(plain), complete.map((e) => e.expect), `cut at ${cut}`);
      const consumed = complete.length ? complete[complete.length - 1].end : 0;
      // A complete header is parsed and held apart: at most the bytes after the last complete event are kept.
      assert.ok(reader.bufferedBytes <= cut - consumed, `bytes kept at cut ${cut}`);
      const rest = reader.push(bytes.subarray(cut));
      assert.deepEqual([...first, ...rest].map(plain), expected, `completed after cut ${cut}`);
      assert.equal(reader.bufferedBytes, 0);
    }
  });

  it('huge, negative, non-integer or non-numeric lengths: refused from the header alone, and the reader stays closed', function () {
    const cases = [
      [{ type: 'synthesize', data_length: MB + 1 }, 'body-too-large'],
      [{ type: 'audio-chunk', payload_length: MB + 1 }, 'body-too-large'],
      [{ type: 'audio-chunk', payload_length: 1e15 }, 'body-too-large'],
      [{ type: 'audio-chunk', payload_length: Number.MAX_SAFE_INTEGER }, 'body-too-large'],
      [{ type: 'audio-chunk', payload_length: 2 ** 60 }, 'malformed-header'],
      ['{"type":"audio-chunk","payload_length":1e400}', 'malformed-header'],
      [{ type: 'synthesize', data_length: -1 }, 'malformed-header'],
      [{ type: 'synthesize', data_length: -MB }, 'malformed-header'],
      [{ type: 'synthesize', data_length: 1.5 }, 'malformed-header'],
      [{ type: 'synthesize', data_length: '10' }, 'malformed-header'],
      [{ type: 'synthesize', data_length: true }, 'malformed-header'],
      [{ type: 'synthesize', data_length: [3] }, 'malformed-header'],
      [{ type: 'synthesize', payload_length: { n: 1 } }, 'malformed-header'],
    ];
    for (const [header, code] of cases) {
      const reader = new EventReader();
      const r = feed(reader, [line(header)]);
      assert.ok(r.error, `refused: ${JSON.stringify(header)}`);
      assert.equal(r.error.code, code, JSON.stringify(header));
      assert.deepEqual(reader.push(encodeEvent({ type: 'describe' })), [], 'nothing more after an error');
      assert.equal(reader.bufferedBytes, 0, 'nothing kept after an error');
    }
    // Exactly at the limit is fine.
    const ok = new EventReader().push(Buffer.concat([line({ type: 'audio-chunk', payload_length: MB }), Buffer.alloc(MB, 1)]));
    assert.equal(ok.length, 1);
    assert.equal(ok[0].payload.length, MB);
  });

  it('headers that are not an object with a type, data that is not an object: malformed-header / malformed-data', function () {
    const cases = [
      [line('[]'), 'malformed-header'],
      [line('1'), 'malformed-header'],
      [line('"describe"'), 'malformed-header'],
      [line('null'), 'malformed-header'],
      [line('true'), 'malformed-header'],
      [line('{}'), 'malformed-header'],
      [line({ type: 1 }), 'malformed-header'],
      [line({ type: '' }), 'malformed-header'],
      [line({ type: ['describe'] }), 'malformed-header'],
      [line(''), 'malformed-header'],
      [line('{"type":"describe"'), 'malformed-header'],
      [Buffer.from([0xff, 0xfe, 0x00, 0x0a]), 'malformed-header'],
      [line({ type: 'synthesize', data: [1, 2] }), 'malformed-header'],
      [line({ type: 'synthesize', data: 'text' }), 'malformed-header'],
      [line({ type: 'synthesize', data: 5 }), 'malformed-header'],
      [Buffer.concat([line({ type: 'synthesize', data_length: 2 }), Buffer.from('[]')]), 'malformed-data'],
      [Buffer.concat([line({ type: 'synthesize', data_length: 4 }), Buffer.from('null')]), 'malformed-data'],
      [Buffer.concat([line({ type: 'synthesize', data_length: 3 }), Buffer.from('"x"')]), 'malformed-data'],
      [Buffer.concat([line({ type: 'synthesize', data_length: 1 }), Buffer.from('7')]), 'malformed-data'],
      [Buffer.concat([line({ type: 'synthesize', data_length: 5 }), Buffer.from('{text')]), 'malformed-data'],
      [Buffer.concat([line({ type: 'synthesize', data_length: 3 }), Buffer.from([0xc3, 0x28, 0xff])]), 'malformed-data'],
    ];
    for (const [bytes, code] of cases) {
      for (const pieces of [[bytes], [...bytes].map((b) => [b])]) {
        const r = feed(new EventReader(), pieces);
        assert.ok(r.error, `refused: ${JSON.stringify(bytes.toString('latin1'))}`);
        assert.equal(r.error.code, code, JSON.stringify(bytes.toString('latin1')));
        assert.equal(r.events.length, 0);
      }
    }
    // A data block's "__proto__" is data, not a prototype.
    const [e] = new EventReader().push(Buffer.concat([line({ type: 'ping', data_length: 28 }), Buffer.from('{"__proto__":{"polluted":1}}')]));
    assert.equal(e.type, 'ping');
    assert.equal({}.polluted, undefined);
    assert.equal(Object.getPrototypeOf(e.data), Object.prototype);
  });

  it('header and body limits hold at every split: a line of max bytes passes, one more byte is refused before its newline', function () {
    const limits = { maxHeaderBytes: 100, maxBodyBytes: 50 };
    const pad = (n) => {
      const head = '{"type":"ping","data":{"text":"';
      return `${head}${'z'.repeat(n - head.length - 3)}"}}`;
    };
    assert.equal(pad(100).length, 100);
    const fits = feed(new EventReader(limits), [...Buffer.from(`${pad(100)}\n`)].map((b) => [b]));
    assert.equal(fits.error, undefined);
    assert.equal(fits.events.length, 1);
    // 101 bytes and no newline yet: refused at the 101st byte.
    const reader = new EventReader(limits);
    const long = Buffer.from(pad(101));
    for (let i = 0; i < 100; i++) assert.deepEqual(reader.push(long.subarray(i, i + 1)), []);
    assert.throws(() => reader.push(long.subarray(100, 101)), (err) => err instanceof WyomingProtocolError && err.code === 'header-too-long');
    assert.equal(feed(new EventReader(limits), [line({ type: 'x', data_length: 51 })]).error.code, 'body-too-large');
    assert.equal(feed(new EventReader(limits), [line({ type: 'x', data_length: 50 })]).error, undefined);
    assert.equal(DEFAULT_LIMITS.maxHeaderBytes, 64 * 1024);
    assert.equal(DEFAULT_LIMITS.maxBodyBytes, MB);
  });

  it('random garbage and mutated events, in random pieces: events of the right shape or a WyomingProtocolError, nothing else', function () {
    const rnd = prng(20240611);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const garbage = rnd.bytes(1 + rnd.int(3000));
      const r = feed(new EventReader({ maxHeaderBytes: 1024, maxBodyBytes: 4096 }), randomPieces(garbage, rnd, 200));
      r.events.forEach(shapeOk);
      if (r.error) refused++;
    }
    assert.ok(refused > 300, `most garbage is refused (${refused})`);
    for (let i = 0; i < 600; i++) {
      const mutated = Buffer.from(bytes);
      for (let k = 1 + rnd.int(4); k > 0; k--) {
        const at = rnd.int(mutated.length);
        mutated[at] = rnd.int(3) === 0 ? [0x0a, 0x7b, 0x22, 0x2d, 0x39][rnd.int(5)] : rnd.int(256);
      }
      const r = feed(new EventReader(), randomPieces(mutated, rnd, 30));
      r.events.forEach(shapeOk);
    }
  });
});

/** A connection, its events, and when it closed. */
async function open(port) {
  const socket = await connect(port);
  socket.setNoDelay(true);
  const closed = new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, events: new EventStream(socket), closed };
}

/** Every event until the connection ends; rejects when it is still open after `timeoutMs`. */
async function untilEnd(c, timeoutMs, what) {
  const seen = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${timeoutMs} ms (saw ${JSON.stringify(seen.map((e) => e.type))})`)), timeoutMs);
  });
  try {
    for (;;) {
      const e = await Promise.race([c.events.next(), timeout]);
      if (!e) return seen;
      seen.push(e);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Writes `bytes`, half-closes, and reads every event until the server ends the connection. */
async function sendAndEnd(port, bytes, what, timeoutMs = 3000) {
  const c = await open(port);
  c.socket.end(bytes);
  try {
    return await untilEnd(c, timeoutMs, what);
  } finally {
    c.socket.destroy();
  }
}

/** Writes `bytes` and expects one error event with `code`, then the end (the client does not half-close). */
async function refused(port, bytes, code, what) {
  const c = await open(port);
  c.socket.write(bytes);
  try {
    const seen = await untilEnd(c, 3000, what);
    assert.deepEqual(seen.map((e) => e.type), ['error'], what);
    if (code) assert.equal(seen[0].data.code, code, `${what}: ${seen[0].data.text}`);
    return seen[0];
  } finally {
    c.socket.destroy();
  }
}

describe('alltalk-wyoming under fuzzed framing', function () {
  this.timeout(60000);
  let sim;
  const problems = [];
  const onUncaught = (err) => problems.push(['uncaughtException', err]);
  const onRejection = (err) => problems.push(['unhandledRejection', err]);

  beforeEach(function () {
    problems.length = 0;
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
  });

  afterEach(async function () {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('every connection answers or ends, nothing is thrown, and the node keeps serving', async function () {
    sim = await startSim();
    const { port, outputs } = await deploy(sim);
    const wy = helper.getNode('wy');
    const rnd = prng(99);

    // Events in 1-byte pieces: answered.
    {
      const c = await open(port);
      const bytes = Buffer.concat([encode('describe'), encode('synthesize', { text: 'One byte at a time.', voice: { name: 'female_01.wav@en' } })]);
      for (const b of bytes) {
        c.socket.write(Buffer.from([b]));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const types = [];
      for (let e = await c.events.next(); e; e = e.type === 'audio-stop' ? undefined : await c.events.next()) types.push(e.type);
      c.socket.destroy();
      assert.equal(types[0], 'info');
      assert.equal(types[1], 'audio-start');
      assert.ok(types.includes('audio-chunk'), JSON.stringify(types));
    }

    // Many events merged in one write: every one answered, in order.
    {
      const many = Buffer.concat([...Array.from({ length: 300 }, (_, i) => encode('ping', { text: String(i) })), encode('describe')]);
      const seen = await sendAndEnd(port, many, 'merged');
      assert.equal(seen.length, 301);
      assert.deepEqual(seen.slice(0, 300).map((e) => e.data.text), Array.from({ length: 300 }, (_, i) => String(i)));
      assert.equal(seen[300].type, 'info');
    }

    // Truncated at every cut: the complete events are answered, the connection ends when the client does.
    {
      const parts = [encode('describe'), encode('ping', { text: 'ü' }), encode('audio-chunk', { rate: 16000, width: 2, channels: 1 }, Buffer.alloc(10, 0x0a)), encode('ping')];
      const answers = ['info', 'pong', null, 'pong'];
      const stream = Buffer.concat(parts);
      const ends = [];
      parts.reduce((at, p) => (ends.push(at + p.length), at + p.length), 0);
      const cuts = Array.from({ length: stream.length }, (_, i) => i);
      for (let i = 0; i < cuts.length; i += 8) {
        await Promise.all(cuts.slice(i, i + 8).map(async (cut) => {
          const seen = await sendAndEnd(port, stream.subarray(0, cut), `cut at ${cut}`);
          const want = answers.filter((a, k) => a && ends[k] <= cut);
          assert.deepEqual(seen.map((e) => e.type), want, `cut at ${cut}`);
        }));
      }
    }

    // Huge declared lengths, bad lengths, JSON that is not an object, data that is not an object: an error, then the close.
    const bad = [
      [`${JSON.stringify({ type: 'synthesize', data_length: 1e15 })}\n`, 'body-too-large'],
      [`${JSON.stringify({ type: 'audio-chunk', payload_length: Number.MAX_SAFE_INTEGER })}\n`, 'body-too-large'],
      [`${JSON.stringify({ type: 'audio-chunk', payload_length: 2 ** 60 })}\n`, 'malformed-header'],
      [`${JSON.stringify({ type: 'synthesize', data_length: -5 })}\n`, 'malformed-header'],
      [`${JSON.stringify({ type: 'synthesize', data_length: 2.5 })}\n`, 'malformed-header'],
      [`${JSON.stringify({ type: 'synthesize', payload_length: '12' })}\n`, 'malformed-header'],
      ['[]\n', 'malformed-header'],
      ['42\n', 'malformed-header'],
      ['"describe"\n', 'malformed-header'],
      ['null\n', 'malformed-header'],
      ['{"type":7}\n', 'malformed-header'],
      ['\n', 'malformed-header'],
      [`${JSON.stringify({ type: 'synthesize', data: ['text'] })}\n`, 'malformed-header'],
      [`${JSON.stringify({ type: 'synthesize', data: 'Hello' })}\n`, 'malformed-header'],
      [`${JSON.stringify({ type: 'synthesize', data_length: 6 })}\n["hi"]`, 'malformed-data'],
      [`${JSON.stringify({ type: 'synthesize', data_length: 4 })}\ntrue`, 'malformed-data'],
      [`${JSON.stringify({ type: 'synthesize', data_length: 6 })}\n{text:`, 'malformed-data'],
    ];
    for (const [bytes, code] of bad) await refused(port, Buffer.from(bytes), code, bytes.trim());
    // ...also after a good event on the same connection, and in 1-byte pieces.
    {
      const c = await open(port);
      const bytesApart = async (bytes) => {
        for (const b of bytes) {
          c.socket.write(Buffer.from([b]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      await bytesApart(encode('ping', { text: 'first' }));
      const pong = await c.events.next();
      assert.deepEqual([pong.type, pong.data.text], ['pong', 'first']);
      await bytesApart(Buffer.from('{"type":"ping","payload_length":-1}\n'));
      const seen = await untilEnd(c, 3000, 'good then bad');
      c.socket.destroy();
      assert.deepEqual(seen.map((e) => e.type), ['error']);
      assert.equal(seen[0].data.code, 'malformed-header');
    }

    // Well-formed events with odd data: answered or refused with an error, never a hang.
    {
      const noText = await refused(port, encode('synthesize', { text: 42 }), 'ALLTALK_VALIDATION', 'synthesize without text');
      assert.match(noText.data.text, /without text/);
      const c = await open(port);
      c.socket.write(Buffer.concat([encode('synthesize-chunk', { text: 'orphan. ' }), encode('synthesize-stop'), encode('__proto__', { constructor: 1 }),
        encode('ping', { text: { not: 'text' } }), encode('synthesize', { text: '   ' }), encode('describe')]));
      const types = [];
      for (let e = await c.events.next(); e; e = e.type === 'audio-stop' ? undefined : await c.events.next()) types.push(e.type);
      c.socket.destroy();
      // describe is answered at once; the synthesize's (empty) audio group follows.
      assert.deepEqual(types, ['pong', 'info', 'audio-start', 'audio-stop'], 'orphan stream events ignored; blank text: an empty audio group');
    }

    // Random garbage: every connection ends once the client does (with at most one error event).
    for (let i = 0; i < 60; i++) {
      const garbage = rnd.bytes(1 + rnd.int(4000));
      const seen = await sendAndEnd(port, garbage, `garbage #${i}`);
      assert.ok(seen.length <= 1, `garbage #${i}: ${JSON.stringify(seen.map((e) => e.type))}`);
      if (seen.length) assert.equal(seen[0].type, 'error');
    }
    // Garbage with no newline, the client never leaving: the header limit closes it.
    await refused(port, Buffer.alloc(70 * 1024, 0x20), 'header-too-long', 'endless blank header');

    // The node still serves: all 16 connections free, a describe and a synthesize.
    await sleep(100);
    const held = [];
    for (let i = 0; i < 16; i++) {
      const c = await open(port);
      held.push(c);
      c.socket.write(encode('describe'));
      const e = await c.events.next();
      assert.equal(e && e.type, 'info', `connection ${i + 1} of 16 (none leaked)`);
    }
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await sleep(50);
    const { info } = await describeServer(port);
    assert.equal(info.tts[0].installed, true);
    outputs.length = 0;
    const r = await synthesize(port, 'Still serving after the fuzz.', { voice: 'male_01.wav@en' });
    assert.ok(r.wav, JSON.stringify(r.events.map((e) => e.type)));
    await waitFor(() => outputs.some((m) => m.payload === 'Still serving after the fuzz.'), 'its output');
    assert.equal(outputs.find((m) => m.payload === 'Still serving after the fuzz.').error, undefined);

    const warned = wy.warn.getCalls().filter((c) => c.thisValue === wy).map((c) => String(c.args[0]));
    assert.deepEqual(warned.filter((w) => w.startsWith('Wyoming server:')), [], 'no handler threw');
    await sleep(50);
    assert.deepEqual(problems.map(([kind, err]) => `${kind}: ${err && err.stack}`), []);
  });
});
