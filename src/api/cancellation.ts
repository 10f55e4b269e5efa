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
  private listeners: Set<() => void> | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= new Set()).add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners?.delete(listener);
  }

  /** Aborts once: every listener is called once, in the order they were added. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new Error('aborted');
    const listeners = this.listeners;
    this.listeners = undefined;
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // one listener failing must not keep the others from hearing of the abort
      }
    }
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
