/**
 * What a node outputs, the same rule in alltalk-tts, -openai and -stream. The dialog's Output:
 * - a mode (buffer, url, file, chunks…): that mode, whatever the message says;
 * - blank (the default): the node's default, or msg.alltalk.output — any mode but "file";
 * - "msg" ("set by msg.alltalk.output"): msg.alltalk.output, any mode, file included.
 * So a message can make a node write a file only when its dialog says so.
 */
import { AllTalkError, describeValue } from '../api/errors';

/** The dialog's choice "set by msg.alltalk.output". */
export const OUTPUT_FROM_MSG = 'msg';

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function mode<T extends string>(v: unknown): T {
  return (typeof v === 'string' ? v.trim().toLowerCase() : '') as T;
}

/** "buffer, url or file": the modes in words, for an error. */
function listOf(modes: readonly string[]): string {
  return `${modes.slice(0, -1).join(', ')} or ${modes[modes.length - 1]}`;
}

/** The output mode for one message; refused (nothing sent) when the message asks for what it may not. */
export function chooseOutput<T extends string>(dialog: unknown, fromMsg: unknown, modes: readonly T[], fallback: T): T {
  const own = blank(dialog) ? '' : mode<T>(dialog);
  if (own && own !== OUTPUT_FROM_MSG) {
    if (modes.includes(own)) return own;
    const list = listOf(modes);
    throw new AllTalkError('validation', `The node's output is ${describeValue(dialog)}: it must be ${list}. Nothing was sent to AllTalk.`,
      { field: 'output', value: dialog, allowed: list });
  }
  if (blank(fromMsg)) return fallback;
  const asked = mode<T>(fromMsg);
  if (!modes.includes(asked)) {
    const list = listOf(modes);
    throw new AllTalkError('validation', `msg.alltalk.output is ${describeValue(fromMsg)}: it must be ${list}. Nothing was sent to AllTalk.`,
      { field: 'output', value: fromMsg, allowed: list });
  }
  if (asked === 'file' && own !== OUTPUT_FROM_MSG) {
    throw new AllTalkError('validation', 'msg.alltalk.output "file" is not taken: this node writes files only when its Output is "file" ' +
      'or "set by msg.alltalk.output", so that a message cannot make it write files it was not set up to write. Nothing was sent to AllTalk.',
    { field: 'output', value: fromMsg, allowed: modes.filter((m) => m !== 'file').join(', ') });
  }
  return asked;
}
