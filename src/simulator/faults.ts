/** Faults a test can inject: canned replies, extra latency, streams cut short. */
import type { ServerResponse } from 'http';
import { sendBody } from './replies';

/** A reply sent instead of the route's own. `contentType: null` sends no Content-Type header. */
export interface FaultReply {
  status: number;
  body?: string | object;
  contentType?: string | null;
}

interface PendingFailure {
  remaining: number;
  reply: FaultReply;
}

export class FaultPlan {
  private readonly latency = new Map<string, number>();
  private readonly failures = new Map<string, PendingFailure>();
  private streamCut: number | undefined;

  /** Extra delay before answering `path` ('*' = every route); 0 removes it. */
  setLatency(path: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('latency must be a non-negative number');
    if (ms === 0) this.latency.delete(path);
    else this.latency.set(path, ms);
  }

  /** The delay for a request to `path`: its own plus the '*' latency. */
  latencyFor(path: string): number {
    return (this.latency.get(path) ?? 0) + (path === '*' ? 0 : (this.latency.get('*') ?? 0));
  }

  /** The next `count` requests to `path` ('*' = any route) get `reply`; a count of 0 removes it. */
  failNext(path: string, count: number, reply: FaultReply): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
    if (!Number.isInteger(reply.status) || reply.status < 100 || reply.status > 599) {
      throw new RangeError('status must be an HTTP status code');
    }
    if (count === 0) this.failures.delete(path);
    else this.failures.set(path, { remaining: count, reply: { ...reply } });
  }

  /** Consumes one pending failure for `path` (its own first, then '*'). */
  takeFailure(path: string): FaultReply | undefined {
    for (const key of [path, '*']) {
      const pending = this.failures.get(key);
      if (!pending) continue;
      pending.remaining--;
      if (pending.remaining <= 0) this.failures.delete(key);
      return pending.reply;
    }
    return undefined;
  }

  /** The next streaming response is destroyed after `afterBytes` body bytes. */
  cutNextStream(afterBytes: number): void {
    if (!Number.isInteger(afterBytes) || afterBytes < 0) throw new RangeError('afterBytes must be a non-negative integer');
    this.streamCut = afterBytes;
  }

  takeStreamCut(): number | undefined {
    const cut = this.streamCut;
    this.streamCut = undefined;
    return cut;
  }

  clear(): void {
    this.latency.clear();
    this.failures.clear();
    this.streamCut = undefined;
  }
}

export function sendFaultReply(res: ServerResponse, reply: FaultReply): void {
  const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  let contentType: string | null;
  if (reply.contentType !== undefined) contentType = reply.contentType;
  else if (reply.body === undefined) contentType = null;
  else contentType = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  sendBody(res, reply.status, body, contentType);
}
