/**
 * One AllTalk server as the nodes see it: the client, the start-up procedure and state machine
 * (connecting → ready | busy | loading | offline), the cached settings/voices/RVC voices, refresh,
 * the health check, the generation queue, model changes and stops. No Node-RED imports: the
 * config node wraps it.
 */
import { EventEmitter } from 'node:events';
import { Cancellation, type CancelSignal } from '../api/cancellation';
import { AllTalkClient, type AllTalkClientOptions } from '../api/client';
import { AllTalkError, isAllTalkError } from '../api/errors';
import type { CurrentSettings } from '../api/types';
import { isPlaceholderVoice, type ValidationContext } from '../api/validation';
import { RequestQueue, type QueueJobOptions } from './request-queue';
import { readServerData, waitReady } from './server-reads';

export { readServerData };

/** `loading`: a model, DeepSpeed or LowVRAM change of ours is running (the server answers nothing meanwhile). */
export type ServerState = 'connecting' | 'ready' | 'busy' | 'loading' | 'offline';

/** What a queued job is: a generation can be cancelled by a stop, a stream is stopped, a model change runs on. */
export type JobKind = 'generation' | 'stream' | 'model';

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
  signal?: CancelSignal;
  /** Default 'generation'. */
  kind?: JobKind;
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
  private readonly lifetime = new Cancellation();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = Date.now();
  private backoffMs = 0;
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
    if (!this.running) {
      this.running = this.check().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    const next: Promise<void> = this.running.catch(() => undefined).then(() => {
      this.queuedCheck = undefined;
      return this.checkNow();
    });
    this.queuedCheck = next;
    return next;
  }

  private running: Promise<void> | undefined;
  private queuedCheck: Promise<void> | undefined;
  /** When a generation last succeeded (performance.now()): a check older than that cannot say otherwise. */
  private answeredAt = -Infinity;

  /** A configuration that cannot work (bad host or port): offline with the reason, never polled. */
  disable(reason: string): void {
    this.disabledReason = reason;
    this.setState('offline', reason);
  }

  private disabledReason: string | undefined;
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

  /** Within a model change: waits until the server says Ready, then reads the settings it has now. */
  async settle(signal: CancelSignal): Promise<CurrentSettings> {
    await waitReady(this.client, signal, this.pollIntervalMs);
    return this.client.currentSettings({ signal, retries: 0 });
  }

  /**
   * Runs generation-type work through the queue. The signal handed to `work` aborts when the
   * caller's signal does or when the connection closes.
   */
  runGeneration<T>(work: (signal: CancelSignal) => Promise<T>, opts: GenerationJobOptions = {}): Promise<T> {
    if (this.disabledReason) return Promise.reject(new AllTalkError('validation', this.disabledReason));
    // One cancellation per job, following the caller's and the connection's and unlinked when the
    // job ends, so long-lived signals collect no listeners.
    const job = new Cancellation();
    const unlinkCaller = job.follow(opts.signal);
    const unlinkConnection = job.follow(this.lifetime);
    const entry = { kind: opts.kind ?? 'generation', cancel: job };
    return this.queue
      .run(() => {
        this.inFlight.add(entry);
        return work(job);
      }, { signal: job, onPosition: opts.onPosition, exclusive: entry.kind === 'model', priority: opts.priority, first: opts.first })
      .then((value) => {
        this.answered();
        return value;
      }, (err: unknown) => {
        // A generation that finds the server gone tells every node at once, not at the next health check.
        if (isAllTalkError(err) && err.kind === 'offline' && !this.closed) void this.checkNow().catch(() => undefined);
        throw err;
      })
      .finally(() => {
        this.inFlight.delete(entry);
        unlinkCaller();
        unlinkConnection();
      });
  }

  private readonly inFlight = new Set<{ kind: JobKind; cancel: Cancellation }>();
  private readonly streamStoppers = new Set<(reason?: Error) => number>();
  private loading = 0;

  /** Fails every job waiting in the queue with `err`; returns how many. */
  cancelQueued(err: Error): number {
    return this.queue.failWaiting(err);
  }

  /** Aborts the generations in flight (not streams, not model changes) with `err`; returns how many. */
  cancelInFlight(err: Error): number {
    let n = 0;
    for (const job of this.inFlight) {
      if (job.kind !== 'generation' || job.cancel.aborted) continue;
      job.cancel.abort(err);
      n++;
    }
    return n;
  }

  /** A stream node registers how to stop its streams (it returns how many it stopped). */
  addStreamStopper(stop: (reason?: Error) => number): () => void {
    this.streamStoppers.add(stop);
    return () => this.streamStoppers.delete(stop);
  }

  /**
   * Ends every stream in progress on this server at once, on our side; returns how many. A stream
   * still waiting for its turn ends with `reason` when one is given.
   */
  stopStreams(reason?: Error): number {
    let n = 0;
    for (const stop of this.streamStoppers) n += stop(reason);
    return n;
  }

  /**
   * A model, DeepSpeed or LowVRAM change: in the queue (never in the middle of a generation), the
   * state "loading" meanwhile on every node, then /api/ready awaited and settings and voices read
   * again and published. The server answers nothing while it loads.
   */
  changeModel<T>(work: (signal: CancelSignal) => Promise<T>, opts: GenerationJobOptions = {}): Promise<T> {
    return this.runGeneration(async (signal) => {
      this.loading++;
      this.setState('loading', 'a model is loading');
      try {
        const result = await work(signal);
        await waitReady(this.client, signal, this.pollIntervalMs);
        this.data = { ...(await readServerData(this.client, { signal, retries: 0 })), updatedAt: Date.now() };
        this.emit('cache', this.data);
        return result;
      } finally {
        this.loading--;
        if (this.loading === 0 && !this.closed) {
          if (this.info.state === 'loading') this.setState('ready');
          // What the change left behind is checked at once (a failed load may have left nothing loaded).
          void this.checkNow().catch(() => undefined);
        }
      }
    }, { ...opts, kind: 'model' });
  }

  /**
   * The server just did work for us: if the state says otherwise, it is ready now, at once (the
   * badges and status nodes follow), and the cache is read again behind it.
   */
  private answered(): void {
    this.answeredAt = performance.now();
    if (this.closed || this.disabledReason || this.info.state === 'ready' || this.loading > 0) return;
    this.setState('ready');
    void this.checkNow().catch(() => undefined);
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

  private setState(state: ServerState, reason?: string): void {
    if (this.info.state === state && this.info.reason === reason) return;
    const changed = this.info.state !== state;
    this.info = { state, reason, since: changed ? Date.now() : this.info.since };
    if (changed) this.emit('state', this.info);
  }
}
