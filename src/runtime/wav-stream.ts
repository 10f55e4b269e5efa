/**
 * Reads a streamed WAV as it arrives: the header first, however the network cuts it into chunks,
 * then the audio in whole samples only (a sample cut in two waits for the rest of it in the next
 * chunk). Used by alltalk-stream for every output mode.
 */
import { AllTalkError } from '../api/errors';
import { parseWav, WavFormatError } from '../api/wav';

export interface AudioFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

/** A header is never longer than this; past it, the stream is not a WAV stream. */
const MAX_HEADER_BYTES = 4096;
const EMPTY = Buffer.alloc(0);

export class WavStreamReader {
  /** The header as received (with the zero sizes of a stream), once it is complete. */
  header: Buffer | undefined;
  format: AudioFormat | undefined;
  /** Bytes per sample frame (all channels). */
  frameBytes = 0;
  /** Audio bytes handed out so far (whole frames). */
  audioBytes = 0;
  private pending: Buffer = EMPTY;

  constructor(private readonly describe: string) {}

  /**
   * Takes the next piece of the body; returns the audio it holds after the header: in whole frames
   * only when `wholeFrames` (a cut frame then waits for its rest), else as it came.
   * @throws AllTalkError invalid-response when the stream does not start with a WAV header.
   */
  push(chunk: Buffer, wholeFrames = true): Buffer {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    if (!this.header) {
      const parsed = this.tryHeader(data);
      if (!parsed) {
        this.pending = data;
        return EMPTY;
      }
      data = data.subarray(parsed);
    }
    if (!wholeFrames) {
      this.audioBytes += data.length;
      return data;
    }
    const whole = data.length - (data.length % this.frameBytes);
    if (whole < data.length) this.pending = Buffer.from(data.subarray(whole));
    this.audioBytes += whole;
    return whole === data.length ? data : data.subarray(0, whole);
  }

  /** Seconds of audio handed out so far. */
  get seconds(): number {
    const f = this.format;
    return f ? this.audioBytes / (f.sampleRate * this.frameBytes) : 0;
  }

  /** Bytes that were left over at the end (a sample cut off): dropped, never passed on. */
  get leftover(): number {
    return this.pending.length;
  }

  /** Parses the header once enough of it is there; returns where the audio starts. */
  private tryHeader(data: Buffer): number | undefined {
    if (data.length < 12) return undefined;
    if (data.toString('latin1', 0, 4) !== 'RIFF' || data.toString('latin1', 8, 12) !== 'WAVE') throw this.notWav(data);
    let info;
    try {
      info = parseWav(data);
    } catch (err) {
      if (!(err instanceof WavFormatError)) throw err;
      // The data chunk's header has not arrived yet.
      if (data.length > MAX_HEADER_BYTES) throw this.notWav(data);
      return undefined;
    }
    const frameBytes = info.channels * (info.bitsPerSample / 8);
    if (!Number.isInteger(frameBytes) || frameBytes < 1 || info.sampleRate < 1) throw this.notWav(data);
    this.header = Buffer.from(data.subarray(0, info.dataOffset));
    this.format = { sampleRate: info.sampleRate, channels: info.channels, bitsPerSample: info.bitsPerSample };
    this.frameBytes = frameBytes;
    return info.dataOffset;
  }

  private notWav(data: Buffer): AllTalkError {
    const start = JSON.stringify(data.toString('latin1', 0, 16));
    return new AllTalkError('invalid-response',
      `AllTalk at ${this.describe} sent a stream that is not WAV audio (it starts with ${start}). Is this an AllTalk v2 server?`);
  }
}

/** True when two streams have the same sample format (the parts of a split text must). */
export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.sampleRate === b.sampleRate && a.channels === b.channels && a.bitsPerSample === b.bitsPerSample;
}
