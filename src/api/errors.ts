/**
 * Errors as values with a kind the user can act on. Every message names the server and says
 * what to do about it.
 */

export type AllTalkErrorKind =
  /** Connection refused, DNS failure, connect timeout, connection dropped: the server is not there. */
  | 'offline'
  /** A status call timed out: the server is loading a model or generating (it blocks while it works). */
  | 'busy'
  /** A generation or model reload took longer than the generation timeout. */
  | 'timeout'
  /** A non-2xx reply. `status` and the server's own message are kept. */
  | 'http'
  /** HTTP 200 with a failure status (`status: "error"`, `generate-failure`, `model-failure`). */
  | 'rejected'
  /** A reply that is not what the route returns. */
  | 'invalid-response'
  /** Cancelled (node closed, redeploy, a stop). */
  | 'aborted'
  /** Refused before sending: the value would be rejected by the server. */
  | 'validation'
  /** Refused before sending: too many requests are already waiting for this server. */
  | 'queue-full'
  /** The audio could not be written to a local file (disk full, permission denied...). */
  | 'file'
  /** The audio is larger than the limit set on the server configuration (Max audio size). */
  | 'too-large';

export interface AllTalkErrorDetails {
  server?: string;
  route?: string;
  status?: number;
  serverMessage?: string;
  body?: string;
  field?: string;
  value?: unknown;
  allowed?: string;
  cause?: unknown;
}

export class AllTalkError extends Error {
  readonly kind: AllTalkErrorKind;
  readonly server?: string;
  readonly route?: string;
  readonly status?: number;
  readonly serverMessage?: string;
  readonly body?: string;
  readonly field?: string;
  readonly value?: unknown;
  readonly allowed?: string;
  /**
   * ALLTALK_<KIND> (ALLTALK_OFFLINE, ALLTALK_VALIDATION, ALLTALK_TOO_LARGE...): stable, and what a
   * Catch node sees as msg.error.code (Node-RED copies only the code, stack and cause of an error).
   */
  readonly code: string;
  /** The low-level error code behind it, such as ECONNREFUSED, when there was one. */
  readonly causeCode?: string;

  constructor(kind: AllTalkErrorKind, message: string, details: AllTalkErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AllTalkError';
    this.kind = kind;
    this.server = details.server;
    this.route = details.route;
    this.status = details.status;
    this.serverMessage = details.serverMessage;
    this.body = details.body;
    this.field = details.field;
    this.value = details.value;
    this.allowed = details.allowed;
    this.code = `ALLTALK_${kind.toUpperCase().replace(/-/g, '_')}`;
    this.causeCode = errorCode(details.cause);
  }

  /** A short text for a status badge ("offline", "http 500", "speed out of range"...). */
  get shortReason(): string {
    switch (this.kind) {
      case 'http':
        return `http ${this.status}`;
      case 'validation':
        return this.field ? `bad ${this.field}` : 'invalid input';
      default:
        return this.kind;
    }
  }
}

export function isAllTalkError(err: unknown): err is AllTalkError {
  return err instanceof AllTalkError;
}

export function validationError(field: string, value: unknown, allowed: string, message?: string): AllTalkError {
  return new AllTalkError(
    'validation',
    message ?? `${field} is ${describeValue(value)}: it must be ${allowed}. Nothing was sent to AllTalk.`,
    { field, value, allowed },
  );
}

export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null';
    if (value === undefined) return 'missing';
    if (Buffer.isBuffer(value)) return `a Buffer (${value.length} bytes)`;
    if (Array.isArray(value)) return `an array (${value.length} items)`;
    if (typeof value === 'string') {
      const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
      return `"${shown}"`;
    }
    if (typeof value === 'object') return 'an object';
    if (typeof value === 'function') return 'a function';
    if (typeof value === 'symbol') return value.toString();
    return String(value);
  } catch {
    // a revoked Proxy, say
    return 'an unreadable value';
  }
}

function errorCode(cause: unknown): string | undefined {
  let c: unknown = cause;
  for (let depth = 0; c && depth < 4; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The server's own message, whatever the body's shape: `{"error"}`, `{"detail": string}`,
 * `{"detail": [{loc, msg}]}` (FastAPI validation), `{"message"}`, or plain text.
 */
export function extractServerMessage(body: string): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const o = parsed as Record<string, unknown>;
      if (typeof o.error === 'string') return o.error.trim();
      if (typeof o.detail === 'string') return o.detail.trim();
      if (Array.isArray(o.detail)) {
        const parts = o.detail.map((d) => {
          if (!d || typeof d !== 'object') return String(d);
          const item = d as { loc?: unknown; msg?: unknown };
          const loc = Array.isArray(item.loc) ? item.loc.filter((l) => l !== 'body' && l !== 'query').join('.') : '';
          return loc ? `${loc}: ${String(item.msg)}` : String(item.msg);
        });
        return parts.join('; ');
      }
      if (typeof o.message === 'string') return o.message.trim();
    }
  } catch {
    // not JSON: plain text
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
