/**
 * The files of the audio cache: an entry's description, the folder's secret, atomic writes,
 * checksums, and the stable JSON its keys are made of.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isAudioType } from '../api/audio-format';
import type { CacheEntry } from './audio-cache-types';

export const ID = /^[0-9a-f]{40}$/;
export const EXT = /^[a-z0-9]{1,8}$/;
export const TEMP_PREFIX = '.tmp-';
/** The only names the cache ever writes: it never touches anything else in its folder. */
export const OWN_NAME = /^(?:[0-9a-f]{40}\.[a-z0-9]{1,8}|\.tmp-[0-9a-f]{16})$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The SHA-256 of a file's bytes, read as a stream (hex). */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function hashOf(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The first `max` bytes of a file (enough to tell what audio it is). */
export async function readHead(file: string, max: number): Promise<Buffer> {
  const handle = await fsp.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(max);
    const { bytesRead } = await handle.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** JSON with every object's keys in order, so equal parts give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export function describe(entry: CacheEntry): Record<string, unknown> {
  return { contentType: entry.contentType, ext: entry.ext, bytes: entry.bytes, sha256: entry.sha256, createdAt: entry.createdAt, extra: entry.extra };
}

export async function readEntry(file: string, id: string): Promise<CacheEntry | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    const { contentType, ext, bytes, sha256, createdAt, extra } = m;
    // Only audio of a type the package knows, with its checksum (an entry of an older version has none: a miss).
    if (!isAudioType(contentType, ext) || typeof sha256 !== 'string' || !SHA256.test(sha256)) return undefined;
    if (!Number.isSafeInteger(bytes) || (bytes as number) <= 0 || typeof createdAt !== 'number') return undefined;
    const e = extra && typeof extra === 'object' && !Array.isArray(extra) ? (extra as Record<string, unknown>) : undefined;
    return { id, contentType: contentType as string, ext: ext as string, bytes: bytes as number, sha256, createdAt, lastUsed: createdAt, extra: e };
  } catch {
    return undefined;
  }
}

/**
 * The folder's secret: read, or made once. Two caches (processes, configurations) starting on one
 * new folder at once end with the same secret: the first one's file is put in place with link(),
 * which never replaces one that is there, and the other reads it.
 */
export async function readOrMakeSecret(file: string): Promise<string> {
  const read = async () => {
    const s = (await fsp.readFile(file, 'utf8').catch(() => '')).trim();
    return /^[0-9a-f]{64}$/.test(s) ? s : undefined;
  };
  const found = await read();
  if (found) return found;
  const secret = randomBytes(32).toString('hex');
  const temp = path.join(path.dirname(file), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  await fsp.writeFile(temp, secret, { mode: 0o600 });
  try {
    await fsp.link(temp, file);
    return secret;
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
    // Another cache made it meanwhile (or an unreadable one is there: it is replaced).
    const theirs = await read();
    if (theirs) return theirs;
    await fsp.rename(temp, file);
    return secret;
  } finally {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
  }
}

export async function writeAtomically(file: string, text: string, writing?: Set<string>): Promise<void> {
  const name = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
  const temp = path.join(path.dirname(file), name);
  // Listed while it exists, so that the folder's first read does not take it for a leftover.
  writing?.add(name);
  try {
    await fsp.writeFile(temp, text, { mode: 0o600 });
    await fsp.rename(temp, file);
  } finally {
    writing?.delete(name);
  }
}
