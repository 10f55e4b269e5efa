/**
 * The errors of one server's replies and failures, as values a user can act on. Every text that
 * may quote the server or undici goes through redact(): our own credentials are never quoted
 * (a proxy may echo the Authorization header or API key in its 401 page).
 */
import type { CancelSignal } from './cancellation';
import { AllTalkError, extractServerMessage } from './errors';
import { redact } from './request-headers';

/** The parts of a request an error message names. */
export interface RouteSpec {
  method: string;
  path: string;
  long?: boolean;
  what?: string;
}

export interface ReplyLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const OFFLINE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
};

const TLS_CERT_CODES = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|ERR_TLS_CERT|HOSTNAME_MISMATCH)/;
/** TLS spoken to something that does not speak TLS (a plain http port). */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request/i;

export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 10 ? `${Math.round(mb)} MB` : `${Math.round(mb * 10) / 10} MB`;
}

export function preview(text: string): string {
  const t = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(t);
}

export class ServerErrors {
  /** Set when the connection was closed: failures after that are "cancelled". */
  protected closed = false;

  constructor(
    readonly origin: string,
    private readonly secrets: readonly string[],
  ) {}

  /** A short quote of something the server sent, with our credentials redacted first. */
  preview(text: string): string {
    return preview(this.redact(text));
  }

  /** Our own credential values replaced by "***". */
  redact(text: string): string {
    return this.secrets.length ? redact(text, this.secrets) : text;
  }

  error(kind: AllTalkError['kind'], message: string, details: ConstructorParameters<typeof AllTalkError>[2] = {}): AllTalkError {
    const d = { server: this.origin, ...details };
    if (d.serverMessage) d.serverMessage = this.redact(d.serverMessage);
    if (d.body) d.body = this.redact(d.body);
    return new AllTalkError(kind, this.redact(message), d);
  }

  cancelled(method: string, route: string): AllTalkError {
    return this.error('aborted', `The request ${method} ${route} to AllTalk at ${this.origin} was cancelled.`, { route });
  }

  closedError(route: string): AllTalkError {
    return this.error('aborted', `The connection to AllTalk at ${this.origin} is closed.`, { route });
  }

  deadlineError(spec: RouteSpec, timeoutMs: number): AllTalkError {
    const seconds = Math.round(timeoutMs / 100) / 10;
    return spec.long
      ? this.error('timeout', `AllTalk at ${this.origin} did not finish ${spec.method} ${spec.path} within ${seconds} s. ` +
          'It may still be working on it: raise the generation timeout for long texts or slow models.', { route: spec.path })
      : this.error('busy', `AllTalk at ${this.origin} did not answer ${spec.path} within ${seconds} s: it is busy ` +
          '(loading a model or generating). It will answer when that work is done.', { route: spec.path });
  }

  tooLarge(spec: RouteSpec, max: number, declared?: number): AllTalkError {
    const size = declared !== undefined ? ` (${megabytes(declared)})` : '';
    if (spec.what === 'audio') {
      return this.error('too-large', `The audio from AllTalk at ${this.origin} for ${spec.path} is larger than ${megabytes(max)}${size}; ` +
        'the download was stopped. Shorten the text, or raise "Max audio size" on the server configuration.', { route: spec.path });
    }
    return this.error('invalid-response', `AllTalk at ${this.origin} sent more than ${megabytes(max)}${size} in reply to ${spec.path}; ` +
      'the download was stopped. An AllTalk reply is never that big: is this an AllTalk v2 server?', { route: spec.path });
  }

  transportError(err: unknown, spec: RouteSpec, timeoutMs: number, signal?: CancelSignal): AllTalkError {
    if (err instanceof AllTalkError) return err;
    const { method, path: route } = spec;
    const details = { route, cause: err };
    const code = (err as { code?: string } | null)?.code ?? '';
    const text = String((err as Error | null)?.message ?? err);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return this.deadlineError(spec, timeoutMs);
    if (signal?.aborted || this.closed || code === 'UND_ERR_ABORTED' || (err as Error | null)?.name === 'AbortError') {
      return this.error('aborted', `The request ${method} ${route} to AllTalk at ${this.origin} was cancelled.`, details);
    }
    if (code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW') {
      // Something answers on that port, but not with HTTP an AllTalk server speaks.
      return this.error('invalid-response', `AllTalk at ${this.origin} sent a reply that is not valid HTTP (${code}: ${text}) ` +
        `to ${method} ${route}. Is another program answering on that port?`, details);
    }
    if (code === 'UND_ERR_INVALID_ARG') {
      // Never offline and never retried: sending it again would be refused again.
      return this.error('validation', `The request ${method} ${route} to AllTalk at ${this.origin} could not be sent: ${text}. ` +
        'Check the header name and key on the server configuration.', details);
    }
    if (this.origin.startsWith('https:') && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || NOT_TLS.test(text))) {
      return this.error('offline', `AllTalk at ${this.origin} did not answer with TLS (${code || text}): the port looks like a plain ` +
        'http port. Set the protocol to http, or use the port of your HTTPS proxy.', details);
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
      const names = certificateNames(err);
      return this.error('offline', `AllTalk at ${this.origin}: the TLS certificate is not for this name (${code}${names ? `; it is for ${names}` : ''}). ` +
        'Connect by a name the certificate holds, or set that name as the server name in the TLS configuration.', details);
    }
    if (TLS_CERT_CODES.test(code)) {
      return this.error('offline', `AllTalk at ${this.origin}: the TLS certificate was not accepted (${code}). ` +
        'Add its CA in a TLS configuration, or allow self-signed certificates.', details);
    }
    const reason = OFFLINE_CODES[code];
    if (DROPPED.has(code)) {
      // The request reached the server (or a proxy), which then hung up without an answer.
      return this.error('offline', `AllTalk at ${this.origin} closed the connection ${phase(spec)}; ${reason}). It may have ` +
        'stopped or restarted, or a proxy in between gave up waiting.', details);
    }
    if (reason) {
      return this.error('offline', `AllTalk at ${this.origin} is not answering (${reason}). ` +
        'Is it running, and are the protocol, host and port right?', details);
    }
    return this.error('offline', `AllTalk at ${this.origin} could not be reached: ${text}`, details);
  }

  /**
   * A reply whose body ended before it was whole (the connection closed after the headers): for
   * audio, "during download"; for any other reply, which is then cut short, invalid.
   */
  cutShort(err: unknown, spec: RouteSpec): AllTalkError {
    const details = { route: spec.path, cause: err };
    if (spec.what === 'audio') {
      return this.error('offline', `AllTalk at ${this.origin} closed the connection during download (${spec.method} ${spec.path}): ` +
        'the audio was cut short. It may have stopped or restarted, or a proxy in between gave up.', details);
    }
    return this.error('invalid-response', `AllTalk at ${this.origin} closed the connection during its reply to ${spec.method} ${spec.path}: ` +
      'the reply was cut short, so it cannot be used.', details);
  }

  /** The connection was closed by a server that speaks TLS on that port: http was chosen for an https port. */
  speaksTls(err: unknown, spec: RouteSpec): AllTalkError {
    return this.error('offline', `AllTalk at ${this.origin} closed the connection without an answer to ${spec.method} ${spec.path}, and that ` +
      'port speaks TLS: set the protocol to https (with a TLS configuration for its certificate if needed).', { route: spec.path, cause: err });
  }

  httpError(method: string, route: string, reply: ReplyLike, message?: string): AllTalkError {
    // Redacted before anything is cut: a secret across a cut would otherwise show in part.
    const body = this.redact(reply.body.toString('utf8'));
    const serverMessage = extractServerMessage(body);
    const text = message ?? `AllTalk at ${this.origin} answered ${reply.status} to ${method} ${route}` +
      (serverMessage ? `: ${serverMessage.replace(/\n/g, '; ')}` : '') + httpHint(route, reply.status, body);
    return this.error('http', text, { route, status: reply.status, serverMessage, body: body.slice(0, 2000) });
  }

  ensureOk<R extends ReplyLike>(method: string, route: string, reply: R): R {
    if (reply.status < 200 || reply.status >= 300) throw this.httpError(method, route, reply);
    return reply;
  }

  /** Parsed by route, not by Content-Type: several routes send JSON with no Content-Type. */
  json(route: string, reply: ReplyLike): Record<string, unknown> {
    const text = reply.body.toString('utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw this.invalid(route, `not JSON: ${this.preview(text)}`);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw this.invalid(route, 'not a JSON object');
    return data as Record<string, unknown>;
  }

  rejectOnErrorStatus(route: string, data: Record<string, unknown>): void {
    const status = data.status;
    if (status === 'error' || status === 'generate-failure' || status === 'model-failure') {
      const msg = extractServerMessage(this.redact(JSON.stringify(data))) ?? String(status);
      throw this.rejected(route, `AllTalk at ${this.origin} refused ${route}: ${msg}`, data);
    }
  }

  rejected(route: string, message: string, data: Record<string, unknown>): AllTalkError {
    const body = this.redact(JSON.stringify(data));
    return this.error('rejected', message, { route, status: 200, serverMessage: extractServerMessage(body), body });
  }

  invalid(route: string, what: string): AllTalkError {
    return this.error('invalid-response', `AllTalk at ${this.origin} sent an unexpected reply to ${route} (${what}). Is this an AllTalk v2 server?`,
      { route });
  }
}

/** Closed by the other side after the request was sent, without an answer. */
const DROPPED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

const GENERATION_ROUTES = ['/api/tts-generate', '/v1/audio/speech', '/api/previewvoice/', '/api/tts-generate-streaming'];

/** When a dropped connection happened, in words (an open parenthesis for the reason to close). */
function phase(spec: RouteSpec): string {
  const request = `${spec.method} ${spec.path}`;
  if (spec.what === 'audio' && spec.method === 'GET') return `during download (${request}`;
  if (GENERATION_ROUTES.includes(spec.path)) return `during generation (${request}`;
  if (spec.long) return `while working on it (${request}`;
  return `without an answer (${request}`;
}

/** The names a certificate holds (from Node's TLS error), for the message. */
function certificateNames(err: unknown): string | undefined {
  let e = err as { cert?: { subjectaltname?: unknown; subject?: { CN?: unknown } }; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    const alt = e.cert?.subjectaltname;
    if (typeof alt === 'string' && alt) return alt.length > 200 ? `${alt.slice(0, 200)}…` : alt;
    if (typeof e.cert?.subject?.CN === 'string') return `CN ${e.cert.subject.CN}`;
    e = e.cause as typeof e;
  }
  return undefined;
}

function httpHint(route: string, status: number, body = ''): string {
  if (status === 400 && /plain HTTP request was sent to HTTPS port/i.test(body)) {
    return '. That port speaks https: set the protocol to https';
  }
  if (status === 404 && route.startsWith('/api/')) return '. Is this an AllTalk v2 server?';
  if (status === 401 || status === 403) return '. Check the credentials for the proxy in front of AllTalk.';
  if (status === 400 && route === '/api/tts-generate') return '. If it names a field you did not set, the server\'s own default for it is invalid.';
  return '';
}
