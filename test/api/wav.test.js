'use strict';
// Unit tests of src/api/wav.ts: WAV files as AllTalk writes them (s16 PCM, f32 with a fact
// chunk, zero-size streamed headers).
const assert = require('node:assert/strict');
const {
  encodeWav,
  parseWav,
  decodeWav,
  fixWavSizes,
  wavHeader,
  streamingWavHeader,
  encodeSamples,
  WavFormatError,
  WAVE_FORMAT_PCM,
  WAVE_FORMAT_IEEE_FLOAT,
} = require('../../dist/api');

/** A short ramp of samples in [-1, 1], including both ends and zero. */
function ramp(n) {
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) s[i] = -1 + (2 * i) / (n - 1);
  return s;
}

function chunkIds(buf) {
  const ids = [];
  let off = 12;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32LE(off + 4);
    ids.push(buf.toString('ascii', off, off + 4));
    off += 8 + size + (size % 2);
  }
  return ids;
}

describe('api/wav', () => {
  describe('encodeWav / parseWav round trip', () => {
    it('s16 PCM: canonical 44-byte header, sizes and values', () => {
      const samples = ramp(101);
      const buf = encodeWav(samples, { sampleRate: 22050, encoding: 's16' });
      const info = parseWav(buf);
      assert.equal(info.format, WAVE_FORMAT_PCM);
      assert.equal(info.channels, 1);
      assert.equal(info.sampleRate, 22050);
      assert.equal(info.bitsPerSample, 16);
      assert.equal(info.dataOffset, 44);
      assert.equal(info.dataLength, 101 * 2);
      assert.equal(info.declaredDataLength, 101 * 2);
      assert.equal(buf.readUInt32LE(4), buf.length - 8, 'RIFF size');
      assert.ok(Math.abs(info.duration - 101 / 22050) < 1e-9);
      const { samples: back } = decodeWav(buf);
      assert.equal(back.length, samples.length);
      // encoding scales positives by 0x7fff and decoding divides by 0x8000: at most 2 steps apart
      for (let i = 0; i < samples.length; i++) {
        assert.ok(Math.abs(back[i] - samples[i]) <= 2 / 32768, `sample ${i}: ${back[i]} vs ${samples[i]}`);
      }
      assert.equal(back[0], -1, 'full-scale negative is exact');
    });

    it('f32 with a fact chunk (as XTTS writes it): data does not start at byte 44', () => {
      const samples = Float32Array.from([0, 0.5, -0.25, 1, -1, 0.125, 0.333]);
      const buf = encodeWav(samples, { sampleRate: 24000, encoding: 'f32', factChunk: true });
      assert.deepEqual(chunkIds(buf), ['fmt ', 'fact', 'data']);
      const info = parseWav(buf);
      assert.equal(info.format, WAVE_FORMAT_IEEE_FLOAT);
      assert.equal(info.bitsPerSample, 32);
      assert.equal(info.sampleRate, 24000);
      assert.notEqual(info.dataOffset, 44);
      assert.equal(buf.toString('ascii', info.dataOffset - 8, info.dataOffset - 4), 'data');
      assert.equal(info.dataLength, samples.length * 4);
      assert.equal(info.declaredDataLength, samples.length * 4);
      assert.equal(buf.readUInt32LE(4), buf.length - 8, 'RIFF size');
      // the fact chunk holds the frame count
      const factAt = buf.indexOf('fact', 12, 'ascii');
      assert.equal(buf.readUInt32LE(factAt + 8), samples.length);
      const { samples: back } = decodeWav(buf);
      assert.deepEqual(Array.from(back), Array.from(samples), 'float samples are exact');
    });

    it('stereo f32 without fact chunk: channels and duration per frame', () => {
      const samples = Float32Array.from([0.1, -0.1, 0.2, -0.2]);
      const buf = encodeWav(samples, { sampleRate: 8000, channels: 2, encoding: 'f32' });
      const info = parseWav(buf);
      assert.equal(info.channels, 2);
      assert.equal(info.dataOffset, 44);
      assert.equal(buf.readUInt16LE(32), 8, 'block align = 2 channels x 4 bytes');
      assert.equal(buf.readUInt32LE(28), 8000 * 8, 'byte rate');
      assert.ok(Math.abs(info.duration - 2 / 8000) < 1e-12);
    });

    it('encodeSamples clips s16 values outside [-1, 1]', () => {
      const out = encodeSamples(Float32Array.from([2, -2, 0]), 's16');
      assert.equal(out.readInt16LE(0), 32767);
      assert.equal(out.readInt16LE(2), -32768);
      assert.equal(out.readInt16LE(4), 0);
    });
  });

  describe('decodeWav', () => {
    it('decodes s16 values to the expected floats', () => {
      const data = Buffer.alloc(8);
      data.writeInt16LE(0, 0);
      data.writeInt16LE(16384, 2);
      data.writeInt16LE(-32768, 4);
      data.writeInt16LE(-8192, 6);
      const buf = Buffer.concat([wavHeader({ sampleRate: 24000, channels: 1, encoding: 's16', dataLength: 8 }), data]);
      const { samples } = decodeWav(buf);
      assert.deepEqual(Array.from(samples), [0, 0.5, -1, -0.25]);
    });

    it('decodes 8-bit and 24-bit PCM', () => {
      const h8 = wavHeader({ sampleRate: 8000, channels: 1, encoding: 's16', dataLength: 3 });
      h8.writeUInt16LE(8, 34);
      const b8 = Buffer.concat([h8, Buffer.from([128, 192, 0])]);
      assert.deepEqual(Array.from(decodeWav(b8).samples), [0, 0.5, -1]);

      const h24 = wavHeader({ sampleRate: 8000, channels: 1, encoding: 's16', dataLength: 6 });
      h24.writeUInt16LE(24, 34);
      const d24 = Buffer.alloc(6);
      d24.writeIntLE(0x400000, 0, 3);
      d24.writeIntLE(-0x800000, 3, 3);
      assert.deepEqual(Array.from(decodeWav(Buffer.concat([h24, d24])).samples), [0.5, -1]);
    });

    it('resolves WAVE_FORMAT_EXTENSIBLE to its sub-format', () => {
      const samples = Float32Array.from([0.5, -0.5]);
      const data = encodeSamples(samples, 'f32');
      const fmt = Buffer.alloc(8 + 40);
      fmt.write('fmt ', 0, 'ascii');
      fmt.writeUInt32LE(40, 4);
      fmt.writeUInt16LE(0xfffe, 8);
      fmt.writeUInt16LE(1, 10);
      fmt.writeUInt32LE(24000, 12);
      fmt.writeUInt32LE(96000, 16);
      fmt.writeUInt16LE(4, 20);
      fmt.writeUInt16LE(32, 22);
      fmt.writeUInt16LE(22, 24);
      fmt.writeUInt16LE(32, 26);
      fmt.writeUInt32LE(4, 28);
      fmt.writeUInt16LE(WAVE_FORMAT_IEEE_FLOAT, 32); // sub-format GUID starts with the format tag
      const dataHead = Buffer.alloc(8);
      dataHead.write('data', 0, 'ascii');
      dataHead.writeUInt32LE(data.length, 4);
      const riff = Buffer.alloc(12);
      riff.write('RIFF', 0, 'ascii');
      riff.writeUInt32LE(4 + fmt.length + 8 + data.length, 4);
      riff.write('WAVE', 8, 'ascii');
      const buf = Buffer.concat([riff, fmt, dataHead, data]);
      const { info, samples: back } = decodeWav(buf);
      assert.equal(info.format, WAVE_FORMAT_IEEE_FLOAT);
      assert.equal(info.dataOffset, 12 + 48 + 8);
      assert.deepEqual(Array.from(back), [0.5, -0.5]);
    });
  });

  describe('streamed headers and fixWavSizes', () => {
    it('streamingWavHeader is what XTTS sends: RIFF 36, data 0, s16 mono 24 kHz', () => {
      const h = streamingWavHeader();
      assert.equal(h.length, 44);
      assert.equal(h.readUInt32LE(4), 36);
      assert.equal(h.readUInt32LE(40), 0);
      const info = parseWav(h);
      assert.equal(info.sampleRate, 24000);
      assert.equal(info.bitsPerSample, 16);
      assert.equal(info.channels, 1);
      assert.equal(info.declaredDataLength, 0);
      assert.equal(info.dataLength, 0);
    });

    it('parseWav of a streamed file counts the bytes present although the header says 0', () => {
      const pcm = encodeSamples(ramp(500), 's16');
      const buf = Buffer.concat([streamingWavHeader(), pcm]);
      const info = parseWav(buf);
      assert.equal(info.declaredDataLength, 0);
      assert.equal(info.dataLength, pcm.length);
    });

    it('fixWavSizes writes the real sizes into a streamed header', () => {
      const pcm = encodeSamples(ramp(1234), 's16');
      const streamed = Buffer.concat([streamingWavHeader(), pcm]);
      const fixed = fixWavSizes(streamed);
      assert.equal(fixed.length, streamed.length);
      assert.equal(fixed.readUInt32LE(4), fixed.length - 8);
      assert.equal(fixed.readUInt32LE(40), pcm.length);
      const info = parseWav(fixed);
      assert.equal(info.declaredDataLength, info.dataLength);
      assert.equal(info.dataLength, pcm.length);
      assert.ok(fixed.subarray(44).equals(pcm), 'audio untouched');
      // the input is not modified
      assert.equal(streamed.readUInt32LE(4), 36);
      assert.equal(streamed.readUInt32LE(40), 0);
    });

    it('fixWavSizes drops bytes beyond a declared data size and works after a fact chunk', () => {
      const good = encodeWav(ramp(10), { sampleRate: 24000, encoding: 'f32', factChunk: true });
      const withTrailer = Buffer.concat([good, Buffer.from('LIST....junk')]);
      const fixed = fixWavSizes(withTrailer);
      assert.equal(fixed.length, good.length);
      assert.equal(fixed.readUInt32LE(4), good.length - 8);
      const info = parseWav(fixed);
      assert.equal(info.dataLength, 40);
      assert.equal(info.declaredDataLength, 40);
    });
  });

  describe('parseWav refuses junk', () => {
    const cases = {
      'an empty buffer': Buffer.alloc(0),
      'text': Buffer.from('nonsense, not a wav file at all'),
      'RIFF without WAVE': Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('AVI LIST')]),
      'a WAVE with no chunks': Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE')]),
    };
    for (const [name, buf] of Object.entries(cases)) {
      it(`throws WavFormatError on ${name}`, () => {
        assert.throws(() => parseWav(buf), WavFormatError);
      });
    }

    it('throws when the data chunk comes before fmt', () => {
      const buf = Buffer.alloc(12 + 8 + 4);
      buf.write('RIFF', 0, 'ascii');
      buf.writeUInt32LE(buf.length - 8, 4);
      buf.write('WAVE', 8, 'ascii');
      buf.write('data', 12, 'ascii');
      buf.writeUInt32LE(4, 16);
      assert.throws(() => parseWav(buf), (err) => err instanceof WavFormatError && /before fmt/.test(err.message));
    });

    it('throws when the fmt chunk is cut short', () => {
      const buf = streamingWavHeader().subarray(0, 28);
      assert.throws(() => parseWav(buf), (err) => err instanceof WavFormatError && /fmt/.test(err.message));
    });

    it('throws when there is no data chunk', () => {
      const buf = streamingWavHeader().subarray(0, 36);
      assert.throws(() => parseWav(buf), (err) => err instanceof WavFormatError && /no data/.test(err.message));
    });

    it('fixWavSizes and decodeWav refuse junk too', () => {
      assert.throws(() => fixWavSizes(Buffer.from('nonsense')), WavFormatError);
      assert.throws(() => decodeWav(Buffer.from('nonsense')), WavFormatError);
    });
  });
});
