/**
 * The blocked event loop of a real AllTalk server with a blocking engine (XTTS, VITS, Parler, F5):
 * while a generation or model load holds the gate, every other request waits, and the waiting
 * requests are then handled one at a time in arrival order (a waiting generation that starts
 * holds the gate again before the next waiting request is let through).
 */
export class BusyGate {
  private holds = 0;
  private readonly queue: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private draining = false;

  get busy(): boolean {
    return this.holds > 0;
  }

  /** Number of requests waiting to be handled. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Blocks the gate until the returned release function is called (idempotent). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0) this.drain();
    };
  }

  /** Resolves when this request may be handled (immediately when nothing holds the gate). */
  pass(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.queue.push(resolve));
  }

  /** Resolves when nothing holds the gate, without taking a place in the queue. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Forgets every hold and lets everything through (used on reset). */
  clear(): void {
    this.holds = 0;
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    const step = (): void => {
      if (this.busy) {
        this.draining = false;
        return;
      }
      const next = this.queue.shift();
      if (!next) {
        this.draining = false;
        const idle = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of idle) resolve();
        return;
      }
      next();
      // Let the released request run up to its first real wait (and take the gate if it is a
      // generation) before the next one is released.
      setImmediate(step);
    };
    step();
  }
}
