/**
 * How alltalk-stream turns its dialog and a message into streaming requests. Precedence as in
 * alltalk-tts: a value set in the dialog wins; a blank field takes msg.alltalk.<field>, then the
 * short form (msg.voice, msg.language, msg.filename); the language falls back to "en" (the
 * streaming route needs one), the output to "chunks".
 */
import { AllTalkError, describeValue } from '../../api/errors';
import type { StreamParams } from '../../api/types';
import { codePoints, validateStreamParams, validateText, type ValidationContext } from '../../api/validation';
import { chooseOutput } from '../../runtime/output-choice';
import { splitText } from '../../runtime/text-splitter';

export type StreamOutput = 'chunks' | 'buffer' | 'file' | 'url';
export const STREAM_OUTPUTS: readonly StreamOutput[] = ['chunks', 'buffer', 'file', 'url'];

export interface StreamDialog {
  voice?: unknown;
  language?: unknown;
  output?: unknown;
  filePath?: unknown;
}

export interface StreamLimits {
  maxCharacters: number;
  maxTotal: number;
  split: boolean;
}

export interface StreamPlan {
  /** One request per part of the text (one unless a long text was split). */
  requests: Required<StreamParams>[];
  output: StreamOutput;
  filePath?: string;
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function first(...values: unknown[]): unknown {
  return values.find((v) => !blank(v));
}

/** True for a message that asks this node to stop its stream. */
export function isStopMessage(msg: Record<string, unknown>): boolean {
  return msg.topic === 'stop' || msg.stop === true;
}

/** Resolves and checks everything for one message; nothing is sent when this throws. */
export function planStream(dialog: StreamDialog, msg: Record<string, unknown>, raw: unknown, limits: StreamLimits, ctx: ValidationContext): StreamPlan {
  const a = msg.alltalk && typeof msg.alltalk === 'object' && !Array.isArray(msg.alltalk) ? (msg.alltalk as Record<string, unknown>) : {};
  const output = chooseOutput(dialog.output, a.output, STREAM_OUTPUTS, 'chunks');
  const voice = first(dialog.voice, a.voice, a.character_voice_gen, msg.voice);
  if (voice === undefined) {
    throw new AllTalkError('validation', 'No voice to stream with: choose one in the node, or send msg.voice (or msg.alltalk.voice). ' +
      'Nothing was sent to AllTalk.', { field: 'voice', allowed: 'a voice the server has' });
  }
  if (typeof voice !== 'string') {
    throw new AllTalkError('validation', `The voice is ${describeValue(voice)}: it must be a voice name. Nothing was sent to AllTalk.`, { field: 'voice', value: voice });
  }
  const language = first(dialog.language, a.language, msg.language) ?? 'en';

  const { maxCharacters, maxTotal, split } = limits;
  const text = validateText(raw, split ? Number.MAX_SAFE_INTEGER : maxCharacters);
  const length = codePoints(text);
  if (split && length > maxTotal) {
    throw new AllTalkError('validation', `The text is ${length} characters long; with "split long text" this node accepts at most ${maxTotal} ` +
      'in all (set "Longest text" in the node to change it). Nothing was sent to AllTalk.', { field: 'text', allowed: `at most ${maxTotal} characters` });
  }
  const texts = split && length > maxCharacters ? splitText(text, maxCharacters) : [text];
  const checkCtx = { ...ctx, maxCharacters };
  const requests = texts.map((t) => validateStreamParams({ text: t, voice, language: language as string, output_file: 'stream_output' }, checkCtx));

  let filePath: string | undefined;
  if (output === 'file') {
    const f = first(dialog.filePath, msg.filename);
    if (typeof f !== 'string') {
      throw new AllTalkError('validation', 'Output "file" needs a path: set it in the node or in msg.filename. Nothing was sent to AllTalk.',
        { field: 'filename', allowed: 'a file or folder path' });
    }
    filePath = f.trim();
  }
  return { requests, output, filePath };
}
