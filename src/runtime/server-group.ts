/**
 * Routing a message between AllTalk servers, the way proven proxies do it. A worker node names one
 * server; each message runs:
 * - on its own server when that is up (with shared load: on the up server with the fewest queued
 *   and running jobs, its own on a tie);
 * - otherwise on the first fallback that is up; if none is up, on its own server as with one server.
 * A request that fails before any audio left the node (refused, reset, timed out, HTTP 5xx, busy
 * past its timeout) is tried again on the next server that is up, each server at most once per
 * message; a 4xx, AllTalk's refusal or our own validation is not, and nothing is once audio went
 * out. Fallbacks of fallbacks are not followed, so cycles are harmless. No Node-RED imports.
 */
import { type AllTalkError, isAllTalkError } from '../api/errors';
import type { CancelSignal } from '../api/cancellation';
import type { GenerationJobOptions } from './server-connection';
import type { ServerMember, ServerRef } from './server-member';

/** A node's server and its fallbacks, as they are now (resolved per message: configurations may be redeployed). */
export class ServerGroup {
  constructor(
    readonly own: ServerMember,
    private readonly lookup: (id: string) => ServerMember | undefined,
  ) {}

  /** Its own server first, then each fallback that exists, once; never a fallback's fallbacks. */
  members(): ServerMember[] {
    const ids = this.own.settings.fallbacks;
    if (ids.length === 0) return [this.own];
    const out = [this.own];
    for (const id of ids) {
      const m = this.lookup(id);
      if (m && !out.includes(m) && m.connection !== this.own.connection) out.push(m);
    }
    return out;
  }
}

/** One try of a message on one server. */
export interface Attempt {
  member: ServerMember;
  /** Not its own server. */
  rerouted: boolean;
  /** Call when audio left the node: from then on a failure is not tried again elsewhere. */
  delivered(): void;
}

export interface Routed<T> {
  value: T;
  server: ServerRef;
  member: ServerMember;
  rerouted: boolean;
  /** Why it did not run on its own server. */
  because?: string;
}

export interface RouteOptions extends GenerationJobOptions {
  /** Only servers this accepts are chosen (a stream needs an engine that streams). */
  capable?: (member: ServerMember) => boolean;
}

/** A failure another server may not have: the request never got a real answer. */
export function retryable(err: unknown): boolean {
  if (!isAllTalkError(err)) return false;
  return err.kind === 'offline' || err.kind === 'timeout' || err.kind === 'busy' || (err.kind === 'http' && (err.status ?? 0) >= 500);
}

/** Runs `work` for one message on the server routing picks, and on the next one after a failure worth it. */
export async function runRouted<T>(group: ServerGroup, work: (attempt: Attempt, signal: CancelSignal) => Promise<T>, opts: RouteOptions = {}): Promise<Routed<T>> {
  const members = group.members();
  const own = group.own;
  // One server: no routing at all.
  if (members.length === 1) {
    const attempt = { member: own, rerouted: false, delivered: () => undefined };
    const value = await own.connection.runGeneration((signal) => work(attempt, signal), opts);
    return { value, server: own.ref, member: own, rerouted: false };
  }
  const tried = new Set<ServerMember>();
  let { member, because } = first(members, own, opts.capable, own.settings.share);
  for (;;) {
    tried.add(member);
    let delivered = false;
    const attempt: Attempt = { member, rerouted: member !== own, delivered: () => void (delivered = true) };
    try {
      const value = await member.connection.runGeneration((signal) => work(attempt, signal), opts);
      return { value, server: member.ref, member, rerouted: member !== own, because: member !== own ? because : undefined };
    } catch (err) {
      if (delivered || !retryable(err) || opts.signal?.aborted) throw err;
      const next = members.find((m) => !tried.has(m) && m.up && (opts.capable?.(m) ?? true));
      if (!next) throw err;
      because = `${member.ref.name} failed: ${(err as AllTalkError).message}`;
      member = next;
    }
  }
}

/** The server a message goes to first, and why when it is not its own. */
function first(members: ServerMember[], own: ServerMember, capable: RouteOptions['capable'], share: boolean): { member: ServerMember; because?: string } {
  const usable = members.filter((m) => m.up && (capable?.(m) ?? true));
  if (usable.length === 0) return { member: own };
  if (share && usable.length > 1) {
    // The fewest jobs wins; its own server on a tie (it comes first, and the sort keeps the order).
    const byLoad = [...usable].sort((a, b) => a.load - b.load);
    const m = byLoad[0];
    if (m === own) return { member: own };
    return { member: m, because: usable.includes(own) ? `shared load: ${m.ref.name} had ${m.load} jobs, ${own.ref.name} ${own.load}` : downBecause(own) };
  }
  if (usable[0] === own) return { member: own };
  return { member: usable[0], because: own.up ? `${own.ref.name} cannot take this request` : downBecause(own) };
}

function downBecause(own: ServerMember): string {
  return `${own.ref.name} is down: ${own.health.reason ?? 'not answering'}`;
}
