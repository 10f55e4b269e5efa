/**
 * Stopping what one AllTalk server is doing for us, the same way for alltalk-control's stop and for
 * a message that interrupts (msg.alltalk.interrupt): every stream ends at once on our side (the
 * real server does not stop a stream its client keeps reading); with the queue cleared, every
 * waiting job and every generation in flight ends with one error that says who stopped it (a model
 * change in flight runs on); and AllTalk's own stop (PUT /api/stop-generation) is sent.
 */
import { AllTalkError, isAllTalkError } from '../api/errors';
import type { ServerConnection } from './server-connection';

export interface StopRequest {
  /** Also fail every waiting job and abort the generations in flight. */
  clearQueue: boolean;
  /** The error each cancelled message ends with: it says who stopped it. */
  reason: AllTalkError;
}

/** What AllTalk answered to its own stop. */
export interface ServerStopReply {
  response: unknown;
  /** The server was busy (a generation it cannot stop holds it) or gone: only its own stop was missed. */
  serverError?: string;
}

export interface StopOutcome {
  streamsStopped: number;
  /** Waiting jobs failed and generations in flight aborted. */
  cancelled: number;
  /**
   * AllTalk's own stop, already sent when stopServer returns. Resolves with the answer (or the
   * busy/offline error as serverError); rejects only on other errors.
   */
  server: Promise<ServerStopReply>;
}

export function stopServer(c: ServerConnection, request: StopRequest): StopOutcome {
  const { clearQueue, reason } = request;
  // The queue first (a waiting stream is one of the cancelled), then the streams (which end
  // stopped, not cancelled, so they are not counted twice), then the generations in flight.
  let cancelled = clearQueue ? c.cancelQueued(reason) : 0;
  const streamsStopped = c.stopStreams(clearQueue ? reason : undefined);
  if (clearQueue) cancelled += c.cancelInFlight(reason);
  const server = c.client.stopGeneration({ retries: 0 }).then(
    (response): ServerStopReply => ({ response }),
    (err: unknown): ServerStopReply => {
      if (!isAllTalkError(err) || (err.kind !== 'busy' && err.kind !== 'offline')) throw err;
      return { response: null, serverError: err.message };
    },
  );
  return { streamsStopped, cancelled, server };
}

/**
 * A message that interrupts: everything queued and in flight on the server is cancelled with an
 * error naming `who`, and AllTalk's own stop is sent (not awaited: the interrupting job goes to
 * the head of the queue at once, after this, and so after the stop was sent).
 */
export function interruptServer(c: ServerConnection, who: string): StopOutcome {
  const reason = new AllTalkError('aborted',
    `Interrupted by ${who} (msg.alltalk.interrupt): the queue of AllTalk at ${c.origin} was cleared.`, { server: c.origin });
  const outcome = stopServer(c, { clearQueue: true, reason });
  // The interrupting message reports its own errors; a stop the server refused changes nothing for it.
  outcome.server.catch(() => undefined);
  return outcome;
}
