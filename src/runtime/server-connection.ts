/**
 * One AllTalk server as the nodes see it: the client, the start-up procedure and state machine
 * (connecting → ready | busy | offline), the cached settings/voices/RVC voices, refresh, the
 * health check and the generation queue. No Node-RED imports: the config node wraps it.
 */
import { EventEmitter } from 'node:events';
import { AllTalkClient, type AllTalkClientOptions } from '../api/client';
import { AllTalkError, isAllTalkError } from '../api/errors';
import type { CurrentSettings } from '../api/types';
import { isPlaceholderVoice, type ValidationContext } from '../api/validation';
import { RequestQueue, type QueueJobOptions } from './request-queue';

export type ServerState = 'connecting' | 'ready' | 'busy' | 'offline';

export interface StateInfo {
  state: ServerState;
  /** Why the server is in this state (the error message for busy/offline). */
  reason?: string;
  /** When the state last changed (ms since the epoch). */
  since: number;
}

export interface ServerCache {
  settings?: CurrentSettings;
  /** The server's voice list as served (placeholders included). */
  voices: string[];
  rvcVoices: string[];
  /** When the cache was last pulled (ms since the epoch), 0 = never. */
  updatedAt: number;
}

export interface ServerConnectionOptions extends AllTalkClientOptions {
  /** Requests of generation type running at once (default 1). */
  concurrency?: number;
  /** Requests allowed to wait (default 50). */
  queueLimit?: number;
  /** Time between /api/ready polls during start-up, ms (default 500). */
  pollIntervalMs?: number;
  /** How long start-up polling lasts before the state becomes offline, ms (default: timeoutMs). */
  startupTimeoutMs?: number;
  /** Health check interval while ready, ms (default 30000; 0 = off). */
  healthIntervalMs?: number;
  /** Longest back-off between polls while offline, ms (default 30000). */
  maxBackoffMs?: number;
}

export interface GenerationJobOptions extends QueueJobOptions {
  signal?: AbortSignal;
}

/**
 * Events:
 * - `state` (StateInfo): the state changed;
 * - `cache` (ServerCache): settings/voices were pulled again;
 * - `queue` (running, waiting): the generation queue changed.
 */
export class ServerConnection extends EventEmitter {
  readonly client: AllTalkClient;
  readonly queue: RequestQueue;
  private info: StateInfo = { state: 'connecting', since: Date.now() };
  private data: ServerCache = { voices: [], rvcVoices: [], updatedAt: 0 };
  private readonly lifetime = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = Date.now();
  private backoffMs = 0;
  private checking: Promise<void> | undefined;
  private closed = false;
  private readonly pollIntervalMs: number;
  private readonly startupTimeoutMs: number;
  private readonly healthIntervalMs: number;
  private readonly maxBackoffMs: number;

  constructor(options: ServerConnectionOptions) {
    super();
    this.setMaxListeners(0);
    this.client = new AllTalkClient(options);
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.startupTimeoutMs = options.startupTimeoutMs ?? this.client.timeoutMs;
    this.healthIntervalMs = options.healthIntervalMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.queue = new RequestQueue(
      Math.max(1, options.concurrency ?? 1),
      Math.max(0, options.queueLimit ?? 50),
      this.client.origin,
      (running, waiting) => this.emit('queue', running, waiting),
    );
  }

  get origin(): string {
    return this.client.origin;
  }

  get state(): StateInfo {
    return this.info;
  }

  get cache(): ServerCache {
    return this.data;
  }

  /** Voices without the server's placeholder entries. */
  get voices(): string[] {
    return this.data.voices.filter((v) => !isPlaceholderVoice(v));
  }

  /** What the validators need to check a request against this server. */
  validationContext(): ValidationContext {
    return { settings: this.data.settings, voices: this.data.voices, rvcVoices: this.data.rvcVoices };
  }

  /** Starts the start-up procedure: poll /api/ready until Ready or the start-up timeout. */
  start(): void {
    this.startedAt = Date.now();
    this.schedule(0);
  }

  /**
   * Checks the server now (ready, then settings/voices/RVC voices) and updates the state and
   * cache. Offline and busy are states, not failures; a malformed reply rejects.
   */
  checkNow(opts: { full?: boolean } = {}): Promise<void> {
    if (this.closed) return Promise.resolve();
    const full = opts.full !== false;
    if (this.checking && !full) return this.checking;
    // One check at a time: a full check asked for during another one runs after it.
    const previous = this.checking ?? Promise.resolve();
    const next: Promise<void> = previous.catch(() => undefined).then(() => this.check(full)).finally(() => {
      if (this.checking === next) this.checking = undefined;
    });
    this.checking = next;
    return next;
  }

  /** Asks the server to reload its configuration (/api/reload_config), then pulls the cache again. */
  async refresh(): Promise<void> {
    await this.client.reloadConfig({ signal: this.lifetime.signal });
    await this.checkNow();
  }

  /**
   * Runs generation-type work through the queue. The signal handed to `work` aborts when the
   * caller's signal does or when the connection closes.
   */
  runGeneration<T>(work: (signal: AbortSignal) => Promise<T>, opts: GenerationJobOptions = {}): Promise<T> {
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.lifetime.signal]) : this.lifetime.signal;
    return this.queue.run(() => work(signal), { signal, onPosition: opts.onPosition });
  }

  /** Stops every timer, fails queued work, aborts running work and closes the sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const err = new AllTalkError('aborted', `The connection to AllTalk at ${this.origin} was closed (the flow was stopped or redeployed).`);
    this.queue.close(err);
    this.lifetime.abort(err);
    await this.client.close();
    this.removeAllListeners();
  }

  // ---- state machine ------------------------------------------------------------------------

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.checkNow({ full: false }).catch(() => undefined).finally(() => this.scheduleNext());
    }, ms);
  }

  private scheduleNext(): void {
    if (this.closed || this.timer) return;
    const { state } = this.info;
    if (state === 'ready') {
      this.backoffMs = 0;
      if (this.healthIntervalMs > 0) this.schedule(this.healthIntervalMs);
    } else if (state === 'connecting' || state === 'busy') {
      this.schedule(this.pollIntervalMs);
    } else {
      // offline: back off, capped
      this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs ? this.backoffMs * 2 : 1000);
      this.schedule(this.backoffMs);
    }
  }

  /** A light check (the periodic health check) pulls the voice lists only when something changed. */
  private async check(full: boolean): Promise<void> {
    const signal = this.lifetime.signal;
    try {
      const ready = await this.client.ready({ signal, retries: 0 });
      if (ready !== 'Ready') {
        this.setState(this.info.state === 'ready' ? 'busy' : this.startingOrOffline(), 'the server says its engine is unloaded');
        return;
      }
      const before = this.data.settings;
      const settings = await this.client.currentSettings({ signal, retries: 0 });
      const changed = !before || before.current_engine_loaded !== settings.current_engine_loaded ||
        before.current_model_loaded !== settings.current_model_loaded;
      const wasReady = this.info.state === 'ready';
      let { voices, rvcVoices } = this.data;
      if (full || changed || !wasReady || this.data.updatedAt === 0) {
        voices = await this.client.voices({ signal, retries: 0 }).catch((err: unknown) => {
          // An engine without voices answers 200 {"status":"error"}: that is "no voices", not a failure.
          if (isAllTalkError(err) && err.kind === 'rejected') return [];
          throw err;
        });
        rvcVoices = await this.client.rvcVoices({ signal, retries: 0 }).catch((err: unknown) => {
          if (isAllTalkError(err) && (err.kind === 'http' || err.kind === 'rejected')) return ['Disabled'];
          throw err;
        });
      }
      this.data = { settings, voices, rvcVoices, updatedAt: Date.now() };
      this.emit('cache', this.data);
      this.setState('ready');
    } catch (err) {
      if (!isAllTalkError(err) || this.closed) throw err;
      if (err.kind === 'aborted') return;
      if (err.kind === 'offline') {
        this.setState(this.startingOrOffline(), err.message);
        return;
      }
      if (err.kind === 'busy') {
        this.setState('busy', err.message);
        return;
      }
      throw err;
    }
  }

  /** During start-up a refused connection keeps us "connecting" until the start-up timeout. */
  private startingOrOffline(): ServerState {
    if (this.info.state === 'connecting' && Date.now() - this.startedAt < this.startupTimeoutMs) return 'connecting';
    return 'offline';
  }

  private setState(state: ServerState, reason?: string): void {
    if (this.info.state === state && this.info.reason === reason) return;
    const changed = this.info.state !== state;
    this.info = { state, reason, since: changed ? Date.now() : this.info.since };
    if (changed) this.emit('state', this.info);
  }
}
