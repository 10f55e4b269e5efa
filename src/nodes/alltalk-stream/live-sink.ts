/**
 * alltalk-stream's output "url": the stream written into the HTTP response of the speaker that
 * fetched the URL, as it arrives. The header's sizes say "as long as it takes" (a live WAV),
 * and a speaker that reads slowly slows the stream down rather than filling memory.
 */
import type { ServerResponse } from 'node:http';
import { AllTalkError } from '../../api/errors';
import { megabytes } from '../../api/server-errors';
import type { AudioFormat } from '../../runtime/wav-stream';
import type { StreamSink } from './stream-sinks';

export class LiveSink implements StreamSink {
  readonly wholeFrames = false;
  bytes = 0;
  private header: Buffer | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxBytes: number,
    /** How long a speaker may take to read on before it is hung up on (ms). */
    private readonly stallMs = 30_000,
  ) {}

  /** True once the speaker hung up. */
  get gone(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  begin(header: Buffer, _format: AudioFormat): void {
    const live = Buffer.from(header);
    // Unknown length: the largest sizes a WAV can state, which players read as "until it ends".
    live.writeUInt32LE(0xffffffff, 4);
    live.writeUInt32LE(0xffffffff - live.length, live.length - 4);
    this.header = live;
  }

  audio(data: Buffer): Promise<void> | undefined {
    if (this.bytes + data.length > this.maxBytes) {
      throw new AllTalkError('too-large', `The stream passed ${megabytes(this.maxBytes)} of audio (the "Max audio size" of the server configuration) and was stopped.`);
    }
    if (this.header) {
      this.writeHead();
      this.bytes += this.header.length;
      this.res.write(this.header);
      this.header = undefined;
    }
    this.bytes += data.length;
    if (this.res.write(data)) return undefined;
    return new Promise((resolve) => {
      // A speaker that stops reading (paused, its connection still open) is hung up on, so the
      // stream ends (as stopped) and frees the server's queue.
      const stall = setTimeout(() => this.res.destroy(), this.stallMs);
      const done = () => {
        clearTimeout(stall);
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  /** `listener` is told when the speaker hangs up before the stream ended. */
  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }

  /** The stream ended: the response is complete. */
  finish(): void {
    if (this.gone) return;
    if (this.header) {
      // No audio came: the header alone.
      this.writeHead();
      this.res.write(this.header);
      this.header = undefined;
    }
    this.res.end();
  }

  /** The stream failed: an error status when nothing was sent yet, else the response is cut short. */
  fail(err: Error): void {
    if (this.gone) return;
    if (!this.res.headersSent) {
      this.res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      this.res.end(`The stream could not be made: ${err.message}`);
      return;
    }
    this.res.destroy();
  }

  private writeHead(): void {
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store', 'Accept-Ranges': 'none' });
  }
}
