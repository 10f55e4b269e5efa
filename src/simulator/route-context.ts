/** What a route handler gets: the request being answered and the simulator it runs in. */
import type { IncomingMessage, ServerResponse } from 'http';
import * as path from 'path';
import type { SimulatedEngine } from './engine';
import type { ResolvedOptions, SimulatorMode } from './options';
import type { ApiConfig } from './profiles';
import type { ParsedBody } from './request-body';

/** One request the simulator received (control requests under /__sim/ are not recorded). */
export interface RecordedRequest {
  id: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  /** Parsed urlencoded or multipart form (only for form Content-Types). */
  form?: Record<string, string>;
  /** Parsed JSON body, if the body parsed as JSON. */
  json?: unknown;
  /** The body as UTF-8 text ('' when empty). */
  rawBody: string;
  headers: Record<string, string | string[] | undefined>;
  /** When the request arrived (ms, performance.timeOrigin + performance.now()). */
  receivedAt: number;
  /** When the simulator began to handle it, after any busy wait and extra latency. */
  startedAt?: number;
  /** When the response ended (or the connection was cut). */
  finishedAt?: number;
  status?: number;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  rawBody: Buffer;
  body: ParsedBody;
  record: RecordedRequest;
}

export interface SimulatorHost {
  readonly engine: SimulatedEngine;
  readonly apiConfig: ApiConfig;
  readonly mode: SimulatorMode;
  readonly options: ResolvedOptions;
  readonly outputDir: string;
  /** A folder standing for the AllTalk installation (models/rvc_voices lives there). */
  readonly alltalkDir: string;
  readonly port: number;
  sleep(ms: number): Promise<void>;
  /** Consumes a pending cutNextStream() (undefined when none). */
  takeStreamCut(): number | undefined;
}

export type RouteHandler = (host: SimulatorHost, ex: Exchange) => Promise<void> | void;

/** `/audio/<file>` and `/audiocache/<file>`, absolute when the legacy API is on. */
export function fileUrls(host: SimulatorHost, fileName: string): { fileUrl: string; cacheUrl: string } {
  const legacy = host.options.legacyApi;
  const base = legacy ? `http://${legacy.ip}:${host.port}` : '';
  return { fileUrl: `${base}/audio/${fileName}`, cacheUrl: `${base}/audiocache/${fileName}` };
}

/** An output path for a client-chosen name, or undefined when it would leave the output folder. */
export function safeOutputPath(host: SimulatorHost, fileName: string): string | undefined {
  if (!fileName || fileName.includes('/') || fileName.includes('\\') || fileName === '.' || fileName === '..') {
    return undefined;
  }
  if (fileName.includes('\0')) return undefined;
  const full = path.join(host.outputDir, fileName);
  return path.dirname(full) === path.resolve(host.outputDir) ? full : undefined;
}
