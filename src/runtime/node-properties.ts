/** Reading a node's configured input property and its numeric dialog fields. */
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { readMessage, unreadable } from './input-handler';

/**
 * The value of the node's input property (a TypedInput: msg, flow, global, env, str, JSONata).
 * What reading it throws becomes a validation error. The value comes wrapped ({ value }): a
 * Promise or thenable found in a message is a value to refuse, never something to wait for.
 */
export function readInput(RED: NodeAPI, node: Node, property: string, propertyType: string, msg: NodeMessageInFlow): Promise<{ value: unknown }> {
  if (isMessageInput(propertyType)) {
    return new Promise<{ value: unknown }>((resolve) => {
      resolve({ value: readMessageInput(RED, property, msg) });
    });
  }
  return new Promise<{ value: unknown }>((resolve, reject) => {
    try {
      RED.util.evaluateNodeProperty(property, propertyType, node, msg, (err: Error | null, result: unknown) => (err ? reject(unreadable(err)) : resolve({ value: result })));
    } catch (err) {
      reject(unreadable(err));
    }
  });
}

/** Whether the input property is one of the message's: readMessageInput() reads it at once, with nothing to await. */
export function isMessageInput(propertyType: string): boolean {
  return propertyType === 'msg' || !propertyType;
}

/** The message's input property (default payload), read now; what reading it throws becomes a validation error. */
export function readMessageInput(RED: NodeAPI, property: string, msg: NodeMessageInFlow): unknown {
  return readMessage(() => RED.util.getMessageProperty(msg, property || 'payload') as unknown);
}

/** A whole number of at least 1 from a dialog field, else `fallback`. */
export function wholeNumber(v: unknown, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : fallback;
}
