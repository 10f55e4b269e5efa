/**
 * Whether one AllTalk server is up, for routing messages between servers, as proven proxies judge
 * it (HAProxy's checks with `fall 1`/`rise 2`, Envoy's outlier ejection): a failure seen on a
 * request (refused, reset, timed out) or by a check marks it down at once; while down it is probed
 * with `/api/ready` every `intervalMs`, and it is up again after `rise` good answers in a row. Until
 * it was reached once it is not up either. No Node-RED imports.
 */
import { EventEmitter } from 'node:events';

export interface HealthOptions {
  /** Resolves when the server answers as a healthy one, rejects otherwise. */
  probe: () => Promise<void>;
  /** Time between probes of a server that is down, ms (default 5000). */
  intervalMs?: number;
  /** Good probes in a row to be up again (default 2). */
  rise?: number;
}

/** Events: `change` (up: boolean) when it goes up or down. */
export class ServerHealth extends EventEmitter {
  private isUp = false;
  private probing = false;
  private good = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private why: string | undefined = 'not reached yet';
  readonly intervalMs: number;
  private readonly rise: number;

  constructor(private readonly options: HealthOptions) {
    super();
    this.intervalMs = options.intervalMs ?? 5000;
    this.rise = Math.max(1, options.rise ?? 2);
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Why it is not up (the failure that marked it down), when it is not. */
  get reason(): string | undefined {
    return this.isUp ? undefined : this.why;
  }

  /** A request or check went well: up, unless probes must confirm it first (it was marked down). */
  succeeded(): void {
    if (this.closed || this.probing) return;
    this.set(true);
  }

  /** A request or check failed: down at once, and probed until `rise` good answers in a row. */
  failed(reason: string): void {
    if (this.closed) return;
    this.why = reason;
    this.good = 0;
    this.set(false);
    if (!this.probing) {
      this.probing = true;
      this.schedule();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.removeAllListeners();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.probeOnce(), this.intervalMs);
    this.timer.unref?.();
  }

  private async probeOnce(): Promise<void> {
    this.timer = undefined;
    let ok = false;
    try {
      await this.options.probe();
      ok = true;
    } catch (err) {
      this.why = (err as Error)?.message ?? String(err);
    }
    if (this.closed) return;
    this.good = ok ? this.good + 1 : 0;
    if (this.good >= this.rise) {
      this.probing = false;
      this.set(true);
      return;
    }
    this.schedule();
  }

  private set(up: boolean): void {
    if (this.isUp === up) return;
    this.isUp = up;
    this.emit('change', up);
  }
}
