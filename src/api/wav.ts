/**
 * WAV reading and writing, as AllTalk produces it:
 * - standard generation (XTTS): 32-bit IEEE float, 24 kHz mono, a `fact` chunk before `data`
 *   (so the audio does not start at byte 44: always walk the chunks);
 * - narrator output: 16-bit PCM 44.1 kHz;
 * - streaming: a 44-byte header whose RIFF size is 36 and data size 0, then s16le PCM.
 */

export const WAVE_FORMAT_PCM = 1;
export const WAVE_FORMAT_IEEE_FLOAT = 3;

export type SampleEncoding = 's16' | 'f32';

export interface WavInfo {
  /** 1 = PCM, 3 = IEEE float (WAVE_FORMAT_EXTENSIBLE is resolved to its sub-format). */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Byte offset of the first audio byte. */
  dataOffset: number;
  /** Bytes of audio actually present (a zero or oversized data size is clipped to the buffer). */
  dataLength: number;
  /** The data size written in the header (0 in a streamed header). */
  declaredDataLength: number;
  /** Duration in seconds of the audio present. */
  duration: number;
}

export class WavFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavFormatError';
  }
}

/** Reads the header of a RIFF/WAVE buffer by walking its chunks. */
export function parseWav(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  let offset = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (body + 16 > buf.length) throw new WavFormatError('fmt chunk is cut short');
      let format = buf.readUInt16LE(body);
      if (format === 0xfffe && size >= 40 && body + 26 <= buf.length) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new WavFormatError('data chunk before fmt chunk');
      checkFormat(fmt);
      const present = buf.length - body;
      const dataLength = size === 0 || size > present ? present : size;
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8);
      return {
        format: fmt.format,
        channels: fmt.channels,
        sampleRate: fmt.sampleRate,
        bitsPerSample: fmt.bitsPerSample,
        dataOffset: body,
        dataLength,
        declaredDataLength: size,
        duration: bytesPerSecond > 0 ? dataLength / bytesPerSecond : 0,
      };
    }
    offset = body + size + (size % 2);
  }
  throw new WavFormatError('no data chunk');
}

/** Refuses a header whose numbers no audio has (they would make conversions huge or impossible). */
function checkFormat(fmt: { channels: number; sampleRate: number; bitsPerSample: number }): void {
  if (fmt.channels < 1 || fmt.channels > 32) throw new WavFormatError(`${fmt.channels} channels`);
  if (fmt.sampleRate < 1000 || fmt.sampleRate > 768_000) throw new WavFormatError(`a sample rate of ${fmt.sampleRate} Hz`);
  if (fmt.bitsPerSample < 8 || fmt.bitsPerSample > 64 || fmt.bitsPerSample % 8 !== 0) {
    throw new WavFormatError(`${fmt.bitsPerSample} bits per sample`);
  }
}

/** Builds a canonical 44-byte PCM/float header (no `fact` chunk). */
export function wavHeader(opts: {
  sampleRate: number;
  channels: number;
  encoding: SampleEncoding;
  dataLength: number;
}): Buffer {
  const bits = opts.encoding === 'f32' ? 32 : 16;
  const blockAlign = opts.channels * (bits / 8);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + opts.dataLength, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(opts.encoding === 'f32' ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM, 20);
  h.writeUInt16LE(opts.channels, 22);
  h.writeUInt32LE(opts.sampleRate, 24);
  h.writeUInt32LE(opts.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(opts.dataLength, 40);
  return h;
}

/** The header a streaming XTTS response starts with: RIFF size 36, data size 0, s16 mono. */
export function streamingWavHeader(sampleRate = 24000): Buffer {
  return wavHeader({ sampleRate, channels: 1, encoding: 's16', dataLength: 0 });
}

/** Encodes mono or interleaved samples in [-1, 1] as a WAV file. */
export function encodeWav(
  samples: Float32Array,
  opts: { sampleRate: number; channels?: number; encoding: SampleEncoding; factChunk?: boolean },
): Buffer {
  const channels = opts.channels ?? 1;
  const data = encodeSamples(samples, opts.encoding);
  const header = wavHeader({ sampleRate: opts.sampleRate, channels, encoding: opts.encoding, dataLength: data.length });
  if (!opts.factChunk) return Buffer.concat([header, data]);
  // RIFF, WAVE, fmt chunk (18-byte body with cbSize, as soundfile writes float files), fact chunk, data.
  const fmtChunk = Buffer.alloc(8 + 18);
  fmtChunk.write('fmt ', 0, 'ascii');
  fmtChunk.writeUInt32LE(18, 4);
  header.copy(fmtChunk, 8, 20, 36);
  fmtChunk.writeUInt16LE(0, 24);
  const fact = Buffer.alloc(12);
  fact.write('fact', 0, 'ascii');
  fact.writeUInt32LE(4, 4);
  fact.writeUInt32LE(samples.length / channels, 8);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0, 'ascii');
  dataHead.writeUInt32LE(data.length, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(4 + fmtChunk.length + fact.length + dataHead.length + data.length, 4);
  riff.write('WAVE', 8, 'ascii');
  return Buffer.concat([riff, fmtChunk, fact, dataHead, data]);
}

export function encodeSamples(samples: Float32Array, encoding: SampleEncoding): Buffer {
  if (encoding === 'f32') {
    const out = Buffer.alloc(samples.length * 4);
    for (let i = 0; i < samples.length; i++) out.writeFloatLE(samples[i], i * 4);
    return out;
  }
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out.writeInt16LE(Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), i * 2);
  }
  return out;
}

/** Decodes the audio of a WAV file to samples in [-1, 1] (PCM 8/16/24/32-bit and float 32/64). */
export function decodeWav(buf: Buffer): { info: WavInfo; samples: Float32Array } {
  const info = parseWav(buf);
  const bytes = info.bitsPerSample / 8;
  const count = Math.floor(info.dataLength / bytes);
  const samples = new Float32Array(count);
  const o = info.dataOffset;
  for (let i = 0; i < count; i++) {
    const p = o + i * bytes;
    if (info.format === WAVE_FORMAT_IEEE_FLOAT) {
      samples[i] = bytes === 8 ? buf.readDoubleLE(p) : buf.readFloatLE(p);
    } else if (bytes === 2) {
      samples[i] = buf.readInt16LE(p) / 0x8000;
    } else if (bytes === 1) {
      samples[i] = (buf[p] - 128) / 128;
    } else if (bytes === 3) {
      samples[i] = buf.readIntLE(p, 3) / 0x800000;
    } else if (bytes === 4) {
      samples[i] = buf.readInt32LE(p) / 0x80000000;
    } else {
      throw new WavFormatError(`unsupported sample size: ${info.bitsPerSample} bits`);
    }
  }
  return { info, samples };
}

/**
 * Writes the real sizes into the header of a streamed WAV (whose RIFF and data sizes are 0 or
 * 36/0 because the length was unknown when the header was sent). Returns a new buffer.
 */
export function fixWavSizes(buf: Buffer): Buffer {
  const info = parseWav(buf);
  const out = Buffer.from(buf.subarray(0, info.dataOffset + info.dataLength));
  out.writeUInt32LE(out.length - 8, 4);
  out.writeUInt32LE(info.dataLength, info.dataOffset - 4);
  return out;
}

/** Linear-interpolation resampling of mono or interleaved samples. */
export function resample(samples: Float32Array, channels: number, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples;
  const frames = Math.floor(samples.length / channels);
  const outFrames = Math.max(0, Math.round((frames * toRate) / fromRate));
  const out = new Float32Array(outFrames * channels);
  const step = fromRate / toRate;
  for (let f = 0; f < outFrames; f++) {
    const pos = f * step;
    const i = Math.floor(pos);
    const frac = pos - i;
    for (let c = 0; c < channels; c++) {
      const a = samples[Math.min(i, frames - 1) * channels + c] ?? 0;
      const b = samples[Math.min(i + 1, frames - 1) * channels + c] ?? a;
      out[f * channels + c] = a + (b - a) * frac;
    }
  }
  return out;
}

/** Mixes interleaved samples down to mono, or copies mono samples to every channel. */
function remix(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const frames = Math.floor(samples.length / from);
  const out = new Float32Array(frames * to);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < from; c++) sum += samples[f * from + c];
    const mono = sum / from;
    for (let c = 0; c < to; c++) out[f * to + c] = to === 1 ? mono : from === 1 ? samples[f] : mono;
  }
  return out;
}

/** The sample format a joined file is written in: the first part's. */
export interface WavTarget {
  sampleRate: number;
  channels: number;
  encoding: SampleEncoding;
}

export function wavTarget(first: Buffer): WavTarget {
  const info = parseWav(first);
  return { sampleRate: info.sampleRate, channels: info.channels, encoding: info.format === WAVE_FORMAT_IEEE_FLOAT ? 'f32' : 's16' };
}

/** The audio of one WAV file, converted to `target`'s rate and channels and encoded as it says. */
export function convertWavData(part: Buffer, target: WavTarget): Buffer {
  const { info, samples } = decodeWav(part);
  const converted = resample(remix(samples, info.channels, target.channels), target.channels, info.sampleRate, target.sampleRate);
  return encodeSamples(converted, target.encoding);
}

/**
 * Joins WAV files into one, in order: every part is converted to the first part's sample rate
 * and channel count, and written with the first part's sample encoding (16-bit PCM or 32-bit
 * float) under one header.
 */
export function joinWavs(parts: Buffer[]): Buffer {
  if (parts.length === 0) throw new WavFormatError('nothing to join');
  const target = wavTarget(parts[0]);
  const data = Buffer.concat(parts.map((p) => convertWavData(p, target)));
  return Buffer.concat([wavHeader({ ...target, dataLength: data.length }), data]);
}
