/**
 * Where a node may write audio files. Relative paths start in Node-RED's `fileWorkingDirectory`,
 * else in its user directory. Node-RED's own files are never written, whoever asks (the dialog, a
 * message, or a server that chooses the file name): the settings file, the flow and credential
 * files and their backups, `.config.*.json`, `.sessions.json`, the user directory's package files,
 * `node_modules`, `lib` and `projects`, and every audio cache folder (with its secret). Paths are
 * compared after symbolic links are resolved, so a link does not lead around the rule. No folder is
 * made unless the node's "create folders" is on.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface FilePolicy {
  /** Node-RED's fileWorkingDirectory setting, if set. */
  workingDirectory?: string;
  /** Node-RED's user directory, if known (an embedded runtime may have none). */
  userDir?: string;
  /** Node-RED's settings file, if known. */
  settingsFile?: string;
  /** Node-RED's flow file setting (relative to the user directory), if set. */
  flowFile?: string;
  /** The node's "create folders": missing folders of the target are made. */
  createFolders: boolean;
}

/** Folders of audio caches in use, with how many configurations use each: never a target. */
const cacheFolders = new Map<string, number>();

/** Protects a cache folder until the returned function is called (once). */
export function protectCacheFolder(dir: string): () => void {
  const resolved = path.resolve(dir);
  cacheFolders.set(resolved, (cacheFolders.get(resolved) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (cacheFolders.get(resolved) ?? 1) - 1;
    if (left > 0) cacheFolders.set(resolved, left);
    else cacheFolders.delete(resolved);
  };
}

/** Where a relative path starts. */
export function baseFolder(policy: FilePolicy): string {
  return path.resolve(policy.workingDirectory || policy.userDir || process.cwd());
}

/** The real path of `p`, whose last parts may not exist yet: the nearest existing folder's links are resolved. */
export async function realPathOf(p: string): Promise<string> {
  const rest: string[] = [];
  let at = path.resolve(p);
  for (;;) {
    try {
      return path.join(await fsp.realpath(at), ...rest.reverse());
    } catch {
      const up = path.dirname(at);
      if (up === at) return path.resolve(p);
      rest.push(path.basename(at));
      at = up;
    }
  }
}

/** The facts a protection check needs, with links resolved (once per check). */
export interface Protected {
  userDir?: string;
  files: Set<string>;
  folders: string[];
}

const USER_DIR_FILES = ['.sessions.json', 'package.json', 'package-lock.json', '.npmrc', 'settings.js'];
const USER_DIR_FOLDERS = ['node_modules', 'lib', 'projects', 'alltalk-cache'];

export async function protectedPaths(policy: FilePolicy): Promise<Protected> {
  const userDir = policy.userDir ? await realPathOf(policy.userDir) : undefined;
  const files = new Set<string>();
  const folders: string[] = [];
  if (userDir) {
    for (const name of USER_DIR_FILES) files.add(path.join(userDir, name));
    for (const name of USER_DIR_FOLDERS) folders.push(path.join(userDir, name));
  }
  if (policy.settingsFile) files.add(await realPathOf(policy.settingsFile));
  if (policy.flowFile && userDir) {
    const flow = await realPathOf(path.resolve(userDir, policy.flowFile));
    const ext = path.extname(flow);
    const cred = `${flow.slice(0, flow.length - ext.length)}_cred${ext || '.json'}`;
    for (const f of [flow, cred]) files.add(f).add(path.join(path.dirname(f), `.${path.basename(f)}.backup`));
  }
  for (const dir of cacheFolders.keys()) folders.push(await realPathOf(dir));
  return { userDir, files, folders };
}

/** Why the real path `file` must not be written, or undefined when it may. */
export function refusalOf(file: string, p: Protected): string | undefined {
  if (p.files.has(file)) return 'it is one of Node-RED\'s own files';
  const name = path.basename(file);
  if (p.userDir && path.dirname(file) === p.userDir) {
    if (/^\.config\..*\.json$/.test(name)) return 'it is one of Node-RED\'s own files (.config.*.json)';
    if (/^\.?flows.*\.json(\.backup)?$/.test(name)) return 'it is one of Node-RED\'s flow or credential files';
  }
  const inside = p.folders.find((dir) => file === dir || file.startsWith(`${dir}${path.sep}`));
  if (inside) return `it is inside ${inside}, which belongs to Node-RED or to an audio cache`;
  return undefined;
}
