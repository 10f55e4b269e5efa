/**
 * Writing responses the way FastAPI/Starlette/uvicorn write them, including the error shapes
 * (E1–E7 of the API notes) and the bare `Response` bodies that carry no Content-Type.
 */
import type { ServerResponse } from 'http';

/** A FastAPI validation error entry (E1). */
export interface ValidationIssue {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

/** Python's json.dumps() with default arguments: ", " and ": " separators, ASCII only. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${pythonString(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  return pythonString(String(value));
}

function pythonString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => {
    if (c === '\u007f') return c;
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

function pythonNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return String(n);
}

/** A Python float as str() prints it (1.0 rather than 1). */
export function pythonFloat(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

export const CORS_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials', 'vary'];

/** Sends a body with the given Content-Type (null: no Content-Type header at all). */
export function sendBody(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string | null,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.statusCode = status;
  if (contentType === null) res.removeHeader('content-type');
  else res.setHeader('content-type', contentType);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('content-length', String(buf.length));
  res.end(buf);
}

/** FastAPI's JSONResponse: compact JSON, `application/json`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendBody(res, status, JSON.stringify(body), 'application/json', headers);
}

/** Starlette `Response(content=json.dumps(...))`: Python-style JSON text, Content-Type as given. */
export function sendPythonJson(res: ServerResponse, status: number, body: unknown, contentType: string | null): void {
  sendBody(res, status, pythonJsonDumps(body), contentType);
}

/** A bare Starlette `Response(content=text)`: no Content-Type header. */
export function sendUntyped(res: ServerResponse, status: number, text: string): void {
  sendBody(res, status, text, null);
}

/** E1: 422 {"detail":[...]} */
export function sendValidationError(res: ServerResponse, issues: ValidationIssue[]): void {
  sendJson(res, 422, { detail: issues });
}

/** E2: {"detail":"..."} (an HTTPException). */
export function sendDetail(res: ServerResponse, status: number, detail: string): void {
  sendJson(res, status, { detail });
}

/**
 * E3: an unhandled exception. Starlette's ServerErrorMiddleware sits outside the CORS middleware,
 * so this reply carries no CORS headers.
 */
export function sendInternalServerError(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  for (const h of CORS_HEADERS) res.removeHeader(h);
  sendBody(res, 500, 'Internal Server Error', 'text/plain; charset=utf-8');
}

export function sendNotFound(res: ServerResponse): void {
  sendJson(res, 404, { detail: 'Not Found' });
}

export function sendMethodNotAllowed(res: ServerResponse, allow: string[]): void {
  sendJson(res, 405, { detail: 'Method Not Allowed' }, { allow: allow.join(', ') });
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  sendBody(res, status, html, 'text/html; charset=utf-8');
}

/** Starlette's RedirectResponse (307 by default). */
export function sendRedirect(res: ServerResponse, location: string, status = 307): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.setHeader('location', location);
  res.setHeader('content-length', '0');
  res.end();
}
