/**
 * The audio side of a server configuration: its cache folder (one per configuration under
 * Node-RED's user directory unless one is chosen, so it survives redeploys and restarts) and the
 * speaker address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeAPI } from 'node-red';
import { AudioCache } from '../../runtime/audio-cache';
import { AudioService } from '../../runtime/audio-service';
import { protectCacheFolder } from '../../runtime/file-policy';
import { type AllTalkConfigDef, num } from './config-options';

const MB = 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_CACHE_MB = 200;
export const DEFAULT_CACHE_DAYS = 30;

let scratch: string | undefined;

/**
 * A configuration id as a folder name: letters a–z, digits and "-" stay, every other character
 * (capitals included, for file systems that ignore case) becomes "_<hex code>_". Different ids
 * never share a folder ("a.b" is a_2e_b, "a_b" is a_5f_b).
 */
export function folderNameOf(id: string): string {
  return [...id].map((c) => (/^[a-z0-9-]$/.test(c) ? c : `_${(c.codePointAt(0) as number).toString(16)}_`)).join('') || '_';
}

/**
 * Where the cache of configuration `id` lives: the folder set in it, else <userDir>/alltalk-cache/<id
 * as a folder name> (its own: removed with it). Without a user directory (an embedded or test
 * runtime) each configuration gets a folder of its own under a temporary one for this process,
 * removed when it stops: nothing to keep it across restarts for.
 */
function cacheFolder(RED: NodeAPI, id: string, chosen: string): { dir: string; own: boolean; temporary: boolean } {
  const userDir = (RED.settings as { userDir?: unknown }).userDir;
  const home = typeof userDir === 'string' && userDir ? path.resolve(userDir) : undefined;
  // Absolute, whatever settings.js says: files are served by their path.
  if (chosen) return { dir: path.resolve(home ?? process.cwd(), chosen), own: false, temporary: false };
  if (home) return { dir: path.join(home, 'alltalk-cache', folderNameOf(id)), own: true, temporary: false };
  if (!scratch) {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'node-red-alltalk-'));
    const dir = scratch;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return { dir: mkdtempSync(path.join(scratch, `${folderNameOf(id)}-`)), own: true, temporary: true };
}

/**
 * The cache and speaker URLs of one configuration. `removable`: its folder is its own (not one set in
 * the dialog, which others may share), to remove when the configuration is deleted; `temporary`: to
 * remove whenever it stops. `release` stops protecting the folder from file outputs.
 */
export function createAudioService(RED: NodeAPI, id: string, def: Partial<AllTalkConfigDef>):
{ audio: AudioService; removable: boolean; temporary: boolean; release: () => void } {
  const chosen = typeof def.cacheFolder === 'string' ? def.cacheFolder.trim() : '';
  const { dir, own, temporary } = cacheFolder(RED, id, chosen);
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
  return { audio, removable: own, temporary, release: protectCacheFolder(dir) };
}
