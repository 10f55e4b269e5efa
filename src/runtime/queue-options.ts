/**
 * A message's place in its server's queue, the same for every node: `msg.priority` (a number,
 * higher first, default 0; equal priorities keep arrival order) and `msg.alltalk.interrupt`
 * (true: cancel what is queued and in flight on the server, and go first). Read and checked
 * before anything is sent.
 */
import { AllTalkError, describeValue } from '../api/errors';
import { messageView } from './input-handler';
import type { ServerConnection } from './server-connection';
import { ServerGroup } from './server-group';
import { interruptServer } from './server-stop';

export interface QueueOptions {
  priority: number;
  interrupt: boolean;
}

/** A number written as text: "5", "-1", "2.5", "1e3" (no hex, no Infinity). */
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * msg.priority and msg.alltalk.interrupt, checked. Absent, null or blank means the default (0,
 * false); a priority may be a finite number or a string holding one, interrupt true or false
 * (or the strings "true" and "false"). Anything else is refused: nothing is sent.
 */
export function readQueueOptions(msg: unknown): QueueOptions {
  const view = messageView(msg, ['priority', 'alltalk']);
  const a = view.alltalk;
  const interrupt = a && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, unknown>).interrupt : undefined;
  return { priority: readPriority(view.priority), interrupt: readInterrupt(interrupt) };
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function readPriority(value: unknown): number {
  if (blank(value)) return 0;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) {
    const n = Number(value.trim());
    if (Number.isFinite(n)) return n;
  }
  throw new AllTalkError('validation',
    `msg.priority is ${describeValue(value)}: it must be a number (higher goes first, the default is 0), or a string holding one. ` +
      'Nothing was sent to AllTalk.', { field: 'priority', value, allowed: 'a finite number' });
}

function readInterrupt(value: unknown): boolean {
  if (blank(value)) return false;
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new AllTalkError('validation',
    `msg.alltalk.interrupt is ${describeValue(value)}: it must be true or false. Nothing was sent to AllTalk.`,
    { field: 'interrupt', value, allowed: 'true or false' });
}

/** How a node is named in messages: its type and name, or its type and id when it has no name. */
export function nodeLabel(node: { type: string; id: string; name?: string }): string {
  return node.name ? `${node.type} "${node.name}"` : `${node.type} (id ${node.id})`;
}

/**
 * The queue options of one job of `who`, to spread into runGeneration/changeModel. Call it right
 * before enqueueing, with nothing awaited in between: when the message interrupts, the queue and
 * work in flight of its server (of a group: of every server in it) are cancelled here, and the job
 * then goes first.
 */
export function queueTurn(c: ServerConnection | ServerGroup, options: QueueOptions, who: string): { priority: number; first: boolean } {
  if (options.interrupt) {
    // Every server the node's messages can run on.
    if (c instanceof ServerGroup) for (const m of c.members()) interruptServer(m.connection, who);
    else interruptServer(c, who);
  }
  return { priority: options.priority, first: options.interrupt };
}
