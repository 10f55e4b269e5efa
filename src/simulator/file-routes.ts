/**
 * GET /audio/{filename} and GET /audiocache/{filename}: Starlette FileResponses from the output
 * folder. Range is ignored (always 200 with the full body) and there is no 304.
 */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { pythonFloat, sendBody, sendJson } from './replies';
import type { RouteHandler, SimulatorHost } from './route-context';

/** Content types Python's mimetypes guesses on Linux. */
const GUESSED_TYPES: Record<string, string> = {
  '.wav': 'audio/x-wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
  '.aac': 'audio/aac',
  '.m4a': 'audio/mp4',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.srt': 'application/x-subrip',
};

export function guessContentType(fileName: string): string {
  return GUESSED_TYPES[path.extname(fileName).toLowerCase()] ?? 'text/plain; charset=utf-8';
}

interface FoundFile {
  data: Buffer;
  mtimeSeconds: number;
  size: number;
}

async function findOutputFile(host: SimulatorHost, fileName: string): Promise<FoundFile | undefined> {
  if (!fileName || fileName === '.' || fileName === '..' || fileName.includes('\\') || fileName.includes('\0')) {
    return undefined;
  }
  const full = path.join(host.outputDir, fileName);
  if (path.dirname(full) !== path.resolve(host.outputDir)) return undefined;
  try {
    const stat = await fsp.stat(full);
    if (!stat.isFile()) return undefined;
    const data = await fsp.readFile(full);
    return { data, mtimeSeconds: stat.mtimeMs / 1000, size: data.length };
  } catch {
    return undefined;
  }
}

function fileNameOf(routePath: string, prefix: string): string {
  return routePath.slice(prefix.length);
}

/** Starlette's ETag: quoted md5 of "<mtime>-<size>". */
function starletteEtag(file: FoundFile): string {
  const base = `${pythonFloat(file.mtimeSeconds)}-${file.size}`;
  return `"${createHash('md5').update(base).digest('hex')}"`;
}

function lastModified(file: FoundFile): string {
  return new Date(file.mtimeSeconds * 1000).toUTCString();
}

export const getAudioFile: RouteHandler = async (host, ex) => {
  const name = fileNameOf(ex.path, '/audio/');
  const file = await findOutputFile(host, name);
  if (!file) {
    sendJson(ex.res, 404, { detail: 'File not found' });
    return;
  }
  sendBody(ex.res, 200, file.data, guessContentType(name), {
    'last-modified': lastModified(file),
    etag: starletteEtag(file),
  });
};

export const getAudioCacheFile: RouteHandler = async (host, ex) => {
  const name = fileNameOf(ex.path, '/audiocache/');
  const file = await findOutputFile(host, name);
  if (!file) {
    sendJson(ex.res, 404, { detail: 'File not found' });
    return;
  }
  sendBody(ex.res, 200, file.data, 'audio/wav', {
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'public, max-age=604800',
    etag: pythonFloat(file.mtimeSeconds),
    'last-modified': lastModified(file),
  });
};
