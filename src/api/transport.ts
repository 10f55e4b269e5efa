/**
 * The HTTP layer under AllTalkClient: one keep-alive undici Pool per server, our own deadline on
 * every call, size limits on every reply, retries only where they are safe, and errors a user
 * can act on (with our own credentials never quoted).
 *
 * Second line of defence: undici must settle a request soon after it is aborted. When it does
 * not, its pool is stuck (seen after it refused an invalid path or header), so the call fails
 * at its deadline anyway and the pool is replaced; calls still running on the old pool finish.
 */
import type { Readable } from 'node:stream';
import { isIP, isIPv6 } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { Cancellation, type CancelSignal } from './cancellation';
import { Deadlines } from './deadlines';
import { AllTalkError, validationError } from './errors';
import { buildHeaders } from './request-headers';
import { ServerErrors } from './server-errors';
import { packageVersion } from './version';
import { readLimited } from './read-limited';
import { speaksTls } from './tls-probe';

export { readLimited };

export interface TlsOptions {
  /** PEM CA certificate(s) to trust (a reverse proxy with its own CA). */
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** false accepts a self-signed or otherwise untrusted certificate. Default true. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface RetryOptions {
  /** Extra attempts after the first (default 2). */
  retries: number;
  /** First back-off delay in ms, doubled each time (default 200). */
  baseDelayMs: number;
  /** Longest back-off delay in ms (default 2000). */
  maxDelayMs: number;
}

export interface TransportOptions {
  protocol?: 'http' | 'https';
  host?: string;
  port?: number;
  /** Timeout for status calls (ready, settings, voices...), ms. Default 5000. */
  timeoutMs?: number;
  /** Timeout for generation and model reload, ms. Default 300000. */
  generationTimeoutMs?: number;
  /** Extra headers sent with every request (an API key for a reverse proxy, say). */
  headers?: Record<string, string>;
  /** Basic auth for a reverse proxy in front of AllTalk. */
  basicAuth?: { username: string; password: string };
  tls?: TlsOptions;
  retry?: Partial<RetryOptions>;
  /** Most sockets open to the server at once. Default 8. */
  connections?: number;
  /** Largest audio download, bytes. Default 200 MB. */
  maxAudioBytes?: number;
}

export interface CallOptions {
  /** Aborts the call (an AbortSignal or a Cancellation). */
  signal?: CancelSignal;
  /** Overrides the client's timeout for this call, ms. */
  timeoutMs?: number;
  /** Overrides the number of retries for this call (only where retrying is safe). */
  retries?: number;
}

/**
 * When a failed call may be sent again:
 * - `read`: read-only calls: after any connection failure and after a 5xx;
 * - `refused`: work the server would do twice (generation, reload): only when the connection was
 *   refused, i.e. the request never reached the server. Never after a timeout or a reply.
 */
export type RetryMode = 'read' | 'refused';

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  /** A path we built, or one the server sent that went through serverPath(). */
  path: string;
  query?: Record<string, string>;
  body?: string;
  contentType?: string;
  /** Long calls use the generation timeout; the rest the status timeout. */
  long?: boolean;
  retry: RetryMode;
  /** Largest reply body accepted (default: JSON_LIMIT_BYTES). */
  maxBytes?: number;
  /** What the body is, for the size-limit message ("audio", "reply"). */
  what?: string;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Status and JSON replies are small; anything bigger is not an AllTalk reply. */
export const JSON_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_AUDIO_BYTES = 200 * 1024 * 1024;
/** How long undici may take to settle a request after it was aborted before its pool counts as stuck. */
export const ABORT_GRACE_MS = 1000;

export class Transport extends ServerErrors {
  readonly timeoutMs: number;
  readonly generationTimeoutMs: number;
  readonly maxAudioBytes: number;
  private pool: Pool;
  /** Pools replaced because they stopped answering: closed gracefully, destroyed at the latest by their timer. */
  private readonly retired = new Map<Pool, NodeJS.Timeout>();
  private readonly poolOptions: Pool.Options;
  private readonly headers: Record<string, string>;
  private readonly retry: RetryOptions;
  private replaced = 0;
  /** Aborted by close(): ends back-off waits (calls in flight end as close() destroys the pools). */
  readonly lifetime = new Cancellation();
  /** Where to look whether the server speaks TLS (after an http request was hung up on). */
  private readonly tlsProbe: { host: string; port: number; servername?: string };
  /** Every call's deadline, on a shared timer per length. */
  private readonly deadlines = new Deadlines();
  /** The request headers, with each content type we send: made once, not per request. */
  private readonly headersByType = new Map<string, Record<string, string>>();

  constructor(options: TransportOptions = {}) {
    const protocol = options.protocol ?? 'http';
    if (protocol !== 'http' && protocol !== 'https') throw validationError('protocol', protocol, 'http or https');
    if (options.host !== undefined && typeof options.host !== 'string') throw validationError('host', options.host, 'a host name or IP address');
    const host = (options.host ?? '127.0.0.1').trim();
    if (!host || /[/\s?#@\\]/.test(host) || /[^\x21-\x7e]/.test(host)) {
      throw validationError('host', options.host, 'a host name or IP address (no scheme, path or port)');
    }
    const port = options.port ?? 7851;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw validationError('port', options.port, 'a whole number from 1 to 65535');
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (host.includes(':') && !isIPv6(bare)) {
      throw validationError('host', options.host, 'a host name or IP address without the port (the port has its own field)');
    }
    const hostPart = isIPv6(bare) ? `[${bare}]` : host;
    const tlsProbe = { host: bare, port, servername: isIP(bare) ? undefined : bare };
    const checked = buildHeaders({ userAgent: `node-red-contrib-alltalk/${packageVersion()}`, headers: options.headers, basicAuth: options.basicAuth });
    super(`${protocol}://${hostPart}:${port}`, checked.secrets);
    this.timeoutMs = positive(options.timeoutMs, 5000);
    this.generationTimeoutMs = positive(options.generationTimeoutMs, 300_000);
    // A WAV file's sizes are 32-bit: no audio can be larger than 4 GB.
    this.maxAudioBytes = Math.min(positive(options.maxAudioBytes, DEFAULT_MAX_AUDIO_BYTES), 0xffffffff);
    this.retry = { retries: 2, baseDelayMs: 200, maxDelayMs: 2000, ...options.retry };
    this.headers = checked.headers;
    this.tlsProbe = tlsProbe;
    const tls = options.tls ?? {};
    this.poolOptions = {
      connections: options.connections ?? 8,
      pipelining: 1,
      // Our own deadlines (see attempt()) decide; undici's would cut long generations short.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 4000,
      connect: {
        timeout: this.timeoutMs,
        ...(protocol === 'https'
          ? {
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              passphrase: tls.passphrase,
              rejectUnauthorized: tls.rejectUnauthorized !== false,
              servername: tls.servername ?? (/^[\d.:[\]]+$/.test(host) ? undefined : host),
            }
          : {}),
      },
    };
    try {
      this.pool = new Pool(this.origin, this.poolOptions);
    } catch (err) {
      throw validationError('host', options.host, `a host name or IP address (${(err as Error).message})`);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** How often the pool was replaced because it stopped answering. */
  get poolReplacements(): number {
    return this.replaced;
  }

  /** Closes every socket; calls still in flight fail with `aborted`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lifetime.abort();
    const pools = [this.pool, ...this.retired.keys()];
    for (const timer of this.retired.values()) clearTimeout(timer);
    this.retired.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  async expectOk(spec: RequestSpec, opts: CallOptions): Promise<Reply> {
    return this.ensureOk(spec.method, spec.path, await this.request(spec, opts));
  }

  /** Sends one request with its deadline, retrying where `spec.retry` says it is safe. */
  async request(spec: RequestSpec, opts: CallOptions = {}): Promise<Reply> {
    if (this.closed) throw this.closedError(spec.path);
    const retries = Math.max(0, opts.retries ?? this.retry.retries);
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.attempt(spec, opts);
        if (spec.retry === 'read' && reply.status >= 500 && attempt < retries) {
          await this.backoff(attempt, opts.signal);
          if (opts.signal?.aborted || this.closed) throw this.cancelled(spec.method, spec.path);
          continue;
        }
        return reply;
      } catch (err) {
        const e = err as AllTalkError;
        const retryable = e.kind === 'offline' && (spec.retry === 'read' || e.causeCode === 'ECONNREFUSED');
        if (!retryable || attempt >= retries || opts.signal?.aborted || this.closed) throw e;
        await this.backoff(attempt, opts.signal);
        if (opts.signal?.aborted || this.closed) throw this.cancelled(spec.method, spec.path);
      }
    }
  }

  /**
   * Opens a response whose body the caller reads (a stream). The deadline covers the wait for
   * the headers; `signal` aborts the request at any time, body included.
   */
  open(spec: RequestSpec, opts: CallOptions = {}): Promise<Dispatcher.ResponseData> {
    if (this.closed) return Promise.reject(this.closedError(spec.path));
    return this.withDeadline(spec, opts, (pool, signal) => pool.request(this.dispatchOptions(spec, signal)));
  }

  private attempt(spec: RequestSpec, opts: CallOptions): Promise<Reply> {
    return this.withDeadline(spec, opts, async (pool, signal) => {
      const res = await pool.request(this.dispatchOptions(spec, signal));
      const body = await this.readBody(res, spec, signal);
      return { status: res.statusCode, headers: res.headers, body };
    });
  }

  private dispatchOptions(spec: RequestSpec, signal: CancelSignal): Dispatcher.RequestOptions {
    const path = spec.query ? `${spec.path}?${new URLSearchParams(spec.query).toString()}` : spec.path;
    return { method: spec.method, path, headers: this.headersWith(spec.contentType), body: spec.body, signal: signal as AbortSignal };
  }

  private headersWith(contentType: string | undefined): Record<string, string> {
    if (!contentType) return this.headers;
    let h = this.headersByType.get(contentType);
    if (!h) {
      h = { ...this.headers, 'content-type': contentType };
      this.headersByType.set(contentType, h);
    }
    return h;
  }

  /**
   * Runs `work` on the current pool and settles at the deadline or the caller's abort at the
   * latest, whatever undici does. When undici has not settled ABORT_GRACE_MS after the abort, its
   * pool is replaced.
   */
  private withDeadline<T>(spec: RequestSpec, opts: CallOptions, work: (pool: Pool, signal: CancelSignal) => Promise<T>): Promise<T> {
    const timeout = opts.timeoutMs ?? (spec.long ? this.generationTimeoutMs : this.timeoutMs);
    const pool = this.pool;
    return new Promise<T>((resolve, reject) => {
      const controller = new Cancellation();
      let settled = false;
      let watchdog: NodeJS.Timeout | undefined;
      const finish = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        deadline.end();
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value as T);
      };
      const giveUp = (err: AllTalkError) => {
        if (settled) return;
        controller.abort(err);
        finish(err);
        watchdog = setTimeout(() => this.replacePool(pool), ABORT_GRACE_MS);
        watchdog.unref();
      };
      // Cancelled before it began: nothing was handed to undici, so there is nothing to watch.
      if (opts.signal?.aborted) return reject(this.cancelledBy(opts.signal, spec));
      const deadline = this.deadlines.add(timeout, () => giveUp(this.deadlineError(spec, timeout)));
      const onAbort = () => giveUp(this.cancelledBy(opts.signal as CancelSignal, spec));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let running: Promise<T>;
      try {
        running = work(pool, controller);
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(
        (value) => {
          clearTimeout(watchdog);
          finish(undefined, value);
        },
        (err: unknown) => {
          clearTimeout(watchdog);
          if ((err as { code?: string }).code === 'UND_ERR_INVALID_ARG') this.replacePool(pool);
          if (settled) return;
          const error = this.transportError(err, spec, timeout, opts.signal);
          // Hung up on without an answer over http: is it an https port?
          if (!this.mayBeTlsPort(error)) return finish(error);
          speaksTls(this.tlsProbe, Math.min(timeout, 2000)).then((tls) => finish(tls ? this.speaksTls(err, spec) : error), () => finish(error));
        },
      );
    });
  }

  /**
   * Reads a reply body up to spec.maxBytes; past it the request is aborted with a clear error. A
   * body that fails is the abort's reason when it was aborted, else cut short (the headers came,
   * then the body ended before it was whole).
   */
  private readBody(res: Dispatcher.ResponseData, spec: RequestSpec, signal: CancelSignal): Promise<Buffer> {
    // An error page is never audio: it gets the small limit whatever the route.
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const max = ok ? spec.maxBytes ?? JSON_LIMIT_BYTES : JSON_LIMIT_BYTES;
    const limited = ok ? spec : { ...spec, what: undefined };
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      res.body.destroy();
      return Promise.reject(this.tooLarge(limited, max, declared));
    }
    const failed = (err: unknown) => Promise.reject(this.bodyError(err, spec, signal));
    // A declared length within the limit is all undici will read: its own reader is the fastest.
    if (Number.isFinite(declared)) return res.body.arrayBuffer().then((data) => Buffer.from(data), failed);
    return readLimited(res.body as Readable, max).then((data) => data ?? Promise.reject(this.tooLarge(limited, max)), failed);
  }

  /** Why reading a body failed: the abort's reason (one of ours), our own error, or the body cut short. */
  private bodyError(err: unknown, spec: RequestSpec, signal: CancelSignal): unknown {
    const e = signal.aborted && signal.reason instanceof AllTalkError ? signal.reason : err;
    return e instanceof AllTalkError || signal.aborted || this.closed ? e : this.cutShort(e, spec);
  }


  /** Whether an error could be http spoken to a TLS port: the connection was dropped, or the answer was not HTTP. */
  private mayBeTlsPort(error: AllTalkError): boolean {
    if (!this.origin.startsWith('http:') || this.closed) return false;
    const code = error.causeCode ?? '';
    return (error.kind === 'offline' && /^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/.test(code)) || (error.kind === 'invalid-response' && code.startsWith('HPE_'));
  }

  private replacePool(stale: Pool): void {
    if (this.closed || stale !== this.pool) return;
    this.replaced++;
    this.pool = new Pool(this.origin, this.poolOptions);
    // Calls still running on healthy sockets of the old pool finish; what is stuck goes later.
    const timer = setTimeout(() => {
      this.retired.delete(stale);
      void stale.destroy().catch(() => undefined);
    }, this.generationTimeoutMs + ABORT_GRACE_MS);
    timer.unref();
    this.retired.set(stale, timer);
    stale.close().then(() => {
      clearTimeout(timer);
      this.retired.delete(stale);
    }, () => undefined);
  }

  /** Why a call was cancelled: the cancellation's own reason when it is one of ours (a stop, a closed node). */
  private cancelledBy(signal: CancelSignal, spec: RequestSpec): AllTalkError {
    return signal.reason instanceof AllTalkError ? signal.reason : this.cancelled(spec.method, spec.path);
  }

  /** Waits before the next attempt; ends early when the call is aborted or the client closed. */
  private backoff(attempt: number, signal?: CancelSignal): Promise<void> {
    const ms = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    const signals: CancelSignal[] = [this.lifetime, ...(signal ? [signal] : [])];
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      }
      if (signals.some((s) => s.aborted)) return done();
      for (const s of signals) s.addEventListener('abort', done, { once: true });
    });
  }

}

function positive(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
}

