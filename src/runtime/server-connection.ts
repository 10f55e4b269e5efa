/**
 * One AllTalk server as the nodes see it: what ServerMonitor (server-monitor.ts) knows of its
 * health, plus the work: the generation queue, model changes and stops. No Node-RED imports: the
 * config node wraps it.
 */
import { Cancellation, type CancelSignal } from '../api/cancellation';
import { AllTalkError, isAllTalkError } from '../api/errors';
import type { CurrentSettings } from '../api/types';
import { RequestQueue, type QueueJobOptions } from './request-queue';
import { type MonitorOptions, ServerMonitor } from './server-monitor';
import { readServerData, waitReady } from './server-reads';

export { readServerData };
export type { ServerCache, ServerState, StateInfo } from './server-monitor';

/** What a queued job is: a generation can be cancelled by a stop, a stream is stopped, a model change runs on. */
export type JobKind = 'generation' | 'stream' | 'model';

export interface ServerConnectionOptions extends MonitorOptions {
  /** Requests of generation type running at once (default 1). */
  concurrency?: number;
  /** Requests allowed to wait (default 50). */
  queueLimit?: number;
}

export interface GenerationJobOptions extends QueueJobOptions {
  signal?: CancelSignal;
  /** Default 'generation'. */
  kind?: JobKind;
}

/**
 * Events (besides ServerMonitor's `state` and `cache`):
 * - `outcome` (error?): a job of the queue ended, well (no argument) or with the error;
 * - `queue` (running, waiting): the generation queue changed.
 */
export class ServerConnection extends ServerMonitor {
  readonly queue: RequestQueue;

  constructor(options: ServerConnectionOptions) {
    super(options);
    this.queue = new RequestQueue(
      Math.max(1, options.concurrency ?? 1),
      Math.max(0, options.queueLimit ?? 50),
      this.client.origin,
      (running, waiting) => this.emit('queue', running, waiting),
    );
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
    // Once the job ended, after its outcome was told (one .then, not .then and .finally).
    const ended = () => {
      this.inFlight.delete(entry);
      unlinkCaller();
      unlinkConnection();
    };
    return this.queue
      .run(() => {
        this.inFlight.add(entry);
        return work(job);
      }, { signal: job, onPosition: opts.onPosition, exclusive: entry.kind === 'model', priority: opts.priority, first: opts.first })
      .then((value) => {
        try {
          this.answered();
          this.emit('outcome');
        } finally {
          ended();
        }
        return value;
      }, (err: unknown) => {
        try {
          // A generation that finds the server gone tells every node at once, not at the next health check.
          if (isAllTalkError(err) && err.kind === 'offline' && !this.closed) void this.checkNow().catch(() => undefined);
          if (!this.closed) this.emit('outcome', err);
        } finally {
          ended();
        }
        throw err;
      });
  }

  private readonly inFlight = new Set<{ kind: JobKind; cancel: Cancellation }>();

  /** Jobs of ours running on the server now. */
  get jobsRunning(): number {
    return this.inFlight.size;
  }

  private readonly streamStoppers = new Set<(reason?: Error) => number>();

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

  /** Stops every timer, fails queued work, aborts running work and closes the sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    const err = new AllTalkError('aborted', `The connection to AllTalk at ${this.origin} was closed (the flow was stopped or redeployed).`);
    this.stopMonitoring(err);
    this.queue.close(err);
    await this.client.close();
    this.removeAllListeners();
  }
}
