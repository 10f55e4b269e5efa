/**
 * Request bodies as Starlette/FastAPI see them: form data (urlencoded or multipart, last value of
 * a repeated field wins) and JSON (parsed whatever the Content-Type, where a route wants JSON).
 */
import type { IncomingMessage } from 'http';

export type FormFields = Record<string, string>;

export interface ParsedBody {
  /** Form fields when the Content-Type is a form type (empty otherwise, as Starlette's request.form()). */
  form: FormFields;
  isForm: boolean;
  /** The JSON value when the body parses as JSON. */
  json?: unknown;
  jsonParsed: boolean;
  /** The media type without parameters, lower case ('' when absent). */
  mediaType: string;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The media type and its parameters from a Content-Type header. */
export function parseContentType(header: string | undefined): { mediaType: string; params: Record<string, string> } {
  if (!header) return { mediaType: '', params: {} };
  const [type, ...rest] = header.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    params[key] = value;
  }
  return { mediaType: type.trim().toLowerCase(), params };
}

export function parseUrlEncoded(text: string): FormFields {
  const out: FormFields = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

/** Parses multipart/form-data; file parts give their content as text. */
export function parseMultipart(raw: Buffer, boundary: string): FormFields {
  const out: FormFields = {};
  if (!boundary) return out;
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = raw.indexOf(delimiter);
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (raw[start] === 0x2d && raw[start + 1] === 0x2d) break; // closing delimiter "--"
    if (raw[start] === 0x0d && raw[start + 1] === 0x0a) start += 2;
    const next = raw.indexOf(delimiter, start);
    if (next < 0) break;
    let end = next;
    if (raw[end - 2] === 0x0d && raw[end - 1] === 0x0a) end -= 2;
    const part = raw.subarray(start, end);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const body = part.subarray(headerEnd + 4).toString('utf8');
      const disposition = headers.split('\r\n').find((h) => /^content-disposition:/i.test(h)) ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? /\bname=([^;\s]+)/i.exec(disposition)?.[1];
      if (name !== undefined) out[name] = body;
    }
    pos = next;
  }
  return out;
}

export function parseBody(contentType: string | undefined, raw: Buffer): ParsedBody {
  const { mediaType, params } = parseContentType(contentType);
  let form: FormFields = {};
  let isForm = false;
  if (mediaType === 'application/x-www-form-urlencoded') {
    form = parseUrlEncoded(raw.toString('utf8'));
    isForm = true;
  } else if (mediaType === 'multipart/form-data') {
    form = parseMultipart(raw, params.boundary ?? '');
    isForm = true;
  }
  const result: ParsedBody = { form, isForm, jsonParsed: false, mediaType };
  if (raw.length > 0) {
    try {
      result.json = JSON.parse(raw.toString('utf8'));
      result.jsonParsed = true;
    } catch {
      // not JSON
    }
  }
  return result;
}

/** Query parameters with the last value of a repeated key, like Starlette's QueryParams.get(). */
export function lastValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) out[k] = v;
  return out;
}

/** Query parameters for the request log: repeated keys become arrays. */
export function queryForLog(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}
