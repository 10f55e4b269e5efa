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
  /** The first part's header (as received) and format: called once, before any audio. */
  begin(header: Buffer, format: AudioFormat): void;
  /** Whole frames of audio; resolves when the sink can take more. */
  audio(data: Buffer): Promise<void>;
  /** Bytes handed on so far (header included). */
  readonly bytes: number;
}

function tooLarge(max: number): AllTalkError {
  return new AllTalkError('too-large', `The stream passed ${megabytes(max)} of audio (the "Max audio size" of the server configuration) ` +
    'and was stopped. Shorten the text, or raise the limit.');
}

/** One message per piece of audio, sent as it arrives. */
export class ChunkSink implements StreamSink {
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

  audio(data: Buffer): Promise<void> {
    // The header goes out with the first audio, so that every message holds some.
    const payload = this.header ? Buffer.concat([this.header, data]) : data;
    this.header = undefined;
    this.send(payload);
    return Promise.resolve();
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
  private readonly chunks: Buffer[] = [];
  bytes = 0;

  constructor(private readonly maxBytes: number) {}

  begin(header: Buffer): void {
    this.chunks.push(header);
    this.bytes += header.length;
  }

  audio(data: Buffer): Promise<void> {
    if (this.bytes + data.length > this.maxBytes) throw tooLarge(this.maxBytes);
    this.chunks.push(data);
    this.bytes += data.length;
    return Promise.resolve();
  }

  /** The WAV with its real sizes (a header of the streaming format when no header came). */
  finish(): Buffer {
    if (this.chunks.length === 0) return fixWavSizes(streamingWavHeader());
    return fixWavSizes(Buffer.concat(this.chunks, this.bytes));
  }
}

/** The WAV written to `file` as it arrives. */
export class FileSink implements StreamSink {
  private out: WriteStream | undefined;
  private failed: Error | undefined;
  private header: Buffer | undefined;
  private readonly tmp: string;
  bytes = 0;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
  ) {
    this.tmp = temporaryName(file);
  }

  begin(header: Buffer): void {
    this.header = header;
  }

  audio(data: Buffer): Promise<void> {
    if (this.bytes + (this.header?.length ?? 0) + data.length > this.maxBytes) throw tooLarge(this.maxBytes);
    return this.write(data);
  }

  private async write(data: Buffer): Promise<void> {
    if (!this.out) {
      try {
        await fsp.mkdir(path.dirname(this.file), { recursive: true });
      } catch (err) {
        throw fileError(this.file, err);
      }
      this.out = createWriteStream(this.tmp);
      this.out.on('error', (err) => (this.failed = err));
    }
    if (this.header) {
      this.bytes += this.header.length;
      this.out.write(this.header);
      this.header = undefined;
    }
    if (this.failed) throw fileError(this.file, this.failed);
    this.bytes += data.length;
    if (!this.out.write(data)) await drained(this.out);
    if (this.failed) throw fileError(this.file, this.failed);
  }

  /** Closes the file, writes the real sizes into its header and renames it into place. */
  async finish(): Promise<string> {
    try {
      // Nothing came (a stop before any audio): the header alone, of the streaming format if none came either.
      if (!this.out) await this.write(Buffer.alloc(0));
      if (this.bytes === 0) this.out?.write(streamingWavHeader());
      await closed(this.out as WriteStream);
      if (this.failed) throw this.failed;
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
    const out = this.out;
    if (out && !out.closed) {
      const done = new Promise<void>((r) => out.once('close', () => r()));
      out.destroy();
      await done;
    }
    await removeQuietly(this.tmp);
  }
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
