/**
 * The audio cache's folder read at start-up: every whole entry, in least-recently-used order (the
 * audio file's time records its last use). What is half-written, without its other half, too old,
 * corrupt or of a type the cache does not keep is removed: only names the cache writes, never a
 * file it did not write, and no temporary file young enough to be another process's write.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { OWN_NAME, readEntry, TEMP_PREFIX } from './audio-cache-files';
import type { CacheEntry } from './audio-cache-types';

/** A temporary file this old is a leftover; a younger one may be another process's write. */
const LEFTOVER_MS = 3_600_000;

export interface ScanOptions {
  now: number;
  /** Entries this run knows already (kept meanwhile): skipped, and their files kept. */
  known: (id: string) => boolean;
  /** Temporary files being written by this run. */
  writing: Set<string>;
  expired: (entry: CacheEntry) => boolean;
}

export async function scanFolder(dir: string, opts: ScanOptions): Promise<CacheEntry[]> {
  const names = await fsp.readdir(dir);
  const present = new Set(names);
  const found: CacheEntry[] = [];
  const keep = new Set(['secret']);
  for (const name of names) {
    const m = /^([0-9a-f]{40})\.json$/.exec(name);
    if (!m || opts.known(m[1])) continue;
    const entry = await readEntry(path.join(dir, name), m[1]);
    if (!entry || !present.has(`${entry.id}.${entry.ext}`)) continue;
    try {
      const stat = await fsp.stat(path.join(dir, `${entry.id}.${entry.ext}`));
      if (stat.size !== entry.bytes) continue;
      entry.lastUsed = stat.mtimeMs;
    } catch {
      continue;
    }
    if (opts.expired(entry)) continue;
    found.push(entry);
    keep.add(name).add(`${entry.id}.${entry.ext}`);
  }
  const ours = (name: string) => opts.writing.has(name) || opts.known(name.slice(0, 40));
  for (const name of names) {
    if (keep.has(name) || ours(name) || !(OWN_NAME.test(name) || /^[0-9a-f]{40}\.json$/.test(name))) continue;
    const file = path.join(dir, name);
    if (name.startsWith(TEMP_PREFIX)) {
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st || opts.now - st.mtimeMs < LEFTOVER_MS) continue;
    }
    await fsp.rm(file, { force: true }).catch(() => undefined);
  }
  return found.sort((a, b) => a.lastUsed - b.lastUsed);
}
