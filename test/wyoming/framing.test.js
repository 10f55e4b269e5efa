'use strict';
// The Wyoming pieces without Node-RED: the framing (events split and merged as TCP delivers them,
// data merged over the header's, the limits), the sentence splitter for streamed text, and audio
// out (16-bit chunks of 1024 samples from any WAV AllTalk makes, one format per stream).
const assert = require('node:assert/strict');
const { EventReader, encodeEvent, WyomingProtocolError } = require('../../dist/wyoming/framing');
const { SentenceSplitter } = require('../../dist/wyoming/sentences');
const { AudioOut, SAMPLES_PER_CHUNK } = require('../../dist/wyoming/audio-out');
const { encodeWav } = require('../../dist/api');
const { encode } = require('./ha-client');

const line = (o) => Buffer.from(`${JSON.stringify(o)}\n`);

describe('Wyoming framing', function () {
  it('reads what the Python writer sends: data in its own block merged over the header\'s, then the payload', function () {
    const r = new EventReader();
    const [e] = r.push(Buffer.concat([line({ type: 'audio-chunk', data: { rate: 1, keep: true }, data_length: 27, payload_length: 4 }),
      Buffer.from('{"rate":22050,"channels":1}'), Buffer.from([1, 2, 3, 4])]));
    assert.deepEqual(e.data, { rate: 22050, keep: true, channels: 1 });
    assert.deepEqual([...e.payload], [1, 2, 3, 4]);
  });

  it('missing data is {}; several events in one packet; one event across many (byte by byte)', function () {
    const all = Buffer.concat([line({ type: 'describe' }), encode('synthesize', { text: 'Hallo Welt ✓' }), encode('ping', { text: 'x' })]);
    assert.deepEqual(new EventReader().push(all).map((e) => [e.type, e.data]),
      [['describe', {}], ['synthesize', { text: 'Hallo Welt ✓' }], ['ping', { text: 'x' }]]);
    const r = new EventReader();
    const got = [];
    for (const b of all) got.push(...r.push(Buffer.from([b])));
    assert.deepEqual(got.map((e) => e.type), ['describe', 'synthesize', 'ping']);
    assert.equal(got[1].data.text, 'Hallo Welt ✓', 'a character split across packets');
    assert.equal(r.bufferedBytes, 0);
  });

  it('encodeEvent writes what the reader reads, the lengths left out when zero', function () {
    const bytes = encodeEvent({ type: 'audio-chunk', data: { rate: 24000 }, payload: Buffer.from([9, 8]) });
    const header = JSON.parse(bytes.subarray(0, bytes.indexOf(10)).toString());
    assert.deepEqual(Object.keys(header).sort(), ['data_length', 'payload_length', 'type', 'version']);
    const [e] = new EventReader().push(bytes);
    assert.deepEqual([e.type, e.data, [...e.payload]], ['audio-chunk', { rate: 24000 }, [9, 8]]);
    assert.deepEqual(Object.keys(JSON.parse(encodeEvent({ type: 'audio-stop', data: {} }).toString())).sort(), ['type', 'version']);
  });

  const bad = [
    ['a header line over 64 KB', Buffer.alloc(64 * 1024 + 2, 0x20), 'header-too-long'],
    ['a data block over 1 MB', line({ type: 'x', data_length: 1024 * 1024 + 1 }), 'body-too-large'],
    ['a payload over 1 MB', line({ type: 'x', payload_length: 2 ** 40 }), 'body-too-large'],
    ['a header that is not JSON', Buffer.from('{type: nope}\n'), 'malformed-header'],
    ['a header without a type', line({ data: {} }), 'malformed-header'],
    ['a header that is an array', line([1, 2]), 'malformed-header'],
    ['data that is not an object', line({ type: 'x', data: 'text' }), 'malformed-header'],
    ['a negative length', line({ type: 'x', data_length: -1 }), 'malformed-header'],
    ['a fractional length', line({ type: 'x', payload_length: 1.5 }), 'malformed-header'],
    ['a data block that is not JSON', Buffer.concat([line({ type: 'x', data_length: 3 }), Buffer.from('abc')]), 'malformed-data'],
    ['a data block that is JSON but no object', Buffer.concat([line({ type: 'x', data_length: 2 }), Buffer.from('[]')]), 'malformed-data'],
  ];
  for (const [what, bytes, code] of bad) {
    it(`refuses ${what} (${code}), and reads nothing more after it`, function () {
      const r = new EventReader();
      assert.throws(() => r.push(bytes), (err) => err instanceof WyomingProtocolError && err.code === code);
      assert.deepEqual(r.push(line({ type: 'ping' })), []);
    });
  }

  it('a fault carries the whole events before it in the same bytes (a ping and garbage in one packet: the ping is still answered)', function () {
    const r = new EventReader();
    assert.throws(() => r.push(Buffer.concat([encode('ping', { text: 'a' }), encode('describe'), Buffer.from('[]\n')])), (err) => {
      assert.equal(err.code, 'malformed-header');
      assert.deepEqual(err.events.map((e) => e.type), ['ping', 'describe']);
      return true;
    });
  });

  it('a long header in small pieces is refused once it passes the limit, without reading it again and again', function () {
    const r = new EventReader();
    const piece = Buffer.alloc(1000, 0x41);
    let failed;
    for (let i = 0; i < 100 && !failed; i++) {
      try {
        r.push(piece);
      } catch (err) {
        failed = err;
      }
    }
    assert.equal(failed.code, 'header-too-long');
  });
});

describe('Wyoming sentence splitter', function () {
  it('gives a sentence once its end mark is followed by white space; the rest at the end', function () {
    const s = new SentenceSplitter();
    assert.deepEqual(s.add('The weather today'), []);
    assert.deepEqual(s.add(' is sunny. Tomor'), ['The weather today is sunny.']);
    assert.deepEqual(s.add('row it rains!'), [], 'no white space after the mark yet');
    assert.deepEqual(s.add(' "Really?" she asked. 3.5 degrees'), ['Tomorrow it rains!', '"Really?"', 'she asked.']);
    assert.equal(s.finish(), '3.5 degrees');
    assert.equal(s.finish(), '');
    assert.deepEqual(new SentenceSplitter().add('你好。再见'), ['你好。'], 'CJK marks need no space');
  });
});

describe('Wyoming audio out', function () {
  function collect() {
    const events = [];
    return { events, send: async (e) => void events.push(e) };
  }

  it('a 32-bit float WAV goes out as 16-bit PCM in chunks of 1024 samples, between audio-start and audio-stop', async function () {
    const samples = new Float32Array(3000).map((_, i) => Math.sin(i / 10) * 0.5);
    const { events, send } = collect();
    const out = new AudioOut(send);
    await out.wav(encodeWav(samples, { sampleRate: 24000, encoding: 'f32' }));
    await out.end();
    assert.deepEqual(events[0], { type: 'audio-start', data: { rate: 24000, width: 2, channels: 1 } });
    const chunks = events.filter((e) => e.type === 'audio-chunk');
    assert.deepEqual(chunks.map((c) => c.payload.length), [2048, 2048, 3000 * 2 - 4096]);
    assert.equal(events[events.length - 1].type, 'audio-stop');
    assert.ok(Math.abs(chunks[0].payload.readInt16LE(20) / 32768 - samples[10]) < 0.001);
    assert.equal(SAMPLES_PER_CHUNK, 1024);
  });

  it('a stream\'s later groups keep its first format: another rate is resampled to it', async function () {
    const { events, send } = collect();
    const second = new AudioOut(send, { rate: 24000, width: 2, channels: 1 });
    await second.wav(encodeWav(new Float32Array(2205), { sampleRate: 22050, encoding: 's16' }));
    await second.end();
    assert.deepEqual(events[0].data, { rate: 24000, width: 2, channels: 1 });
    const bytes = events.filter((e) => e.type === 'audio-chunk').reduce((n, e) => n + e.payload.length, 0);
    assert.equal(bytes, 2400 * 2, '0.1 s at 24 kHz');
  });

  it('a group with no audio still starts and stops', async function () {
    const { events, send } = collect();
    const out = new AudioOut(send);
    await out.end();
    assert.deepEqual(events.map((e) => e.type), ['audio-start', 'audio-stop']);
  });
});
