/**
 * The audio side of a server configuration: its cache folder under Node-RED's user directory
 * (one folder per configuration, so it survives redeploys and restarts) and the speaker address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeAPI } from 'node-red';
import { AudioCache } from '../../runtime/audio-cache';
import { AudioService } from '../../runtime/audio-service';
import { type AllTalkConfigDef, num } from './config-options';

const MB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_CACHE_MB = 200;
export const DEFAULT_CACHE_DAYS = 30;

let scratch: string | undefined;

/**
 * Where the cache of configuration `id` lives: <userDir>/alltalk-cache/<id>. Without a user
 * directory (an embedded or test runtime) each configuration gets a folder of its own under a
 * temporary one for this process, removed when it stops: nothing to keep it across restarts for.
 */
function cacheFolder(RED: NodeAPI, id: string): { dir: string; temporary: boolean } {
  const safeId = id.replace(/[^A-Za-z0-9_-]/g, '_') || 'server';
  const userDir = (RED.settings as { userDir?: unknown }).userDir;
  // Absolute, whatever settings.js says: files are served by their path.
  if (typeof userDir === 'string' && userDir) return { dir: path.resolve(userDir, 'alltalk-cache', safeId), temporary: false };
  if (!scratch) {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'node-red-alltalk-'));
    const dir = scratch;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return { dir: mkdtempSync(path.join(scratch, `${safeId}-`)), temporary: true };
}

/** The cache and speaker URLs of one configuration; `temporary` caches are removed when it stops. */
export function createAudioService(RED: NodeAPI, id: string, def: Partial<AllTalkConfigDef>): { audio: AudioService; temporary: boolean } {
  const { dir, temporary } = cacheFolder(RED, id);
  const cache = new AudioCache({
    dir,
    maxBytes: Math.round(num(def.cacheMaxMb, DEFAULT_CACHE_MB, 0, 1_000_000) * MB),
    maxAgeMs: num(def.cacheMaxDays, DEFAULT_CACHE_DAYS, 0, 100_000) * DAY_MS,
  });
  const root = (RED.settings as { httpNodeRoot?: unknown }).httpNodeRoot;
  const audio = new AudioService({
    configId: id,
    cache,
    speakerAddress: typeof def.speakerUrl === 'string' ? def.speakerUrl : '',
    httpNodeRoot: root === false ? false : typeof root === 'string' ? root : '/',
  });
  return { audio, temporary };
}
