/**
 * What alltalk-tts knows of a generation once it is done, and the output message made from it:
 * the same shape whether the audio was just generated or came from the cache.
 */
import * as path from 'node:path';
import type { TtsGenerateResult } from '../../api/types';
import type { FormFields } from '../../api/validation';
import { addRoute, type RouteFacts } from '../../runtime/route-facts';
import type { OutputMode } from './tts-options';

/** One generated part, as the server answered. */
export interface Part {
  form: FormFields;
  result: TtsGenerateResult;
  contentType: string;
}

/** The server's answers for a message's audio (kept with a cached entry, to answer a hit alike). */
export interface Summary {
  urls: string[];
  cacheUrl?: string;
  filePath?: string;
  contentType: string;
  responses: Record<string, unknown>[];
}

export function summarize(parts: Part[]): Summary {
  const first = parts[0];
  return {
    urls: parts.map((p) => p.result.url),
    cacheUrl: first.result.cacheUrl,
    filePath: first.result.output_file_path,
    contentType: first.contentType,
    responses: parts.map(responseOf),
  };
}

/** A summary read back from the cache, or undefined when it does not look like one. */
export function summaryFrom(extra: Record<string, unknown> | undefined): Summary | undefined {
  const s = extra?.summary as Summary | undefined;
  if (!s || !Array.isArray(s.urls) || !s.urls.every((u) => typeof u === 'string') || typeof s.contentType !== 'string' || !Array.isArray(s.responses)) return undefined;
  return s;
}

export interface OutputFacts {
  forms: FormFields[];
  output: OutputMode;
  summary: Summary;
  audio?: Buffer;
  written?: string;
  bytes: number;
  timing: { queuedMs: number; generationMs: number; downloadMs: number };
  /** The URL Node-RED serves the audio at, when it does. */
  servedUrl?: string;
  /** Whether the cache was looked in: true on a hit, false on a miss, absent when not. */
  cached?: boolean;
  /** Where it ran: its own server, or a fallback and why. */
  route?: RouteFacts;
}


/** The properties the output message gets. */
export function outputOf(f: OutputFacts): Record<string, unknown> {
  const { summary } = f;
  const url = f.servedUrl ?? summary.urls[0];
  const alltalk: Record<string, unknown> = {
    request: f.forms.length === 1 ? f.forms[0] : f.forms,
    response: summary.responses.length === 1 ? summary.responses[0] : summary.responses,
    timing: f.timing,
    bytes: f.bytes,
    parts: f.forms.length,
  };
  if (f.cached !== undefined) alltalk.cached = f.cached;
  addRoute(alltalk, f.route);
  const out: Record<string, unknown> = {
    url,
    urls: f.servedUrl ? [f.servedUrl] : summary.urls,
    cacheUrl: summary.cacheUrl,
    filePath: summary.filePath,
    contentType: summary.contentType,
    payload: f.output === 'buffer' ? f.audio : f.output === 'url' ? url : f.written,
    alltalk,
  };
  if (f.written) out.filename = f.written;
  return out;
}

/** The server's file name, for a file written into a folder. */
export function defaultName(url: string | undefined): string {
  try {
    return path.posix.basename(new URL(url ?? '').pathname) || 'alltalk.wav';
  } catch {
    return 'alltalk.wav';
  }
}

function responseOf(p: Part): Record<string, unknown> {
  const { status, output_file_path, output_file_url, output_cache_url } = p.result;
  return { status, output_file_path, output_file_url, output_cache_url };
}

/** What of a form changes the sound: not the file's name, not playing it on the AllTalk machine. */
export function soundOf(forms: FormFields[]): FormFields[] {
  return forms.map((form) => Object.fromEntries(Object.entries(form).filter(([field]) => !NOT_SOUND.has(field))));
}

const NOT_SOUND = new Set(['output_file_name', 'output_file_timestamp', 'autoplay', 'autoplay_volume']);
