/**
 * The headers every request carries (User-Agent, proxy credentials), checked before any request
 * is made: undici refuses an invalid header name or value, and a refused request leaves its pool
 * slot unusable, so a typo such as "X-API-Key:" must never reach it.
 */
import { AllTalkError } from './errors';

/** HTTP token characters (RFC 9110), what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What undici (and Node's http) accept in a header value: tab, printable ASCII, Latin-1. */
const INVALID_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
/** Headers the client sets itself or that would break the framing of a request. */
const RESERVED_NAMES = ['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect'];
const RESERVED = new Set(RESERVED_NAMES);

/** The same rules for the editor, which checks the config dialog with them. */
export const HEADER_RULES = { name: TOKEN.source, reserved: RESERVED_NAMES, invalidValueChar: INVALID_VALUE_CHAR.source };

/** Refuses a header name that cannot be sent, with a message that says how to fix it. */
export function checkHeaderName(name: unknown, what = 'header name'): string {
  if (typeof name !== 'string' || !name.trim()) {
    throw new AllTalkError('validation', `The ${what} is empty: set a header name such as X-API-Key.`, { field: what, value: name });
  }
  const trimmed = name.trim();
  if (!TOKEN.test(trimmed)) {
    throw new AllTalkError('validation',
      `The ${what} "${printable(trimmed)}" is not a valid HTTP header name: use letters, digits and - only ` +
        '(no colon, space or other punctuation), e.g. X-API-Key.', { field: what, value: trimmed, allowed: 'an HTTP header name' });
  }
  if (RESERVED.has(trimmed.toLowerCase())) {
    throw new AllTalkError('validation', `The ${what} "${trimmed}" is set by the connection itself and cannot carry a key: choose another name.`,
      { field: what, value: trimmed });
  }
  return trimmed;
}

/** Refuses a header value that cannot be sent (line breaks, control or non-Latin-1 characters). */
export function checkHeaderValue(value: unknown, what: string): string {
  if (typeof value !== 'string') {
    throw new AllTalkError('validation', `The ${what} must be text.`, { field: what });
  }
  const bad = INVALID_VALUE_CHAR.exec(value);
  if (bad) {
    const code = bad[0].codePointAt(0) ?? 0;
    const kind = code < 0x20 || code === 0x7f ? 'a control character or line break' : 'a character outside Latin-1';
    // The value itself is a secret: never quote it.
    throw new AllTalkError('validation',
      `The ${what} contains ${kind} (U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${bad.index + 1}), ` +
        'which cannot be sent in an HTTP header. Retype it without that character.', { field: what });
  }
  return value;
}

export interface HeaderSource {
  userAgent: string;
  /** Extra headers (an API key for a reverse proxy, say): every value counts as a secret. */
  headers?: Record<string, string>;
  basicAuth?: { username: string; password: string };
}

export interface CheckedHeaders {
  headers: Record<string, string>;
  /** Values that must never appear in an error message or log line. */
  secrets: string[];
}

/** Checks and lower-cases the headers of a client; collects the secret values for redaction. */
export function buildHeaders(source: HeaderSource): CheckedHeaders {
  const headers: Record<string, string> = { 'user-agent': source.userAgent };
  const secrets: string[] = [];
  for (const [rawName, rawValue] of Object.entries(source.headers ?? {})) {
    if (rawValue === undefined || rawValue === null) continue;
    if (typeof rawName === 'string' && !rawName.trim()) continue;
    const name = checkHeaderName(rawName).toLowerCase();
    const value = checkHeaderValue(typeof rawValue === 'string' ? rawValue : String(rawValue), `value of the ${name} header`);
    headers[name] = value;
    // The whole value, and the token of a "<scheme> <token>" value (a proxy may quote either).
    const words = value.trim().split(/\s+/);
    secrets.push(value, words[words.length - 1]);
  }
  const auth = source.basicAuth;
  if (auth && (auth.username || auth.password)) {
    checkHeaderValue(String(auth.username ?? ''), 'username');
    const pair = `${auth.username ?? ''}:${auth.password ?? ''}`;
    const token = Buffer.from(pair).toString('base64');
    headers.authorization = `Basic ${token}`;
    secrets.push(token, pair, String(auth.password ?? ''));
  }
  // The forms a reply may quote them in: as sent, escaped inside JSON, percent-encoded.
  const forms = secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]);
  const unique = [...new Set(forms.filter((s) => s.length >= MIN_SECRET_LENGTH))];
  // Longest first, so that a secret containing another is replaced whole.
  return { headers, secrets: unique.sort((a, b) => b.length - a.length) };
}

/** Shorter values are not redacted: they would garble every message they happen to occur in. */
const MIN_SECRET_LENGTH = 4;

/** Replaces every secret in `text` with "***". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

/** A value shown in a message with control characters made visible. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is made visible
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 60);
}
