/**
 * The deadlines of a Transport's calls, on one timer per length instead of one timer per call.
 * Calls of one length (the generation timeout, the status timeout) end in the order they began,
 * so a single timer set for the oldest serves them all: beginning and ending a call is a push and
 * a flag, not a timer made and cleared (which, for a lone call, also makes and drops Node's timer
 * list for its length). A length's timer keeps the process alive only while a call waits on it,
 * as the calls' own timers did.
 */

/** A deadline that has not passed yet; end() it when the call settled first. */
export interface Deadline {
  end(): void;
}

/** The longest delay a Node timer holds; a longer one gets a timer of its own, as before. */
const TIMER_MAX_MS = 2 ** 31 - 1;
/** Lengths kept (with their timer) while no call waits on them; more are dropped when they empty. */
const KEPT_LANES = 4;
/** Deadlines may fire this much before their time, as a timer of whole milliseconds does. */
const EARLY_MS = 1;

export class Deadlines {
  private readonly lanes = new Map<number, Lane>();

  /** Calls `expire` once `ms` have passed, unless the returned deadline is ended first. */
  add(ms: number, expire: () => void): Deadline {
    if (ms > TIMER_MAX_MS) return ownTimer(ms, expire);
    let lane = this.lanes.get(ms);
    if (!lane) {
      lane = new Lane(ms, () => this.dropIfSpare(ms));
      this.lanes.set(ms, lane);
    }
    return lane.add(expire);
  }

  private dropIfSpare(ms: number): void {
    if (this.lanes.size <= KEPT_LANES) return;
    this.lanes.get(ms)?.stop();
    this.lanes.delete(ms);
  }
}

function ownTimer(ms: number, expire: () => void): Deadline {
  const timer = setTimeout(expire, ms);
  return { end: () => clearTimeout(timer) };
}

class Entry implements Deadline {
  done = false;

  constructor(
    private readonly lane: Lane,
    readonly at: number,
    readonly expire: () => void,
  ) {}

  end(): void {
    if (this.done) return;
    this.done = true;
    this.lane.ended();
  }
}

/** The deadlines of one length, oldest first. */
class Lane {
  private entries: Entry[] = [];
  /** Entries before this index have ended or expired. */
  private head = 0;
  private waiting = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onEmpty: () => void,
  ) {}

  add(expire: () => void): Deadline {
    const entry = new Entry(this, performance.now() + this.ms, expire);
    this.entries.push(entry);
    this.waiting++;
    if (!this.timer) this.arm(this.ms);
    else if (this.waiting === 1) this.timer.ref();
    return entry;
  }

  ended(): void {
    this.waiting--;
    this.trim();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Drops what ended from the front (and, now and then, from the middle). */
  private trim(): void {
    const { entries } = this;
    while (this.head < entries.length && entries[this.head].done) this.head++;
    if (this.waiting === 0) {
      entries.length = 0;
      this.head = 0;
      // Set for a deadline no call waits for any more: it fires once, finds nothing, and is not set again.
      this.timer?.unref();
      this.onEmpty();
    } else if (entries.length - this.head > 64 && this.waiting * 2 < entries.length - this.head) {
      // Calls that end out of order behind one that does not: keep only those that wait.
      this.entries = entries.slice(this.head).filter((e) => !e.done);
      this.head = 0;
    }
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, ms));
    if (this.waiting === 0) this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    const expired: Entry[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.done) continue;
      if (e.at - now > EARLY_MS) break;
      e.done = true;
      this.waiting--;
      expired.push(e);
    }
    this.trim();
    const next = this.entries[this.head];
    if (next) this.arm(next.at - now);
    // As separate timers would: one that throws does not keep the others from expiring.
    let failure: unknown;
    for (const e of expired) {
      try {
        e.expire();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
