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
import { AllTalkError, isAllTalkError } from '../api/errors';
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

type Work<T> = (attempt: Attempt, signal: CancelSignal) => Promise<T>;

/** Runs `work` for one message on the server routing picks, and on the next one after a failure worth it. */
export function runRouted<T>(group: ServerGroup, work: Work<T>, opts: RouteOptions = {}): Promise<Routed<T>> {
  const own = group.own;
  // One server (no fallbacks, or none of them deployed): no routing at all.
  if (own.settings.fallbacks.length === 0) return runAlone(own, work, opts);
  const members = group.members();
  return members.length === 1 ? runAlone(own, work, opts) : runAmong(members, own, work, opts);
}

const NOTHING = (): void => undefined;

/** The one-server path: straight into its queue, one promise on top of the job's. */
function runAlone<T>(own: ServerMember, work: Work<T>, opts: RouteOptions): Promise<Routed<T>> {
  const attempt: Attempt = { member: own, rerouted: false, delivered: NOTHING };
  return own.connection.runGeneration((signal) => work(attempt, signal), opts)
    .then((value) => ({ value, server: own.ref, member: own, rerouted: false }));
}

async function runAmong<T>(members: ServerMember[], own: ServerMember, work: Work<T>, opts: RouteOptions): Promise<Routed<T>> {
  const tried = new Set<ServerMember>();
  let { member, because } = first(members, own, opts.capable, own.settings.share);
  for (;;) {
    tried.add(member);
    let delivered = false;
    const attempt: Attempt = { member, rerouted: member !== own, delivered: () => void (delivered = true) };
    const here = member;
    try {
      const value = await here.connection.runGeneration((signal) => {
        // Its turn came on a server found down while it waited (another message failed there): it
        // moves to a server that is up without a try here, as a proxy redispatches its queue.
        // (Rejected, not thrown: the queue then starts the next one after this one has moved, keeping their order.)
        if (!here.up && alternative(members, tried, opts.capable)) return Promise.reject(wentDown(here));
        // A server that fails so is down at once, before the next message in its queue starts.
        return work(attempt, signal).catch((err: unknown) => {
          if (retryable(err) && !delivered && !signal.aborted) here.health.failed((err as AllTalkError).message);
          throw err;
        });
      }, opts);
      return { value, server: member.ref, member, rerouted: member !== own, because: member !== own ? because : undefined };
    } catch (err) {
      if (delivered || !retryable(err) || opts.signal?.aborted) throw err;
      const next = alternative(members, tried, opts.capable);
      if (!next) throw err;
      because = moved.has(err as AllTalkError) ? (err as AllTalkError).message : `${member.ref.name} failed: ${(err as AllTalkError).message}`;
      member = next;
    }
  }
}

/** The next server to try: up, able, and not tried yet for this message. */
function alternative(members: ServerMember[], tried: Set<ServerMember>, capable: RouteOptions['capable']): ServerMember | undefined {
  return members.find((m) => !tried.has(m) && m.up && (capable?.(m) ?? true));
}

/** The errors of messages moved off a server that went down while they waited (their reason is the whole story). */
const moved = new WeakSet<AllTalkError>();

function wentDown(member: ServerMember): AllTalkError {
  const err = new AllTalkError('offline', `${member.ref.name} went down while this message waited in its queue (${member.health.reason ?? 'not answering'})`);
  moved.add(err);
  return err;
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
