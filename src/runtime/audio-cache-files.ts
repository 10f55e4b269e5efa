/**
 * The files of the audio cache: an entry's description, the folder's secret, atomic writes, and
 * the stable JSON its keys are made of.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CacheEntry } from './audio-cache-types';

export const ID = /^[0-9a-f]{40}$/;
export const EXT = /^[a-z0-9]{1,8}$/;
export const TEMP_PREFIX = '.tmp-';

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
  return { contentType: entry.contentType, ext: entry.ext, bytes: entry.bytes, createdAt: entry.createdAt, extra: entry.extra };
}

export async function readEntry(file: string, id: string): Promise<CacheEntry | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
    const { contentType, ext, bytes, createdAt, extra } = m;
    if (typeof contentType !== 'string' || typeof ext !== 'string' || !EXT.test(ext)) return undefined;
    if (!Number.isSafeInteger(bytes) || (bytes as number) <= 0 || typeof createdAt !== 'number') return undefined;
    const e = extra && typeof extra === 'object' && !Array.isArray(extra) ? (extra as Record<string, unknown>) : undefined;
    return { id, contentType, ext, bytes: bytes as number, createdAt, lastUsed: createdAt, extra: e };
  } catch {
    return undefined;
  }
}

export async function readOrMakeSecret(file: string): Promise<string> {
  try {
    const s = (await fsp.readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(s)) return s;
  } catch {
    // none yet
  }
  const secret = randomBytes(32).toString('hex');
  await writeAtomically(file, secret);
  return secret;
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
