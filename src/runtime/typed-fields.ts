/**
 * Dialog fields a user may fill from anywhere, as Node-RED's core nodes allow (a typedInput: a value
 * typed in the dialog, or msg, flow, global, env, JSONata): which fields of a node come from
 * elsewhere, and their values for a message. A field typed in the dialog, or saved before it had a
 * type (`<field>Type` absent), keeps its dialog value, as before.
 */
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { AllTalkError, describeValue } from '../api/errors';
import { readMessage } from './input-handler';
import { readInput } from './node-properties';

/** Types whose value is the dialog's own. */
const OWN = new Set(['', 'str', 'num']);

export interface FromElsewhere {
  field: string;
  /** msg, flow, global, env, jsonata */
  type: string;
  /** The property, variable or expression the dialog names. */
  property: string;
}

/** The fields of `def` (among `fields`) whose value comes from elsewhere: `<field>Type` says where. */
export function fromElsewhere(def: object, fields: readonly string[]): FromElsewhere[] {
  const d = def as Record<string, unknown>;
  return fields.flatMap((field) => {
    const type = d[`${field}Type`];
    if (typeof type !== 'string' || OWN.has(type)) return [];
    return [{ field, type, property: String(d[field] ?? '') }];
  });
}

/** `def` with the fields that come from elsewhere blank: what the dialog itself sets. */
export function ownFields<T extends object>(def: T, elsewhere: readonly FromElsewhere[]): T {
  if (elsewhere.length === 0) return def;
  const own = { ...def } as Record<string, unknown>;
  for (const f of elsewhere) own[f.field] = '';
  return own as unknown as T;
}

/** Where a field's value comes from, as the dialog shows it: msg.voiceName, flow.voice, env ALLTALK_VOICE, JSONata. */
function shown(f: FromElsewhere): string {
  if (f.type === 'jsonata') return `the JSONata expression ${JSON.stringify(f.property)}`;
  if (f.type === 'env') return `the environment variable ${f.property}`;
  return `${f.type}.${f.property}`;
}

/**
 * A message property, or undefined when it (or an object on the way to it) is not there:
 * msg.speaker.voice on a message without msg.speaker is "nothing found", not an error.
 */
function messageValue(RED: NodeAPI, property: string, msg: NodeMessageInFlow): unknown {
  let parts: (string | number)[];
  try {
    parts = RED.util.normalisePropertyExpression(property, msg) as (string | number)[];
  } catch (err) {
    throw new AllTalkError('validation', `msg.${property} is not a property name: ${(err as Error).message}. Nothing was sent to AllTalk.`);
  }
  return readMessage(() => {
    let value: unknown = msg;
    for (const p of parts) {
      if (value === undefined || value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string | number, unknown>)[p];
    }
    return value;
  });
}

/**
 * The values of `fields` for `msg`: a text or a number. Nothing found (undefined, null, an empty
 * text) is blank (''): the message's msg.alltalk.<field> and short form then fill the field, as for a
 * blank dialog field. Anything else (an object, a Buffer, true) is a validation error naming where
 * it came from.
 */
export async function readElsewhere(RED: NodeAPI, node: Node, fields: readonly FromElsewhere[], msg: NodeMessageInFlow): Promise<Record<string, string | number>> {
  const values: Record<string, string | number> = {};
  for (const f of fields) {
    const value = f.type === 'msg' ? messageValue(RED, f.property, msg) : (await readInput(RED, node, f.property, f.type, msg)).value;
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      values[f.field] = '';
    } else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      values[f.field] = value;
    } else {
      throw new AllTalkError('validation', `${f.field} from ${shown(f)} is ${describeValue(value)}: it must be a text or a number. ` +
        'Nothing was sent to AllTalk.', { field: f.field, value, allowed: 'a text or a number' });
    }
  }
  return values;
}
