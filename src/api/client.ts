/**
 * AllTalkClient: one per AllTalk server, over one keep-alive undici Pool. One typed method per
 * route of the v2 API. Knows nothing about Node-RED.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool, type Dispatcher } from 'undici';
import { AllTalkError, type AllTalkErrorKind, extractServerMessage, validationError } from './errors';
import type {
  AudioDownload,
  CurrentSettings,
  OpenAiSpeechParams,
  OpenAiSpeechResult,
  OpenAiVoiceMap,
  PreviewVoiceParams,
  PreviewVoiceResult,
  ReadyText,
  StreamParams,
  ToggleResult,
  TtsGenerateParams,
  TtsGenerateResult,
} from './types';
import { CAPABILITY_FLAGS } from './types';
import { PLACEHOLDER_MODELS } from './rules';
import {
  type FormFields,
  validateOpenAiSpeech,
  validateOpenAiVoiceMap,
  validateStreamParams,
  validateTtsGenerate,
  type ValidationContext,
} from './validation';
import { fixWavSizes, parseWav } from './wav';
import { packageVersion } from './version';

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

export interface AllTalkClientOptions {
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
}

export interface CallOptions {
  signal?: AbortSignal;
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
type RetryMode = 'read' | 'refused';

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  query?: Record<string, string>;
  body?: string;
  contentType?: string;
  /** Long calls use the generation timeout; the rest the status timeout. */
  long?: boolean;
  retry: RetryMode;
}

interface Reply {
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

const TLS_CODES = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|ERR_TLS_|ERR_SSL_)/;

/** Where a server gave an absolute URL, keep only its path: audio comes from the configured origin only. */
export function serverPath(url: string): string {
  const trimmed = url.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    const u = new URL(trimmed);
    return `${u.pathname}${u.search}`;
  }
  if (trimmed.startsWith('//')) {
    const u = new URL(`http:${trimmed}`);
    return `${u.pathname}${u.search}`;
  }
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export class AllTalkClient {
  readonly origin: string;
  readonly timeoutMs: number;
  readonly generationTimeoutMs: number;
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private readonly retry: RetryOptions;
  private closed = false;
  /** Aborted by close(): ends calls in flight and back-off waits. */
  private readonly lifetime = new AbortController();

  constructor(options: AllTalkClientOptions = {}) {
    const protocol = options.protocol ?? 'http';
    if (protocol !== 'http' && protocol !== 'https') throw validationError('protocol', protocol, 'http or https');
    const host = (options.host ?? '127.0.0.1').trim();
    if (!host || /[/\s?#@]/.test(host)) throw validationError('host', options.host, 'a host name or IP address (no scheme, path or port)');
    const port = options.port ?? 7851;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw validationError('port', options.port, 'a whole number from 1 to 65535');
    const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    this.origin = `${protocol}://${hostPart}:${port}`;
    this.timeoutMs = positive(options.timeoutMs, 5000);
    this.generationTimeoutMs = positive(options.generationTimeoutMs, 300_000);
    this.retry = { retries: 2, baseDelayMs: 200, maxDelayMs: 2000, ...options.retry };
    this.headers = { 'user-agent': `node-red-contrib-alltalk/${packageVersion()}`, ...lowerKeys(options.headers ?? {}) };
    if (options.basicAuth && (options.basicAuth.username || options.basicAuth.password)) {
      const token = Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64');
      this.headers.authorization = `Basic ${token}`;
    }
    const tls = options.tls ?? {};
    this.pool = new Pool(this.origin, {
      connections: options.connections ?? 8,
      pipelining: 1,
      // Our own deadlines (see request()) decide; undici's would cut long generations short.
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
    });
  }

  /** The absolute URL of a server path or URL, on the configured protocol/host/port. */
  audioUrl(url: string): string {
    return `${this.origin}${serverPath(url)}`;
  }

  // ---- status calls -------------------------------------------------------------------------

  /** GET /api/ready: `Ready` (serving) or `Unloaded`. Refused → offline; a hang → busy. */
  async ready(opts: CallOptions = {}): Promise<ReadyText> {
    const reply = await this.expectOk({ method: 'GET', path: '/api/ready', retry: 'read' }, opts);
    const text = reply.body.toString('utf8').trim();
    if (text === 'Ready' || text === 'Unloaded') return text;
    throw this.invalid('/api/ready', `expected "Ready" or "Unloaded", got ${preview(text)}`);
  }

  /** GET /api/currentsettings, with every capability flag present (missing ones read as false). */
  async currentSettings(opts: CallOptions = {}): Promise<CurrentSettings> {
    const route = '/api/currentsettings';
    const data = this.json(route, await this.expectOk({ method: 'GET', path: route, retry: 'read' }, opts));
    if (typeof data.current_engine_loaded !== 'string') {
      throw this.invalid(route, 'current_engine_loaded is missing');
    }
    return normaliseSettings(data);
  }

  /** GET /api/voices. An engine without voices answers HTTP 200 with status "error": rejected. */
  async voices(opts: CallOptions = {}): Promise<string[]> {
    const route = '/api/voices';
    const data = this.json(route, await this.expectOk({ method: 'GET', path: route, retry: 'read' }, opts));
    this.rejectOnErrorStatus(route, data);
    if (!isStringArray(data.voices)) throw this.invalid(route, 'no "voices" list');
    return data.voices;
  }

  /** GET /api/rvcvoices. The real server's key is `rvcvoices`; the documentation says `voices`. */
  async rvcVoices(opts: CallOptions = {}): Promise<string[]> {
    const route = '/api/rvcvoices';
    const data = this.json(route, await this.expectOk({ method: 'GET', path: route, retry: 'read' }, opts));
    this.rejectOnErrorStatus(route, data);
    const list = isStringArray(data.rvcvoices) ? data.rvcvoices : isStringArray(data.voices) ? data.voices : undefined;
    if (!list) throw this.invalid(route, 'no "rvcvoices" list');
    return list;
  }

  /** GET /api/reload_config: the server re-reads its configuration files. */
  async reloadConfig(opts: CallOptions = {}): Promise<string> {
    const reply = await this.expectOk({ method: 'GET', path: '/api/reload_config', retry: 'read' }, opts);
    return reply.body.toString('utf8').trim();
  }

  /** PUT /api/stop-generation. Only an XTTS stream actually stops; the reply is always the same. */
  async stopGeneration(opts: CallOptions = {}): Promise<{ message: string }> {
    const route = '/api/stop-generation';
    const data = this.json(route, await this.expectOk({ method: 'PUT', path: route, retry: 'read' }, opts));
    return { message: typeof data.message === 'string' ? data.message : '' };
  }

  // ---- long calls ---------------------------------------------------------------------------

  /**
   * POST /api/reload?tts_method=: load another model (blocks the server while it loads). Pass
   * the known models to have an unknown one refused before sending (the real server answers 500).
   */
  async reloadModel(ttsMethod: string, opts: CallOptions & { models?: readonly string[] } = {}): Promise<{ status: 'model-success' }> {
    const route = '/api/reload';
    if (typeof ttsMethod !== 'string' || !ttsMethod.trim()) throw validationError('tts_method', ttsMethod, 'a model name from models_available');
    const models = opts.models?.filter((m) => !(PLACEHOLDER_MODELS as readonly string[]).includes(m));
    if (models && models.length && !models.includes(ttsMethod)) {
      throw validationError('tts_method', ttsMethod, `one of the server's models: ${models.join(', ')}`);
    }
    const reply = await this.request({ method: 'POST', path: route, query: { tts_method: ttsMethod }, long: true, retry: 'refused' }, opts);
    if (reply.status === 500) {
      throw this.httpError('POST', route, reply,
        `AllTalk could not load model "${ttsMethod}" (HTTP 500): the name is unknown or the model failed to load. ` +
          'Check the model list; the server may now have no model loaded.');
    }
    const data = this.json(route, this.ensureOk('POST', route, reply));
    if (data.status === 'model-success') return { status: 'model-success' };
    if (data.status === 'model-failure') throw this.rejected(route, `AllTalk could not load model "${ttsMethod}" (model-failure).`, data);
    if (typeof data.status === 'string' && data.status.startsWith('model-is')) {
      throw this.rejected(route, 'AllTalk is already changing the model; try again when it has finished.', data);
    }
    this.rejectOnErrorStatus(route, data);
    throw this.invalid(route, `unexpected status ${preview(String(data.status))}`);
  }

  /** POST /api/deepspeed?new_deepspeed_value=. Reloads the engine's start-up model. */
  setDeepSpeed(enabled: boolean, opts: CallOptions = {}): Promise<ToggleResult> {
    return this.toggle('/api/deepspeed', 'new_deepspeed_value', 'deepspeed-success', enabled, opts);
  }

  /** POST /api/lowvramsetting?new_low_vram_value=. Reloads the engine's start-up model. */
  setLowVram(enabled: boolean, opts: CallOptions = {}): Promise<ToggleResult> {
    return this.toggle('/api/lowvramsetting', 'new_low_vram_value', 'lowvram-success', enabled, opts);
  }

  private async toggle(route: string, param: string, successStatus: string, enabled: boolean, opts: CallOptions): Promise<ToggleResult> {
    if (typeof enabled !== 'boolean') throw validationError(param, enabled, 'true or false');
    const reply = await this.expectOk({ method: 'POST', path: route, query: { [param]: String(enabled) }, long: true, retry: 'refused' }, opts);
    const data = this.json(route, reply);
    this.rejectOnErrorStatus(route, data);
    const message = typeof data.message === 'string' && data.message ? data.message : undefined;
    if (data.status === successStatus) return { status: successStatus, message, changed: true };
    if (data.status === 'success') return { status: 'success', message, changed: false };
    throw this.invalid(route, `unexpected status ${preview(String(data.status))}`);
  }

  /**
   * POST /api/tts-generate (form-urlencoded). Checks every field first with the server's rules
   * (pass the cached settings/voices in `ctx` for capability and voice checks); sends only the
   * fields that are set. Never retried after the request reached the server.
   */
  async ttsGenerate(params: TtsGenerateParams, opts: CallOptions & ValidationContext = {}): Promise<TtsGenerateResult> {
    const form = validateTtsGenerate(params as unknown as Record<string, unknown>, opts);
    return this.ttsGenerateForm(form, opts);
  }

  /** Sends form fields already checked by validateTtsGenerate. */
  async ttsGenerateForm(form: FormFields, opts: CallOptions = {}): Promise<TtsGenerateResult> {
    const route = '/api/tts-generate';
    const reply = await this.expectOk(
      { method: 'POST', path: route, body: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded', long: true, retry: 'refused' },
      opts,
    );
    const data = this.json(route, reply);
    if (data.status !== 'generate-success') {
      this.rejectOnErrorStatus(route, data);
      throw this.invalid(route, `status is ${preview(String(data.status))}, not "generate-success"`);
    }
    if (typeof data.output_file_url !== 'string' || !data.output_file_url) throw this.invalid(route, 'no output_file_url');
    const result: TtsGenerateResult = {
      status: 'generate-success',
      output_file_path: typeof data.output_file_path === 'string' ? data.output_file_path : '',
      output_file_url: data.output_file_url,
      url: this.audioUrl(data.output_file_url),
    };
    if (typeof data.output_cache_url === 'string' && data.output_cache_url) {
      result.output_cache_url = data.output_cache_url;
      result.cacheUrl = this.audioUrl(data.output_cache_url);
    }
    return result;
  }

  /**
   * GET /api/tts-generate-streaming: a Readable of the WAV as it is generated (a 44-byte header
   * with zero sizes, then s16le 24 kHz mono). Reading slowly slows the download (backpressure).
   * A body cut short after the 200 makes the stream fail with an `offline`/`invalid-response`
   * error. `timeoutMs` here is the longest silence allowed between chunks.
   */
  async streamTts(params: StreamParams, opts: CallOptions & ValidationContext = {}): Promise<Readable> {
    const route = '/api/tts-generate-streaming';
    const p = validateStreamParams(params, opts);
    const query = `text=${encodeURIComponent(p.text)}&voice=${encodeURIComponent(p.voice)}` +
      `&language=${encodeURIComponent(p.language)}&output_file=${encodeURIComponent(p.output_file)}`;
    const timeout = opts.timeoutMs ?? this.generationTimeoutMs;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: 'GET', path: `${route}?${query}`, headers: this.headers, signal: opts.signal,
        headersTimeout: timeout, bodyTimeout: timeout,
      });
    } catch (err) {
      throw this.transportError(err, 'GET', route, true, timeout, opts.signal);
    }
    if (res.statusCode !== 200) {
      const body = Buffer.from(await res.body.arrayBuffer().catch(() => new ArrayBuffer(0)));
      throw this.httpError('GET', route, { status: res.statusCode, headers: res.headers, body });
    }
    const out = new PassThrough();
    let received = 0;
    res.body.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    res.body.on('error', (err: Error) => {
      const mapped = this.transportError(err, 'GET', route, true, timeout, opts.signal);
      const cut = mapped.kind === 'offline'
        ? new AllTalkError('offline', `AllTalk at ${this.origin} cut the audio stream short after ${received} bytes ` +
            '(the voice may not exist, or generation failed on the server).', { server: this.origin, route, cause: err })
        : mapped;
      out.destroy(cut);
    });
    out.on('close', () => {
      if (!res.body.destroyed) res.body.destroy();
    });
    res.body.pipe(out);
    return out;
  }

  /** Streams and collects the whole WAV, with the header's sizes written in. */
  async streamTtsToBuffer(params: StreamParams, opts: CallOptions & ValidationContext = {}): Promise<Buffer> {
    const stream = await this.streamTts(params, opts);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return fixWavSizes(Buffer.concat(chunks));
  }

  /**
   * Streams to a file: written to `<file>.part`, the header's sizes fixed, then renamed, so a
   * reader never sees half a file. Resolves the number of bytes written.
   */
  async streamTtsToFile(params: StreamParams, filePath: string, opts: CallOptions & ValidationContext = {}): Promise<number> {
    const stream = await this.streamTts(params, opts);
    const part = `${filePath}.part`;
    try {
      await pipeline(stream, createWriteStream(part));
      await fixWavFileSizes(part);
      await fsp.rename(part, filePath);
      return (await fsp.stat(filePath)).size;
    } catch (err) {
      await fsp.rm(part, { force: true });
      throw err;
    }
  }

  /**
   * POST /v1/audio/speech (OpenAI-compatible). Checked fully first: the real server reports every
   * mistake as a bare "500 Internal Server Error".
   */
  async openaiSpeech(params: OpenAiSpeechParams, opts: CallOptions = {}): Promise<OpenAiSpeechResult> {
    const route = '/v1/audio/speech';
    const p = validateOpenAiSpeech(params);
    const reply = await this.request(
      { method: 'POST', path: route, body: JSON.stringify(p), contentType: 'application/json', long: true, retry: 'refused' },
      opts,
    );
    if (reply.status !== 200) {
      const plain500 = reply.status === 500 && reply.body.toString('utf8').trim() === 'Internal Server Error';
      throw this.httpError('POST', route, reply, plain500
        ? `AllTalk at ${this.origin} answered 500 to ${route} without details. Its OpenAI endpoint reports every ` +
            'problem that way: check that ffmpeg is installed on the AllTalk machine and that the OpenAI voice map names existing voices.'
        : undefined);
    }
    const contentType = headerValue(reply.headers['content-type']) ?? '';
    if (!contentType.startsWith('audio/') || reply.body.length === 0) {
      throw this.invalid(route, `expected audio, got ${contentType || 'no content type'} (${reply.body.length} bytes)`);
    }
    return { audio: reply.body, contentType, format: p.response_format };
  }

  /** PUT /api/openai-voicemap: all six OpenAI voices, each mapped to a voice the server has. */
  async setOpenAiVoiceMap(map: OpenAiVoiceMap, opts: CallOptions & ValidationContext = {}): Promise<{ message: string }> {
    const route = '/api/openai-voicemap';
    const body = validateOpenAiVoiceMap(map, opts);
    const data = this.json(route, await this.expectOk(
      { method: 'PUT', path: route, body: JSON.stringify(body), contentType: 'application/json', retry: 'refused' }, opts));
    return { message: typeof data.message === 'string' ? data.message : '' };
  }

  /** POST /api/previewvoice/ (the trailing slash matters: without it the server redirects). */
  async previewVoice(params: PreviewVoiceParams, opts: CallOptions = {}): Promise<PreviewVoiceResult> {
    const route = '/api/previewvoice/';
    if (typeof params.voice !== 'string' || !params.voice.trim()) throw validationError('voice', params.voice, 'a voice name');
    const form: FormFields = { voice: params.voice };
    if (params.rvccharacter_voice_gen) form.rvccharacter_voice_gen = params.rvccharacter_voice_gen;
    if (params.rvccharacter_pitch !== undefined) {
      const pitch = Number(params.rvccharacter_pitch);
      if (!Number.isFinite(pitch) || pitch < -24 || pitch > 24) throw validationError('rvccharacter_pitch', params.rvccharacter_pitch, 'a number from -24 to 24');
      form.rvccharacter_pitch = String(pitch);
    }
    const data = this.json(route, await this.expectOk(
      { method: 'POST', path: route, body: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded', long: true, retry: 'refused' },
      opts,
    ));
    if (data.status !== 'generate-success' || typeof data.output_file_url !== 'string') {
      this.rejectOnErrorStatus(route, data);
      throw this.invalid(route, 'no output_file_url');
    }
    const url = this.audioUrl(data.output_file_url);
    return {
      status: 'generate-success',
      output_file_path: typeof data.output_file_path === 'string' ? data.output_file_path : '',
      output_file_url: data.output_file_url,
      url: `${url}${url.includes('?') ? '&' : '?'}t=${Date.now()}`,
    };
  }

  /**
   * Downloads audio the server generated. Relative and absolute (legacy) URLs are both rebased
   * on the configured origin: another host is never contacted.
   */
  async fetchAudio(url: string, opts: CallOptions = {}): Promise<AudioDownload> {
    if (typeof url !== 'string' || !url.trim()) throw validationError('url', url, 'the audio URL or path the server returned');
    const path = serverPath(url);
    const reply = await this.request({ method: 'GET', path, long: true, retry: 'read' }, opts);
    if (reply.status === 404) {
      throw this.httpError('GET', path, reply, `AllTalk at ${this.origin} has no audio file at ${path} (404). ` +
        'It may have been overwritten or deleted, or the server writes to another output folder.');
    }
    this.ensureOk('GET', path, reply);
    return { data: reply.body, contentType: headerValue(reply.headers['content-type']) ?? 'application/octet-stream', url: `${this.origin}${path}` };
  }

  /** Closes every socket; calls still in flight fail with `aborted`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lifetime.abort();
    await this.pool.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- transport ----------------------------------------------------------------------------

  private async expectOk(spec: RequestSpec, opts: CallOptions): Promise<Reply> {
    return this.ensureOk(spec.method, spec.path, await this.request(spec, opts));
  }

  private ensureOk(method: string, route: string, reply: Reply): Reply {
    if (reply.status < 200 || reply.status >= 300) throw this.httpError(method, route, reply);
    return reply;
  }

  /** Sends one request with its deadline, retrying where `spec.retry` says it is safe. */
  private async request(spec: RequestSpec, opts: CallOptions): Promise<Reply> {
    if (this.closed) throw new AllTalkError('aborted', `The connection to AllTalk at ${this.origin} is closed.`, { server: this.origin, route: spec.path });
    const retries = Math.max(0, opts.retries ?? this.retry.retries);
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.attempt(spec, opts);
        if (spec.retry === 'read' && reply.status >= 500 && attempt < retries) {
          await this.backoff(attempt, opts.signal);
          if (opts.signal?.aborted || this.closed) throw this.cancelled(spec);
          continue;
        }
        return reply;
      } catch (err) {
        const e = err as AllTalkError;
        const retryable = e.kind === 'offline' && (spec.retry === 'read' || e.code === 'ECONNREFUSED');
        if (!retryable || attempt >= retries || opts.signal?.aborted || this.closed) throw e;
        await this.backoff(attempt, opts.signal);
        if (opts.signal?.aborted || this.closed) throw this.cancelled(spec);
      }
    }
  }

  private async attempt(spec: RequestSpec, opts: CallOptions): Promise<Reply> {
    const timeout = opts.timeoutMs ?? (spec.long ? this.generationTimeoutMs : this.timeoutMs);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('deadline')), timeout);
    const onAbort = () => deadline.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const query = spec.query ? `?${new URLSearchParams(spec.query).toString()}` : '';
    const headers: Record<string, string> = { ...this.headers };
    if (spec.contentType) headers['content-type'] = spec.contentType;
    try {
      const res = await this.pool.request({ method: spec.method, path: `${spec.path}${query}`, headers, body: spec.body, signal: deadline.signal });
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      throw this.transportError(err, spec.method, spec.path, spec.long === true, timeout, opts.signal, deadline.signal.aborted && !opts.signal?.aborted);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private cancelled(spec: RequestSpec): AllTalkError {
    return new AllTalkError('aborted', `The request ${spec.method} ${spec.path} to AllTalk at ${this.origin} was cancelled.`,
      { server: this.origin, route: spec.path });
  }

  /** Waits before the next attempt; ends early when the call is aborted or the client closed. */
  private backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    const ms = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    const signals = [this.lifetime.signal, ...(signal ? [signal] : [])];
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

  private transportError(err: unknown, method: string, route: string, long: boolean, timeoutMs: number, signal?: AbortSignal, deadlinePassed = false): AllTalkError {
    if (err instanceof AllTalkError) return err;
    const details = { server: this.origin, route, cause: err };
    const code = (err as { code?: string }).code ?? '';
    const timedOut = deadlinePassed || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    if (timedOut) {
      const seconds = Math.round(timeoutMs / 100) / 10;
      return long
        ? new AllTalkError('timeout', `AllTalk at ${this.origin} did not finish ${method} ${route} within ${seconds} s. ` +
            'It may still be working on it: raise the generation timeout for long texts or slow models.', details)
        : new AllTalkError('busy', `AllTalk at ${this.origin} did not answer ${route} within ${seconds} s: it is busy ` +
            '(loading a model or generating). It will answer when that work is done.', details);
    }
    if (signal?.aborted || this.closed || code === 'UND_ERR_ABORTED' || (err as Error).name === 'AbortError') {
      return new AllTalkError('aborted', `The request ${method} ${route} to AllTalk at ${this.origin} was cancelled.`, details);
    }
    if (TLS_CODES.test(code)) {
      return new AllTalkError('offline', `AllTalk at ${this.origin}: the TLS certificate was not accepted (${code}). ` +
        'Add its CA in a TLS configuration, or allow self-signed certificates.', details);
    }
    const reason = OFFLINE_CODES[code];
    if (reason) {
      return new AllTalkError('offline', `AllTalk at ${this.origin} is not answering (${reason}). ` +
        'Is it running, and are the protocol, host and port right?', details);
    }
    return new AllTalkError('offline', `AllTalk at ${this.origin} could not be reached: ${(err as Error).message ?? String(err)}`, details);
  }

  private httpError(method: string, route: string, reply: Reply, message?: string): AllTalkError {
    const body = reply.body.toString('utf8');
    const serverMessage = extractServerMessage(body);
    const text = message ?? `AllTalk at ${this.origin} answered ${reply.status} to ${method} ${route}` +
      (serverMessage ? `: ${serverMessage.replace(/\n/g, '; ')}` : '') + httpHint(route, reply.status);
    return new AllTalkError('http', text, { server: this.origin, route, status: reply.status, serverMessage, body: body.slice(0, 2000) });
  }

  private json(route: string, reply: Reply): Record<string, unknown> {
    // Parsed by route, not by Content-Type: several routes send JSON with no Content-Type.
    const text = reply.body.toString('utf8');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw this.invalid(route, `not JSON: ${preview(text)}`);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw this.invalid(route, 'not a JSON object');
    return data as Record<string, unknown>;
  }

  private rejectOnErrorStatus(route: string, data: Record<string, unknown>): void {
    const status = data.status;
    if (status === 'error' || status === 'generate-failure' || status === 'model-failure') {
      const msg = extractServerMessage(JSON.stringify(data)) ?? String(status);
      throw this.rejected(route, `AllTalk at ${this.origin} refused ${route}: ${msg}`, data);
    }
  }

  private rejected(route: string, message: string, data: Record<string, unknown>): AllTalkError {
    const serverMessage = extractServerMessage(JSON.stringify(data));
    return new AllTalkError('rejected', message, { server: this.origin, route, status: 200, serverMessage, body: JSON.stringify(data) });
  }

  private invalid(route: string, what: string): AllTalkError {
    const kind: AllTalkErrorKind = 'invalid-response';
    return new AllTalkError(kind, `AllTalk at ${this.origin} sent an unexpected reply to ${route} (${what}). Is this an AllTalk v2 server?`,
      { server: this.origin, route });
  }
}

function httpHint(route: string, status: number): string {
  if (status === 404 && route.startsWith('/api/')) return '. Is this an AllTalk v2 server?';
  if (status === 401 || status === 403) return '. Check the credentials for the proxy in front of AllTalk.';
  if (status === 400 && route === '/api/tts-generate') return '. If it names a field you did not set, the server\'s own default for it is invalid.';
  return '';
}

function normaliseSettings(data: Record<string, unknown>): CurrentSettings {
  const s = { ...data } as Record<string, unknown>;
  for (const flag of [...CAPABILITY_FLAGS, 'deepspeed_enabled', 'lowvram_enabled', 'ttsengines_installed'] as const) s[flag] = s[flag] === true;
  if (!isStringArray(s.engines_available)) s.engines_available = [];
  if (!Array.isArray(s.models_available)) s.models_available = [];
  s.models_available = (s.models_available as unknown[])
    .map((m) => (typeof m === 'string' ? { name: m } : m))
    .filter((m): m is { name: string } => !!m && typeof (m as { name?: unknown }).name === 'string');
  if (typeof s.current_model_loaded !== 'string') s.current_model_loaded = null;
  for (const key of ['manufacturer_name', 'audio_format'] as const) if (typeof s[key] !== 'string') s[key] = '';
  for (const key of ['generationspeed_set', 'pitch_set', 'repetitionpenalty_set', 'temperature_set'] as const) {
    const n = Number(s[key]);
    s[key] = Number.isFinite(n) ? n : 0;
  }
  return s as unknown as CurrentSettings;
}

async function fixWavFileSizes(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    const info = parseWav(head);
    const sizes = Buffer.alloc(4);
    sizes.writeUInt32LE(size - 8, 0);
    await fh.write(sizes, 0, 4, 4);
    sizes.writeUInt32LE(size - info.dataOffset, 0);
    await fh.write(sizes, 0, 4, info.dataOffset - 4);
  } finally {
    await fh.close();
  }
}

function positive(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.trim() && v !== undefined) out[k.trim().toLowerCase()] = String(v);
  return out;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function preview(text: string): string {
  const t = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(t);
}
