/**
 * What the package knows of one AllTalk server's health, without Node-RED: the start-up procedure
 * and state machine (connecting → ready | busy | loading | offline), the cached settings, voices and
 * RVC voices, the health check, and refresh. ServerConnection (server-connection.ts) adds the work:
 * the queue, generations, model changes and stops.
 */
import { EventEmitter } from 'node:events';
import { Cancellation } from '../api/cancellation';
import { AllTalkClient, type AllTalkClientOptions } from '../api/client';
import { AllTalkError, isAllTalkError } from '../api/errors';
import type { CurrentSettings } from '../api/types';
import { isPlaceholderVoice, type ValidationContext } from '../api/validation';
import { readServerData } from './server-reads';

/** `loading`: a model, DeepSpeed or LowVRAM change of ours is running (the server answers nothing meanwhile). */
export type ServerState = 'connecting' | 'ready' | 'busy' | 'loading' | 'offline';

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

export interface MonitorOptions extends AllTalkClientOptions {
  /** Time between /api/ready polls during start-up, ms (default 500). */
  pollIntervalMs?: number;
  /** How long start-up polling lasts before the state becomes offline, ms (default: timeoutMs). */
  startupTimeoutMs?: number;
  /** Health check interval while ready, ms (default 30000; 0 = off). */
  healthIntervalMs?: number;
  /** Longest back-off between polls while offline, ms (default 30000). */
  maxBackoffMs?: number;
}

/**
 * Events:
 * - `state` (StateInfo): the state changed;
 * - `cache` (ServerCache): settings/voices were pulled again.
 */
export class ServerMonitor extends EventEmitter {
  readonly client: AllTalkClient;
  protected info: StateInfo = { state: 'connecting', since: Date.now() };
  protected data: ServerCache = { voices: [], rvcVoices: [], updatedAt: 0 };
  protected readonly lifetime = new Cancellation();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = Date.now();
  private backoffMs = 0;
  protected closed = false;
  protected readonly pollIntervalMs: number;
  private readonly startupTimeoutMs: number;
  private readonly healthIntervalMs: number;
  private readonly maxBackoffMs: number;
  /** Model changes of ours in progress (the server answers nothing meanwhile). */
  protected loading = 0;

  constructor(options: MonitorOptions) {
    super();
    this.setMaxListeners(0);
    this.client = new AllTalkClient(options);
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.startupTimeoutMs = options.startupTimeoutMs ?? this.client.timeoutMs;
    this.healthIntervalMs = options.healthIntervalMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
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
    if (this.disabledReason) return;
    this.startedAt = Date.now();
    this.schedule(0);
  }

  /**
   * Checks the server now (ready, then settings, voices and RVC voices) and updates the state
   * and cache. Offline, busy and HTTP errors are states, not failures; a malformed reply rejects.
   * One check runs at a time; calls made while one runs share one more check after it, so a
   * caller always gets an answer newer than its call and checks never pile up.
   */
  checkNow(): Promise<void> {
    // A configuration that cannot work is never polled: its state stays offline with the reason.
    if (this.closed || this.disabledReason) return Promise.resolve();
    if (this.queuedCheck) return this.queuedCheck;
    if (!this.checking) {
      this.checking = this.check().finally(() => {
        this.checking = undefined;
      });
      return this.checking;
    }
    const next: Promise<void> = this.checking.catch(() => undefined).then(() => {
      this.queuedCheck = undefined;
      return this.checkNow();
    });
    this.queuedCheck = next;
    return next;
  }

  private checking: Promise<void> | undefined;
  private queuedCheck: Promise<void> | undefined;
  /** When a generation last succeeded (performance.now()): a check older than that cannot say otherwise. */
  private answeredAt = -Infinity;

  /** A configuration that cannot work (bad host or port): offline with the reason, never polled. */
  disable(reason: string): void {
    this.disabledReason = reason;
    this.setState('offline', reason);
  }

  protected disabledReason: string | undefined;
  /** How many checks read the settings and voices: a refresh sees whether its own did. */
  private reads = 0;

  /**
   * Asks the server to reload its configuration (/api/reload_config), then pulls the cache again.
   * Succeeds only when everything was read: a server that stopped answering meanwhile, or a reply cut
   * short or malformed, is an error, not a success.
   */
  async refresh(): Promise<string> {
    if (this.disabledReason) throw new AllTalkError('validation', this.disabledReason);
    const reply = await this.client.reloadConfig({ signal: this.lifetime });
    const before = this.reads;
    await this.checkNow();
    if (this.info.state !== 'ready' || this.reads === before) {
      const kind = this.info.state === 'busy' ? 'busy' : 'offline';
      throw new AllTalkError(kind, `AllTalk at ${this.origin} reloaded its configuration, but its settings and voices could not be read again: ` +
        `${this.info.reason ?? `it is ${this.info.state}`}.`, { server: this.origin });
    }
    return reply;
  }

  /**
   * The server just did work for us: if the state says otherwise, it is ready now, at once (the
   * badges and status nodes follow), and the cache is read again behind it.
   */
  protected answered(): void {
    this.answeredAt = performance.now();
    if (this.closed || this.disabledReason || this.info.state === 'ready' || this.loading > 0) return;
    this.setState('ready');
    void this.checkNow().catch(() => undefined);
  }

  /** Stops the checks and cancels the calls of the checks in flight. */
  protected stopMonitoring(err: Error): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lifetime.abort(err);
  }

  // ---- state machine ------------------------------------------------------------------------

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.checkNow().catch(() => undefined).finally(() => this.scheduleNext());
    }, ms);
  }

  private scheduleNext(): void {
    if (this.closed || this.timer) return;
    const { state } = this.info;
    if (state === 'ready') {
      this.backoffMs = 0;
      if (this.healthIntervalMs > 0) this.schedule(this.healthIntervalMs);
    } else if (state === 'connecting' || state === 'busy' || state === 'loading') {
      this.schedule(this.pollIntervalMs);
    } else {
      // offline: back off, capped
      this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs ? this.backoffMs * 2 : 1000);
      this.schedule(this.backoffMs);
    }
  }

  private async check(): Promise<void> {
    // During a model change of ours the server answers nothing; the change reads everything after.
    if (this.loading > 0) return;
    const signal = this.lifetime;
    const startedAt = performance.now();
    // A failure seen by a check that began before a generation succeeded is out of date.
    const setFailed = (state: ServerState, reason: string) => {
      if (this.answeredAt < startedAt) this.setState(state, reason);
    };
    try {
      const ready = await this.client.ready({ signal, retries: 0 });
      if (ready !== 'Ready') {
        setFailed(this.info.state === 'ready' ? 'busy' : this.startingOrOffline(), 'the server says its engine is unloaded');
        return;
      }
      // Everything is read on every check (four small calls): a restart that brought new voices
      // between two health checks is noticed too.
      this.data = { ...(await readServerData(this.client, { signal, retries: 0 })), updatedAt: Date.now() };
      this.reads++;
      this.emit('cache', this.data);
      this.setState('ready');
    } catch (err) {
      if (!isAllTalkError(err) || this.closed) throw err;
      if (err.kind === 'aborted') return;
      // A refused connection, or an HTTP error from a proxy in front of a server that is gone
      // (502), or a wrong port or password (404, 401): the server cannot be used.
      if (err.kind === 'offline' || err.kind === 'http') {
        setFailed(this.startingOrOffline(), err.message);
        return;
      }
      if (err.kind === 'busy') {
        setFailed('busy', err.message);
        return;
      }
      // Something answers, but not as AllTalk does (an HTML page, endless settings): not usable.
      // The state says so; the caller (the status node, the editor's refresh) gets the error too.
      if (err.kind === 'invalid-response' || err.kind === 'too-large') setFailed(this.startingOrOffline(), err.message);
      throw err;
    }
  }

  /** During start-up a refused connection keeps us "connecting" until the start-up timeout. */
  private startingOrOffline(): ServerState {
    if (this.info.state === 'connecting' && Date.now() - this.startedAt < this.startupTimeoutMs) return 'connecting';
    return 'offline';
  }

  protected setState(state: ServerState, reason?: string): void {
    if (this.info.state === state && this.info.reason === reason) return;
    const changed = this.info.state !== state;
    this.info = { state, reason, since: changed ? Date.now() : this.info.since };
    if (changed) this.emit('state', this.info);
  }
}
