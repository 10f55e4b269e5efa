/** Reading a streamed body piece by piece, with backpressure (alltalk-stream, alltalk-wyoming). */
import type { Readable } from 'node:stream';

/**
 * Hands every piece of `body` to `onChunk` as it comes (pieces are never merged), pausing the body
 * while a promise `onChunk` returned is pending. Rejects with the body's error or `onChunk`'s.
 */
export function readEach(body: Readable, onChunk: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.destroy();
      reject(err);
    };
    body.on('data', (chunk: Buffer) => {
      if (failed) return;
      let pending: Promise<void> | undefined;
      try {
        pending = onChunk(chunk);
      } catch (err) {
        return fail(err);
      }
      if (!pending) return;
      body.pause();
      pending.then(() => {
        if (!failed) body.resume();
      }, fail);
    });
    body.once('end', () => {
      if (!failed) resolve();
    });
    body.once('error', (err: Error) => {
      if (failed) return;
      failed = true;
      reject(err);
    });
  });
}
