/**
 * Audio out to a Wyoming client: `audio-start` once, then `audio-chunk`s of 16-bit little-endian PCM
 * of about 1024 samples each, then `audio-stop`. Whatever AllTalk makes (32-bit float WAVs from
 * XTTS, another rate for a later part) is converted to the group's format: 16-bit, with the first
 * audio's rate and channels, or the format a stream fixed for all its groups (Home Assistant builds
 * one WAV header from the first `audio-start` of a stream). No Node-RED imports.
 */
import { convertWavData, parseWav, WAVE_FORMAT_PCM, wavHeader, type WavInfo } from '../api/wav';
import { type AudioFormat, audioChunk, audioStart, audioStop } from './events';
import type { WyomingEvent } from './framing';

/** Samples per audio-chunk, as wyoming-piper sends them. */
export const SAMPLES_PER_CHUNK = 1024;

export class AudioOut {
  private format: AudioFormat | undefined;
  private started = false;
  private carry = Buffer.alloc(0);
  /** The last stream header seen, parsed once. */
  private header: Buffer | undefined;
  private headerInfo: WavInfo | undefined;
  /** When the first audio-chunk went out (ms since the epoch). */
  firstChunkAt: number | undefined;
  /** Audio bytes sent. */
  bytes = 0;

  constructor(
    private readonly send: (event: WyomingEvent) => Promise<void>,
    /** The format every group of a stream shares (set by its first group). */
    fixed?: AudioFormat,
  ) {
    this.format = fixed;
  }

  /** The format sent, once known. */
  get audioFormat(): AudioFormat | undefined {
    return this.format;
  }

  /** A whole WAV file: converted to the group's format and sent in chunks. */
  async wav(file: Buffer): Promise<void> {
    const info = parseWav(file);
    await this.begin({ rate: info.sampleRate, width: 2, channels: info.channels });
    const f = this.format as AudioFormat;
    const same = info.format === WAVE_FORMAT_PCM && info.bitsPerSample === 16 && info.sampleRate === f.rate && info.channels === f.channels;
    const pcm = same ? file.subarray(info.dataOffset, info.dataOffset + info.dataLength)
      : convertWavData(file, { sampleRate: f.rate, channels: f.channels, encoding: 's16' });
    await this.pcm(pcm);
  }

  /**
   * A piece of a stream whose WAV header was `header`: converted when the stream is not this
   * group's format, and sent in chunks (a piece of less than a chunk waits for the next).
   */
  async streamed(header: Buffer, piece: Buffer): Promise<void> {
    if (header !== this.header) {
      this.header = header;
      this.headerInfo = parseWav(header);
    }
    const info = this.headerInfo as WavInfo;
    await this.begin({ rate: info.sampleRate, width: 2, channels: info.channels });
    const f = this.format as AudioFormat;
    const same = info.format === WAVE_FORMAT_PCM && info.bitsPerSample === 16 && info.sampleRate === f.rate && info.channels === f.channels;
    if (same) return this.pcm(piece, true);
    const whole = Buffer.concat([wavHeader({ sampleRate: info.sampleRate, channels: info.channels, encoding: info.bitsPerSample === 32 && info.format !== WAVE_FORMAT_PCM ? 'f32' : 's16', dataLength: piece.length }), piece]);
    return this.pcm(convertWavData(whole, { sampleRate: f.rate, channels: f.channels, encoding: 's16' }), true);
  }

  /** Sends `audio-start` (once) with this group's format: a stream's, else the first audio's. */
  async begin(first: AudioFormat): Promise<void> {
    this.format ??= first;
    if (this.started) return;
    this.started = true;
    await this.send(audioStart(this.format));
  }

  /** Ends the group: what is left, then `audio-stop` (an `audio-start` first when no audio came). */
  async end(): Promise<void> {
    if (!this.started) await this.begin(this.format ?? { rate: 22050, width: 2, channels: 1 });
    if (this.carry.length) await this.emit(this.carry);
    this.carry = Buffer.alloc(0);
    await this.send(audioStop());
  }

  /** PCM of the group's format, in chunks of SAMPLES_PER_CHUNK; `more` keeps a short rest for the next piece. */
  private async pcm(data: Buffer, more = false): Promise<void> {
    const f = this.format as AudioFormat;
    const chunkBytes = SAMPLES_PER_CHUNK * f.width * f.channels;
    let all = this.carry.length ? Buffer.concat([this.carry, data]) : data;
    this.carry = Buffer.alloc(0);
    while (all.length >= chunkBytes) {
      await this.emit(all.subarray(0, chunkBytes));
      all = all.subarray(chunkBytes);
    }
    if (!all.length) return;
    if (more) this.carry = Buffer.from(all);
    else await this.emit(all);
  }

  private async emit(pcm: Buffer): Promise<void> {
    const f = this.format as AudioFormat;
    // Whole samples only.
    const frame = f.width * f.channels;
    const whole = pcm.length - (pcm.length % frame);
    if (whole <= 0) return;
    this.firstChunkAt ??= Date.now();
    this.bytes += whole;
    await this.send(audioChunk(f, Buffer.from(pcm.subarray(0, whole))));
  }
}
