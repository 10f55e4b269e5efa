/**
 * GET /api/tts-generate-streaming: the only route that streams. The body is a 44-byte WAV header
 * with zero sizes, then s16le PCM as the engine produces it. An engine failure after the 200 only
 * shows as a body cut short, so an early end is an error, and a body that stops arriving for
 * `stallMs` is one too (measured by us, whatever the pool does).
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CancelSignal } from './cancellation';
import { AllTalkError } from './errors';
import type { StreamParams } from './types';
import { megabytes } from './server-errors';
import { removeQuietly, temporaryName } from './temp-file';
import { type CallOptions, readLimited, type Transport } from './transport';
import { validateStreamParams, type ValidationContext, wellFormed } from './validation';
import { fixWavSizes, parseWav, WavFormatError } from './wav';

export const STREAM_ROUTE = '/api/tts-generate-streaming';
/** A stream may take at most this many generation timeouts in all. */
export const STREAM_TIMEOUTS = 4;

export interface StreamOptions extends CallOptions, ValidationContext {
  /** Longest wait for the headers and longest silence between chunks, ms (default: the generation timeout). */
  timeoutMs?: number;
}

/** The query of the streaming GET, every value encoded (voices may hold spaces). */
export function streamQuery(p: Required<StreamParams>): string {
  const q = (v: string) => encodeURIComponent(wellFormed(v));
  return `text=${q(p.text)}&voice=${q(p.voice)}&language=${q(p.language)}&output_file=${q(p.output_file)}`;
}

/** Opens the stream; resolves once the server answered 200, with the body as a Readable. */
export async function openStream(transport: Transport, params: StreamParams, opts: StreamOptions = {}): Promise<Readable> {
  const p = validateStreamParams(params, opts);
  const timeout = opts.timeoutMs ?? transport.generationTimeoutMs;
  const spec = { method: 'GET' as const, path: `${STREAM_ROUTE}?${streamQuery(p)}`, long: true, retry: 'refused' as const };
  const res = await transport.open(spec, { signal: opts.signal, timeoutMs: timeout });
  if (res.statusCode !== 200) {
    const body = await readErrorBody(res.body as Readable, transport.timeoutMs, opts.signal);
    if (opts.signal?.aborted) throw transport.cancelled('GET', STREAM_ROUTE);
    throw transport.httpError('GET', STREAM_ROUTE, { status: res.statusCode, headers: res.headers, body });
  }
  const body = res.body as Readable;
  const out = new PassThrough();
  let received = 0;
  let stall: NodeJS.Timeout | undefined;
  // However steadily bytes trickle in, a stream ends at the latest after four generation timeouts
  // (a stream may rightly run longer than one: it plays about as fast as it is generated).
  const totalMs = STREAM_TIMEOUTS * transport.generationTimeoutMs;
  const total = setTimeout(() => {
    const seconds = Math.round(totalMs / 100) / 10;
    fail(transport.error('timeout', `AllTalk at ${transport.origin} was still streaming after ${seconds} s (${received} bytes), ` +
      `${STREAM_TIMEOUTS} times the generation timeout; the stream was stopped. Raise the generation timeout for long texts.`, { route: STREAM_ROUTE }));
  }, totalMs);
  total.unref();
  const armStall = () => {
    if (stall) {
      stall.refresh();
      return;
    }
    stall = setTimeout(() => {
      const seconds = Math.round(timeout / 100) / 10;
      fail(transport.error('timeout', `AllTalk at ${transport.origin} sent no audio for ${seconds} s after ${received} bytes; ` +
        'the stream was stopped. The server may be stuck: check AllTalk, or raise the generation timeout.', { route: STREAM_ROUTE }));
    }, timeout);
    stall.unref();
  };
  const fail = (err: AllTalkError) => {
    clearTimeout(stall);
    clearTimeout(total);
    if (!body.destroyed) body.destroy();
    out.destroy(err);
  };
  const cancelled = () => (opts.signal?.reason instanceof AllTalkError ? opts.signal.reason : transport.cancelled('GET', STREAM_ROUTE));
  const onAbort = () => fail(cancelled());
  if (opts.signal?.aborted) {
    clearTimeout(total);
    body.destroy();
    throw cancelled();
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  armStall();
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    armStall();
  });
  body.on('end', () => {
    clearTimeout(stall);
    clearTimeout(total);
  });
  body.on('error', (err: Error) => {
    if (out.destroyed) return;
    const mapped = transport.transportError(err, { method: 'GET', path: STREAM_ROUTE, long: true }, timeout, opts.signal);
    // After the 200 every broken body is the server giving up (a socket closed, a chunk cut off).
    fail(mapped.kind === 'offline' || mapped.kind === 'invalid-response'
      ? transport.error('offline', `AllTalk at ${transport.origin} cut the audio stream short after ${received} bytes ` +
          '(the voice may not exist, or generation failed on the server).', { route: STREAM_ROUTE, cause: err })
      : mapped);
  });
  out.on('close', () => {
    clearTimeout(stall);
    clearTimeout(total);
    opts.signal?.removeEventListener('abort', onAbort);
    if (!body.destroyed) body.destroy();
  });
  body.pipe(out);
  return out;
}

/** Streams and collects the whole WAV (at most the client's audio limit), header sizes written in. */
export async function streamToBuffer(transport: Transport, params: StreamParams, opts: StreamOptions = {}): Promise<Buffer> {
  const stream = await openStream(transport, params, opts);
  const data = await readLimited(stream, transport.maxAudioBytes);
  if (!data) throw tooLarge(transport);
  try {
    return fixWavSizes(data);
  } catch (err) {
    throw notWav(transport, err);
  }
}

/**
 * Streams to a file (at most the client's audio limit): written to a temporary name beside it,
 * the header's sizes fixed, then renamed, so a reader never sees half a file. Resolves the
 * number of bytes written.
 */
export async function streamToFile(transport: Transport, params: StreamParams, filePath: string, opts: StreamOptions = {}): Promise<number> {
  const stream = await openStream(transport, params, opts);
  const part = temporaryName(filePath);
  let written = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      callback(written > transport.maxAudioBytes ? tooLarge(transport) : null, chunk);
    },
  });
  try {
    await pipeline(stream, limit, createWriteStream(part));
    try {
      await fixWavFileSizes(part);
    } catch (err) {
      throw notWav(transport, err);
    }
    await fsp.rename(part, filePath);
    return (await fsp.stat(filePath)).size;
  } catch (err) {
    await removeQuietly(part);
    throw err;
  }
}

function tooLarge(transport: Transport): AllTalkError {
  return transport.error('too-large', `The audio stream from AllTalk at ${transport.origin} passed the limit of ` +
    `${megabytes(transport.maxAudioBytes)}; it was stopped. Shorten the text, or raise "Max audio size" on the server configuration.`,
  { route: STREAM_ROUTE });
}

function notWav(transport: Transport, err: unknown): unknown {
  if (!(err instanceof WavFormatError)) return err;
  return transport.error('invalid-response', `AllTalk at ${transport.origin} streamed something that is not WAV audio (${err.message}). ` +
    'Is this an AllTalk v2 server?', { route: STREAM_ROUTE });
}

/**
 * The body of an error reply to a stream request, for its message: at most 64 KB, and no longer
 * than the status timeout or until the call is cancelled (the deadline of the request itself is
 * over once the reply's headers came).
 */
function readErrorBody(body: Readable, timeoutMs: number, signal?: CancelSignal): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      if (!body.destroyed) body.destroy();
      resolve(Buffer.concat(chunks, size));
    };
    const timer = setTimeout(done, timeoutMs);
    signal?.addEventListener('abort', done, { once: true });
    body.on('data', (chunk: Buffer) => {
      if (size >= 64 * 1024) return done();
      chunks.push(chunk);
      size += chunk.length;
    });
    body.once('end', done);
    body.once('error', done);
  });
}

/** Writes the real RIFF and data sizes into a streamed WAV file's header. */
export async function fixWavFileSizes(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    const info = parseWav(head);
    const sizes = Buffer.alloc(4);
    sizes.writeUInt32LE(size - 8, 0);
    await fh.write(sizes, 0, 4, 4);
    sizes.writeUInt32LE(size - info.dataOffset, 0);
    await fh.write(sizes, 0, 4, info.dataOffset - 4);
  } finally {
    await fh.close();
  }
}
