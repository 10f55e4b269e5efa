/**
 * The per-server queue for generation-type work (tts, stream, openai, model reload, DeepSpeed,
 * LowVRAM): at most `concurrency` jobs run at once, the higher priority first and in arrival order
 * among equal priorities; beyond `limit` waiting jobs a new one is refused at once. The AllTalk
 * server has no generation lock of its own.
 * An exclusive job (a model change) runs alone: it waits until nothing runs, and nothing starts
 * beside it, whatever the concurrency. Jobs behind it wait for it; a job of higher priority that
 * arrives meanwhile goes ahead of it, as of any other.
 */
import type { CancelSignal } from '../api/cancellation';
import { AllTalkError } from '../api/errors';

export interface QueueJobOptions {
  /** Aborts the job while it waits or runs. */
  signal?: CancelSignal;
  /** Told the job's place in line (1 = next) whenever it changes, and 0 when it starts. */
  onPosition?: (position: number) => void;
  /** Runs alone: after every running job has ended, with nothing else beside it. */
  exclusive?: boolean;
  /** Higher goes first; equal priorities keep arrival order (default 0; not a finite number = 0). */
  priority?: number;
  /**
   * Ahead of everything waiting, whatever its priority (an interrupt); later `first` jobs queue
   * behind it. Never refused for a full queue: it has just cleared the queue it goes to the head of.
   */
  first?: boolean;
}

interface Waiting {
  exclusive: boolean;
  /** Infinity for a `first` job. */
  priority: number;
  start: () => void;
  fail: (err: Error) => void;
  onPosition?: (position: number) => void;
}

export class RequestQueue {
  private readonly waiting: Waiting[] = [];
  private active = 0;
  private exclusiveRunning = false;
  private closedError: Error | undefined;

  constructor(
    public concurrency: number,
    public limit: number,
    private readonly describe: string,
    private readonly onChange?: (running: number, waiting: number) => void,
  ) {}

  get running(): number {
    return this.active;
  }

  get length(): number {
    return this.waiting.length;
  }

  /** Runs `job` when its turn comes. The signal given to the job aborts when the queue closes. */
  run<T>(job: () => Promise<T>, opts: QueueJobOptions = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (opts.signal?.aborted) return Promise.reject(abortedError(this.describe));
    if (this.waiting.length === 0 && this.canStart(opts.exclusive === true)) return this.execute(job, opts);
    if (this.waiting.length >= this.limit && opts.first !== true) {
      return Promise.reject(new AllTalkError('queue-full',
        `The queue for AllTalk at ${this.describe} is full (${this.limit} requests waiting). ` +
          'Send fewer requests at once, or raise the queue limit on the server configuration.'));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        exclusive: opts.exclusive === true,
        priority: opts.first === true ? Infinity : Number.isFinite(opts.priority) ? (opts.priority as number) : 0,
        start: () => {
          opts.signal?.removeEventListener('abort', onAbort);
          this.execute(job, opts).then(resolve, reject);
        },
        fail: (err) => {
          opts.signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
        onPosition: opts.onPosition,
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          entry.fail(abortedError(this.describe));
          this.announce(i);
        }
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const at = this.insert(entry);
      // At the head of the line it may start at once (ahead of an exclusive job that cannot yet).
      if (at === 0 && this.canStart(entry.exclusive)) return this.next();
      entry.onPosition?.(at + 1);
      this.announce(at + 1);
      this.notify();
    });
  }

  /**
   * Puts `entry` behind every waiting job of its priority or higher; returns its index. From the
   * end of the line, so that the common case (all of one priority) is an append.
   */
  private insert(entry: Waiting): number {
    let at = this.waiting.length;
    while (at > 0 && this.waiting[at - 1].priority < entry.priority) at--;
    if (at === this.waiting.length) this.waiting.push(entry);
    else this.waiting.splice(at, 0, entry);
    return at;
  }

  /** Refuses new jobs and fails every waiting one with `err`. Running jobs are the caller's to abort. */
  close(err: Error): void {
    this.closedError = err;
    this.failWaiting(err);
  }

  /** Fails every waiting job with `err` (one error each); returns how many there were. */
  failWaiting(err: Error): number {
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w.fail(err);
    this.notify();
    return waiting.length;
  }

  private canStart(exclusive: boolean): boolean {
    if (this.exclusiveRunning) return false;
    return exclusive ? this.active === 0 : this.active < this.concurrency;
  }

  private async execute<T>(job: () => Promise<T>, opts: QueueJobOptions): Promise<T> {
    this.active++;
    if (opts.exclusive) this.exclusiveRunning = true;
    opts.onPosition?.(0);
    this.notify();
    try {
      return await job();
    } finally {
      this.active--;
      if (opts.exclusive) this.exclusiveRunning = false;
      this.next();
    }
  }

  /** Starts waiting jobs in their order while they may start (an exclusive one waits for the others). */
  private next(): void {
    while (this.waiting.length > 0 && !this.closedError && this.canStart(this.waiting[0].exclusive)) {
      const entry = this.waiting.shift() as Waiting;
      entry.start();
      this.announce(0);
    }
    this.notify();
  }

  /** Tells the waiting jobs from index `from` on their new places. */
  private announce(from: number): void {
    for (let i = from; i < this.waiting.length; i++) this.waiting[i].onPosition?.(i + 1);
  }

  private notify(): void {
    this.onChange?.(this.active, this.waiting.length);
  }
}

function abortedError(describe: string): AllTalkError {
  return new AllTalkError('aborted', `The request to AllTalk at ${describe} was cancelled before it started.`);
}
