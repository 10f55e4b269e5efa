/**
 * What every alltalk node's input handler is built on, so that no message can take Node-RED
 * down or be left hanging:
 * - handleInput(): each message ends exactly once, with done() or done(err), whatever the work
 *   throws, and whatever send() or done() throw themselves;
 * - readMessage(): what is thrown while reading a message (a getter that throws) becomes a clear
 *   error before anything is sent;
 * - checkWritable() / writeOutput(): a frozen message, or a read-only property, is refused before
 *   anything is sent, rather than failing after the server did the work.
 */
import type { Node, NodeMessage, NodeMessageInFlow } from 'node-red';
import { Cancellation } from '../api/cancellation';
import { AllTalkError, isAllTalkError } from '../api/errors';

export type Send = (msg: NodeMessage | (NodeMessage | NodeMessage[] | null)[]) => void;
export type InputWork = (msg: NodeMessageInFlow, send: Send) => Promise<void> | void;

/**
 * A node's lifetime: aborted when it closes. Any number of queued messages may listen to it (an
 * AbortSignal would warn of a leak past ten), and listening costs next to nothing.
 */
export function nodeLifetime(): Cancellation {
  return new Cancellation();
}

/**
 * Registers `work` as the node's input handler. The message ends with done() when `work`
 * resolves and with done(err) when it throws or rejects; `onError` (the badge) is told first.
 */
export function handleInput(node: Node, work: InputWork, onError?: (err: Error) => void): void {
  node.on('input', (msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void) => {
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      const error = err === undefined ? undefined : toError(err);
      if (error && onError) {
        try {
          onError(error);
        } catch {
          // a badge must never stop the message from ending
        }
      }
      finish(node, msg, done, error);
    };
    let running: Promise<void>;
    try {
      running = Promise.resolve(work(msg, send));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(() => end(), (err: unknown) => end(err ?? new Error('failed')));
  });
}

function finish(node: Node, msg: NodeMessageInFlow, done: (err?: Error) => void, error: Error | undefined): void {
  try {
    if (error) done(error);
    else done();
  } catch (doneErr) {
    // Node-RED could not handle this message itself (one without a prototype, or with a getter
    // that throws when Catch or Complete nodes copy it): report on a plain copy, else log it.
    const reported = error ?? toError(doneErr);
    try {
      node.error(reported, plainCopy(msg));
    } catch {
      try {
        node.error(reported.message);
      } catch {
        // nothing more can be done
      }
    }
  }
}

/** The message's own readable properties on an ordinary object. */
function plainCopy(msg: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  try {
    for (const key of Object.keys(msg as object)) {
      try {
        copy[key] = (msg as Record<string, unknown>)[key];
      } catch {
        // a getter that throws: left out
      }
    }
  } catch {
    // not even its keys can be read
  }
  return copy;
}

/** Whatever was thrown, as an Error with a message. */
export function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(`failed: ${safeText(err)}`);
}

/** Text for any value, never throwing (symbols, objects without prototype, throwing toString). */
export function safeText(value: unknown): string {
  try {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.message;
    if (typeof value === 'symbol') return value.toString();
    if (value && typeof value === 'object') return 'an object';
    return String(value);
  } catch {
    return 'an unreadable value';
  }
}

/**
 * Runs `read`, which reads the incoming message and checks what it found. What it throws that is
 * not already one of our errors (a getter that throws, a revoked Proxy) becomes a validation
 * error: nothing was sent. Synchronous on purpose: a Promise in a message is a value, never awaited.
 */
export function readMessage<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw unreadable(err);
  }
}

/**
 * The properties a node uses, read once from the message onto a plain object (msg.alltalk copied
 * one level deep). Only this reading can meet a getter that throws or a revoked Proxy; the checks
 * then work on the copy, so that a fault in a check is never mistaken for an unreadable message.
 */
export function messageView(msg: unknown, keys: readonly string[]): Record<string, unknown> {
  // As readMessage(), without a closure per message.
  try {
    const m = msg as Record<string, unknown>;
    const view: Record<string, unknown> = {};
    for (const key of keys) {
      const value = m[key];
      if (key === 'alltalk' && value && typeof value === 'object' && !Array.isArray(value)) {
        const copy: Record<string, unknown> = {};
        for (const k of Object.keys(value)) copy[k] = (value as Record<string, unknown>)[k];
        view[key] = copy;
      } else {
        view[key] = value;
      }
    }
    return view;
  } catch (err) {
    throw unreadable(err);
  }
}

/** A failure while reading a message, as our validation error. */
export function unreadable(err: unknown): AllTalkError {
  if (isAllTalkError(err)) return err;
  return new AllTalkError('validation', `The message could not be read: ${safeText(err)}. Nothing was sent to AllTalk.`);
}

/** True when `obj[key] = value` would work (no frozen object, read-only or setter-less property). */
function canAssign(obj: object, key: string): boolean {
  let o: object | null = obj;
  while (o) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) {
      if (d.get || d.set) return d.set !== undefined;
      return o === obj ? d.writable === true : d.writable === true && Object.isExtensible(obj);
    }
    o = Object.getPrototypeOf(o) as object | null;
  }
  return Object.isExtensible(obj);
}

/** Refuses, before anything is sent, a message that the output cannot be written to. */
export function checkWritable(msg: object, keys: readonly string[], nodeType: string): void {
  let bad: string | undefined;
  try {
    for (const k of keys) {
      if (canAssign(msg, k)) continue;
      bad = k;
      break;
    }
  } catch (err) {
    throw new AllTalkError('validation', `The message cannot be inspected (${safeText(err)}). Nothing was sent to AllTalk.`);
  }
  if (bad !== undefined) {
    throw new AllTalkError('validation',
      `msg.${bad} cannot be written: the message is frozen or sealed, or msg.${bad} is read-only (a function node may have made it so). ` +
        `${nodeType} puts its output there: pass it an ordinary message. Nothing was sent to AllTalk.`, { field: bad });
  }
}

/** Writes the output properties; a setter that throws becomes a clear error. */
export function writeOutput(msg: object, props: Record<string, unknown>): void {
  for (const key of Object.keys(props)) {
    try {
      (msg as Record<string, unknown>)[key] = props[key];
    } catch (err) {
      throw new AllTalkError('validation', `The output could not be written to msg.${key}: ${safeText(err)}.`, { field: key });
    }
  }
}
