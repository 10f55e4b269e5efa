/**
 * A light stand-in for AbortController/AbortSignal, for the cancellations a message makes (one
 * per HTTP call, one per queued job): an AbortSignal costs microseconds to make and to listen to,
 * and warns of a leak past ten listeners. This has the shape undici and our code listen to
 * (aborted, reason, add/removeEventListener), and an AbortSignal fits wherever a CancelSignal is
 * asked for.
 */

export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  /**
   * The listeners, in the order they were added: the first in a field of its own (most have just
   * one at a time, and a Set for each would be made and dropped per call), the others in a Set.
   */
  private first: (() => void) | undefined;
  private more: Set<() => void> | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted || listener === this.first) return;
    // Only while there are no others, so that every one in `more` came after `first`.
    if (this.first === undefined && this.more === undefined) this.first = listener;
    else (this.more ??= new Set()).add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (listener === this.first) this.first = undefined;
    // An empty Set is dropped: the next listener alone goes back in the field.
    else if (this.more?.delete(listener) && this.more.size === 0) this.more = undefined;
  }

  /** Aborts once: every listener is called once, in the order they were added. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new Error('aborted');
    const { first, more } = this;
    this.first = undefined;
    this.more = undefined;
    if (first) call(first);
    if (more) for (const listener of more) call(listener);
  }

  /** Aborts this one when `source` aborts; returns the function that undoes the link. */
  follow(source: CancelSignal | undefined): () => void {
    if (!source) return noop;
    if (source.aborted) {
      this.abort(source.reason);
      return noop;
    }
    const listener = () => this.abort(source.reason);
    source.addEventListener('abort', listener, { once: true });
    return () => source.removeEventListener('abort', listener);
  }
}

function noop(): void {}

function call(listener: () => void): void {
  try {
    listener();
  } catch {
    // one listener failing must not keep the others from hearing of the abort
  }
}
