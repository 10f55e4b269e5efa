/**
 * Local audio files: the target is checked before anything is sent to the server (a NUL byte, a
 * name over 255 bytes, a file where a folder is needed, a folder that cannot be written or does not
 * exist, one of Node-RED's own files: see file-policy.ts), relative paths start in Node-RED's
 * fileWorkingDirectory (else its user directory), and a file is written through a temporary name so
 * that a reader never sees half of it.
 */
import { constants as fsConstants, promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { AllTalkError } from '../api/errors';
import { removeQuietly, temporaryName } from '../api/temp-file';
import { baseFolder, type FilePolicy, type Protected, protectedPaths, realPathOf, refusalOf } from './file-policy';

export { removeQuietly, temporaryName };

export interface FileTarget {
  /** The absolute path asked for, with its links resolved. */
  path: string;
  /** True when it names a folder: the file goes inside it, under the server's file name. */
  isFolder: boolean;
  /** Missing folders are made (the node's "create folders"). */
  createFolders: boolean;
  /** What must never be written (checked again for a name the server chooses). */
  protect: Protected;
  /** The path as it was asked for, for messages. */
  asked: string;
}

const MAX_NAME_BYTES = 255;
/** PATH_MAX on Linux, less the room for a temporary name. */
const MAX_PATH_BYTES = 4000;

function refuse(target: string, why: string): AllTalkError {
  const shown = JSON.stringify(target.length > 120 ? `${target.slice(0, 120)}…` : target).replace(/\\u0000/g, '\\0');
  return new AllTalkError('validation', `The file path ${shown} cannot be used: ${why}. Nothing was sent to AllTalk.`,
    { field: 'filename', allowed: 'a file or folder path' });
}

/**
 * Resolves and checks where a file will be written, before anything is sent.
 * @param policy Node-RED's settings and the node's "create folders" (see file-policy.ts).
 */
export async function prepareTarget(target: string, policy: FilePolicy): Promise<FileTarget> {
  if (typeof target !== 'string' || !target.trim()) throw refuse(String(target), 'it is empty');
  if (target.includes('\0')) throw refuse(target, 'it contains a NUL byte');
  const resolved = path.resolve(baseFolder(policy), target);
  for (const part of resolved.split(path.sep)) {
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
      throw refuse(target, `the name "${part.slice(0, 40)}…" is ${Buffer.byteLength(part)} bytes long; file systems allow ${MAX_NAME_BYTES}`);
    }
  }
  if (Buffer.byteLength(resolved) > MAX_PATH_BYTES) {
    throw refuse(target, `it is ${Buffer.byteLength(resolved)} bytes long; file systems allow about ${MAX_PATH_BYTES}`);
  }
  const endsWithSeparator = /[\\/]$/.test(target);
  const own = await statOrMissing(target, resolved);
  if (own && !own.isDirectory() && endsWithSeparator) throw refuse(target, `${resolved} is a file, not a folder`);
  if (own && !own.isDirectory() && !own.isFile()) {
    throw refuse(target, `${resolved} is not a regular file (a device, a pipe or a socket)`);
  }
  const isFolder = endsWithSeparator || own?.isDirectory() === true;
  // A symbolic link to an existing file stays a link: the file it points to is replaced. Links in
  // the folders above are resolved too, so that Node-RED's own files are recognised behind them.
  const real = await realPathOf(resolved);
  const protect = await protectedPaths(policy);
  const refusal = refusalOf(real, protect);
  if (refusal) throw refuse(target, real === resolved ? refusal : `${real}: ${refusal}`);
  // The nearest folder that exists must be a folder we can write to; a missing one is made only when asked.
  const wanted = isFolder ? real : path.dirname(real);
  let dir = wanted;
  for (;;) {
    const st = await statOrMissing(target, dir);
    if (st) {
      if (!st.isDirectory()) throw refuse(target, `${dir} is a file, not a folder`);
      try {
        await fsp.access(dir, fsConstants.W_OK);
      } catch {
        throw refuse(target, `the folder ${dir} cannot be written to`);
      }
      break;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (dir !== wanted && !policy.createFolders) {
    throw refuse(target, `the folder ${wanted} does not exist (turn on "create folders" in the node to have it made)`);
  }
  return { path: real, isFolder, createFolders: policy.createFolders, protect, asked: target };
}

/** stat(), with "does not exist" as undefined and any other failure (a loop, no access) refused. */
async function statOrMissing(target: string, p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw refuse(target, `part of ${p} is a file, not a folder`);
    throw refuse(target, `${p} cannot be checked (${code ?? (err as Error).message})`);
  }
}

/**
 * The file a target stands for, with `defaultName` (the server's file name) inside a folder; a name
 * that would be one of Node-RED's own files is refused.
 */
export function targetFile(target: FileTarget, defaultName: string): string {
  if (!target.isFolder) return target.path;
  const file = path.join(target.path, safeFileName(defaultName));
  const refusal = refusalOf(file, target.protect);
  if (refusal) {
    throw new AllTalkError('file', `The audio was not written to ${file}: ${refusal}. Give the node a file name instead of a folder.`,
      { field: 'filename' });
  }
  return file;
}

/** A file name made safe for any file system from a name the server chose. */
export function safeFileName(name: string, fallback = 'alltalk.wav'): string {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // keep it as it is
  }
  const cleaned = decoded.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(0, 200);
  return cleaned || fallback;
}

/**
 * Writes `data` to the target: folders are created, the bytes go to a temporary name in the same
 * folder and are then renamed into place. Resolves the absolute path written.
 */
export async function writeAudioFile(target: FileTarget, data: Buffer, defaultName: string): Promise<string> {
  const file = targetFile(target, defaultName);
  const tmp = temporaryName(file);
  try {
    if (target.createFolders) await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await removeQuietly(tmp);
    throw fileError(file, err);
  }
  return file;
}

/** A file system failure as one of our errors, naming the file. */
export function fileError(file: string, err: unknown): AllTalkError {
  const code = (err as { code?: string }).code;
  const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'it is a folder' : code === 'ENOTDIR' ? 'part of the path is a file, not a folder'
      : code === 'ENOENT' ? 'its folder does not exist (turn on "create folders" in the node to have it made)'
        : (err as Error).message ?? String(err);
  return new AllTalkError('file', `The audio could not be written to ${file}: ${why}.`, { field: 'filename', cause: err });
}
