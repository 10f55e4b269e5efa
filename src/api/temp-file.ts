/** Temporary files written beside their target and renamed into place when complete. */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** A temporary name beside `file` (short, whatever the length of the file's own name). */
export function temporaryName(file: string): string {
  return path.join(path.dirname(file), `.alltalk-${randomBytes(8).toString('hex')}.tmp`);
}

/** Removes a temporary file; a failure to remove it never hides the error being reported. */
export function removeQuietly(file: string): Promise<void> {
  return fsp.rm(file, { force: true }).catch(() => undefined);
}
