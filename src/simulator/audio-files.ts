/** Writing generated audio into the output folder with the server's naming. */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import { encodeWav } from '../api/wav';
import type { NativeAudioFormat } from './profiles';

/** `<name>_<unix seconds><5 hex>.<ext>` with a timestamp, else `<name>.<ext>` (which overwrites). */
export function outputFileName(name: string, timestamp: boolean, ext: string): string {
  if (!timestamp) return `${name}.${ext}`;
  const hex = randomBytes(3).toString('hex').slice(0, 5);
  return `${name}_${unixSeconds()}${hex}.${ext}`;
}

/** Narrator mode's combined file: `<name>_<unix seconds>_combined.wav` or `<name>_combined.wav`. */
export function combinedFileName(name: string, timestamp: boolean): string {
  return timestamp ? `${name}_${unixSeconds()}_combined.wav` : `${name}_combined.wav`;
}

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Encodes samples as the engine's native WAV (XTTS: float32 + fact chunk; Piper: 16-bit). */
export function encodeNative(samples: Float32Array, format: NativeAudioFormat): Buffer {
  return encodeWav(samples, { sampleRate: format.sampleRate, encoding: format.encoding, factChunk: format.factChunk });
}

export async function writeFileAtomically(filePath: string, data: Buffer): Promise<void> {
  const temp = `${filePath}.${randomBytes(4).toString('hex')}.part`;
  await fsp.writeFile(temp, data);
  await fsp.rename(temp, filePath);
}
