/** Reading a reply body with a cap on its size. */
import type { Readable } from 'node:stream';

/**
 * Reads a stream into one Buffer, up to `max` bytes; past that the stream is destroyed and the
 * result is undefined (the caller says what was too large).
 */
export function readLimited(stream: Readable, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        stream.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    stream.once('error', reject);
  });
}
