/** Writes audio to a local file so that a reader never sees half a file. */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * Writes `data` to `target`: folders are created, the bytes go to a temporary name in the same
 * folder and are then renamed into place. A target that is an existing folder, or ends with a
 * path separator, receives `defaultName` inside it. Resolves the absolute path written.
 */
export async function writeAudioFile(target: string, data: Buffer, defaultName: string): Promise<string> {
  let file = path.resolve(target);
  const isDir = /[\\/]$/.test(target) || (await fsp.stat(file).then((s) => s.isDirectory(), () => false));
  if (isDir) file = path.join(file, defaultName);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return file;
}
