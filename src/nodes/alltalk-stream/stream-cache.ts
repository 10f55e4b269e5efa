/**
 * alltalk-stream and the audio cache: a stream is copied into the cache as it passes (kept only
 * when it finished unstopped, with its header's sizes written in), and a hit is replayed the way
 * a stream arrives: the header, then the audio in pieces.
 */
import { promises as fsp } from 'node:fs';
import { fixWavFileSizes } from '../../api/streaming';
import { parseWav, WavFormatError } from '../../api/wav';
import type { CacheWriter } from '../../runtime/audio-cache';
import type { AudioFormat } from '../../runtime/wav-stream';
import type { StreamSink } from './stream-sinks';

/** A replayed hit goes out in pieces of about this size (whole samples), as a stream would. */
const REPLAY_PIECE_BYTES = 32 * 1024;

/** Passes everything to `inner` and copies it, in order, into a cache entry being written. */
export class CacheTee implements StreamSink {
  private chain: Promise<void> = Promise.resolve();
  private failed = false;
  private headerBytes = 0;
  private frameBytes = 1;
  private copied = 0;

  constructor(
    readonly inner: StreamSink,
    private readonly writer: CacheWriter,
  ) {}

  get wholeFrames(): boolean {
    return this.inner.wholeFrames;
  }

  get bytes(): number {
    return this.inner.bytes;
  }

  begin(header: Buffer, format: AudioFormat): void {
    this.inner.begin(header, format);
    this.headerBytes = header.length;
    this.frameBytes = Math.max(1, format.channels * (format.bitsPerSample / 8));
    this.copy(header);
  }

  audio(data: Buffer): Promise<void> | undefined {
    const pending = this.inner.audio(data);
    this.copy(data);
    return pending;
  }

  /** Keeps the copy (a finished, unstopped stream); resolves whether it was kept. */
  async keep(): Promise<boolean> {
    await this.chain;
    if (this.failed) {
      await this.writer.discard();
      return false;
    }
    const partial = this.copied > this.headerBytes ? (this.copied - this.headerBytes) % this.frameBytes : 0;
    return this.writer.commit(async (file) => {
      if (partial) await fsp.truncate(file, this.copied - partial);
      await fixWavFileSizes(file);
    });
  }

  /** Drops the copy (a stopped or failed stream). */
  async drop(): Promise<void> {
    await this.chain;
    await this.writer.discard();
  }

  private copy(data: Buffer): void {
    if (this.failed || data.length === 0) return;
    this.copied += data.length;
    // In order, one write at a time; a failure only ends the copy.
    this.chain = this.chain.then(() => this.writer.write(data)).catch(() => {
      this.failed = true;
    });
  }
}

/** A cached stream's format and where its audio starts, or undefined when it is not a WAV (a miss). */
export function cachedWav(data: Buffer): { format: AudioFormat; dataOffset: number; seconds: number } | undefined {
  try {
    const info = parseWav(data);
    const format = { sampleRate: info.sampleRate, channels: info.channels, bitsPerSample: info.bitsPerSample };
    return { format, dataOffset: info.dataOffset, seconds: info.duration };
  } catch (err) {
    if (err instanceof WavFormatError) return undefined;
    throw err;
  }
}

/** Hands a cached WAV to a sink as a stream would come: the header, then pieces of whole samples. */
export async function replay(data: Buffer, wav: { format: AudioFormat; dataOffset: number }, sink: StreamSink): Promise<void> {
  sink.begin(data.subarray(0, wav.dataOffset), wav.format);
  const frame = Math.max(1, wav.format.channels * (wav.format.bitsPerSample / 8));
  const piece = Math.max(frame, REPLAY_PIECE_BYTES - (REPLAY_PIECE_BYTES % frame));
  for (let at = wav.dataOffset; at < data.length; at += piece) {
    await sink.audio(data.subarray(at, Math.min(data.length, at + piece)));
  }
}
