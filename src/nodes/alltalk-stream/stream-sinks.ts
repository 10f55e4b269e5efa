/**
 * Where alltalk-stream's audio goes as it arrives:
 * - ChunkSink: one message per piece of audio, sent at once, as a sequence a core join node in
 *   automatic mode rebuilds into the whole WAV (msg.parts: id, index, type buffer, count on the last);
 * - BufferSink: the whole WAV at the end, its header's sizes written in;
 * - FileSink: written to a temporary file as it arrives (memory stays flat), the header fixed and
 *   the file renamed into place at the end.
 * Every sink refuses audio past the server configuration's "Max audio size".
 */
import { createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { AllTalkError } from '../../api/errors';
import { megabytes } from '../../api/server-errors';
import { fixWavFileSizes } from '../../api/streaming';
import { fixWavSizes, streamingWavHeader } from '../../api/wav';
import { fileError, removeQuietly, temporaryName } from '../../runtime/audio-file';
import type { AudioFormat } from '../../runtime/wav-stream';

export interface StreamSink {
  /** True when every piece handed on must hold whole samples (messages); a file or buffer need not. */
  readonly wholeFrames: boolean;
  /** The first part's header (as received) and format: called once, before any audio. */
  begin(header: Buffer, format: AudioFormat): void;
  /** Audio; a promise when the sink must be waited for before it takes more. */
  audio(data: Buffer): Promise<void> | undefined;
  /** Bytes handed on so far (header included). */
  readonly bytes: number;
}

function tooLarge(max: number): AllTalkError {
  return new AllTalkError('too-large', `The stream passed ${megabytes(max)} of audio (the "Max audio size" of the server configuration) ` +
    'and was stopped. Shorten the text, or raise the limit.');
}

/** One message per piece of audio, sent as it arrives. */
export class ChunkSink implements StreamSink {
  readonly wholeFrames = true;
  private header: Buffer | undefined;
  private format: AudioFormat | undefined;
  private index = 0;
  bytes = 0;

  constructor(
    private readonly emit: (msg: Record<string, unknown>) => void,
    /** The incoming message's other properties, copied into every chunk message. */
    private readonly base: Record<string, unknown>,
    private readonly partsId: string,
    private readonly maxBytes: number,
  ) {}

  begin(header: Buffer, format: AudioFormat): void {
    this.header = header;
    this.format = format;
  }

  audio(data: Buffer): undefined {
    // The header goes out with the first audio, so that every message holds some.
    const payload = this.header ? Buffer.concat([this.header, data]) : data;
    this.header = undefined;
    this.send(payload);
    return undefined;
  }

  /**
   * The last message of the sequence: what is left (the header alone when no audio came, or
   * nothing), with parts.count and msg.alltalk, whose `bytes` counts every payload sent.
   */
  finish(alltalk: Record<string, unknown>): void {
    const payload = this.header ?? Buffer.alloc(0);
    this.header = undefined;
    alltalk.bytes = this.bytes + payload.length;
    this.send(payload, alltalk);
  }

  private send(payload: Buffer, alltalk?: Record<string, unknown>): void {
    if (this.bytes + payload.length > this.maxBytes) throw tooLarge(this.maxBytes);
    this.bytes += payload.length;
    const parts: Record<string, unknown> = { id: this.partsId, index: this.index++, type: 'buffer', ch: '' };
    const msg: Record<string, unknown> = { ...this.base, payload, parts };
    if (this.format) msg.audioFormat = { ...this.format };
    if (alltalk) {
      parts.count = this.index;
      msg.alltalk = alltalk;
    }
    this.emit(msg);
  }
}

/** The whole WAV, in memory. */
export class BufferSink implements StreamSink {
  readonly wholeFrames = false;
  private readonly chunks: Buffer[] = [];
  bytes = 0;

  constructor(private readonly maxBytes: number) {}

  private headerBytes = 0;
  private frameBytes = 1;

  begin(header: Buffer, format: AudioFormat): void {
    this.chunks.push(header);
    this.bytes += header.length;
    this.headerBytes = header.length;
    this.frameBytes = frameBytesOf(format);
  }

  audio(data: Buffer): undefined {
    if (this.bytes + data.length > this.maxBytes) throw tooLarge(this.maxBytes);
    this.chunks.push(data);
    this.bytes += data.length;
    return undefined;
  }

  /** The WAV with its real sizes (a header of the streaming format when no header came). */
  finish(): Buffer {
    if (this.chunks.length === 0) return fixWavSizes(streamingWavHeader());
    // A stream stopped or cut in the middle of a sample: the part of it is dropped.
    const whole = this.bytes - ((this.bytes - this.headerBytes) % this.frameBytes);
    return fixWavSizes(Buffer.concat(this.chunks, this.bytes).subarray(0, whole));
  }
}

/** The WAV written to `file` as it arrives. */
export class FileSink implements StreamSink {
  readonly wholeFrames = false;
  private out: WriteStream | undefined;
  private failed: Error | undefined;
  private header: Buffer | undefined;
  private readonly tmp: string;
  bytes = 0;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    /** Missing folders are made (the node's "create folders"). */
    private readonly createFolders: boolean,
  ) {
    this.tmp = temporaryName(file);
  }

  private headerBytes = 0;
  private frameBytes = 1;
  private opening: Promise<void> | undefined;
  private discarded = false;

  begin(header: Buffer, format: AudioFormat): void {
    this.header = header;
    this.headerBytes = header.length;
    this.frameBytes = frameBytesOf(format);
  }

  audio(data: Buffer): Promise<void> | undefined {
    if (this.bytes + (this.header?.length ?? 0) + data.length > this.maxBytes) throw tooLarge(this.maxBytes);
    if (!this.out) return this.open().then(() => this.write(data));
    return this.write(data);
  }

  /** Opens the temporary file once; discard() waits for an open in progress. */
  private open(): Promise<void> {
    this.opening ??= (async () => {
      try {
        if (this.createFolders) await fsp.mkdir(path.dirname(this.file), { recursive: true });
      } catch (err) {
        throw fileError(this.file, err);
      }
      if (this.discarded) throw new AllTalkError('aborted', 'The stream ended before its file was opened.');
      // A large buffer: the stream's pieces are small, and waiting for every one to be written halves the speed.
      this.out = createWriteStream(this.tmp, { highWaterMark: 1024 * 1024 });
      this.out.on('error', (err) => (this.failed = err));
    })();
    return this.opening;
  }

  /** Writes; a promise only when the file's buffer is full and must drain first. */
  private write(data: Buffer): Promise<void> | undefined {
    const out = this.out as WriteStream;
    if (this.failed) throw fileError(this.file, this.failed);
    if (this.header) {
      this.bytes += this.header.length;
      out.write(this.header);
      this.header = undefined;
    }
    this.bytes += data.length;
    if (out.write(data)) return undefined;
    return drained(out).then(() => {
      if (this.failed) throw fileError(this.file, this.failed);
    });
  }

  /** Closes the file, writes the real sizes into its header and renames it into place. */
  async finish(): Promise<string> {
    try {
      // Nothing came (a stop before any audio): the header alone, of the streaming format if none came either.
      if (!this.out) {
        await this.open();
        this.write(Buffer.alloc(0));
      }
      if (this.bytes === 0) this.out?.write(streamingWavHeader());
      await closed(this.out as WriteStream);
      if (this.failed) throw this.failed;
      // A stream stopped or cut in the middle of a sample: the part of it is dropped.
      const partial = this.bytes > this.headerBytes ? (this.bytes - this.headerBytes) % this.frameBytes : 0;
      if (partial) {
        this.bytes -= partial;
        await fsp.truncate(this.tmp, this.bytes);
      }
      await fixWavFileSizes(this.tmp);
      await fsp.rename(this.tmp, this.file);
      return this.file;
    } catch (err) {
      await this.discard();
      throw err instanceof AllTalkError ? err : fileError(this.file, err);
    }
  }

  /** Removes what was written (on an error or a close of the flow). */
  async discard(): Promise<void> {
    this.discarded = true;
    await this.opening?.catch(() => undefined);
    const out = this.out;
    if (out && !out.closed) {
      const done = new Promise<void>((r) => out.once('close', () => r()));
      out.destroy();
      await done;
    }
    await removeQuietly(this.tmp);
  }
}

function frameBytesOf(format: AudioFormat): number {
  return Math.max(1, format.channels * (format.bitsPerSample / 8));
}

function drained(out: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
  });
}

/** Ends the write stream and waits until its file is closed. */
function closed(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('close', () => resolve());
    out.once('error', reject);
    out.end();
  });
}
