/**
 * How alltalk-openai turns its dialog and a message into /v1/audio/speech requests. Everything is
 * checked here, because the server answers every mistake with a bare 500. Precedence as in
 * alltalk-tts: a value set in the dialog wins; a blank field takes msg.alltalk.<field>, then the
 * short form (msg.voice, msg.format, msg.speed).
 */
import { chooseOutput } from '../../runtime/output-choice';
import { AllTalkError, describeValue } from '../../api/errors';
import { JOINABLE_FORMATS, OPENAI_NODE_FORMATS, type OpenAiNodeFormat } from '../../api/openai-audio';
import { OPENAI_MAX_CHARACTERS, OPENAI_SPEED, OPENAI_VOICES } from '../../api/rules';
import type { OpenAiSpeechParams } from '../../api/types';
import { codePoints, validateText } from '../../api/validation';
import { splitText } from '../../runtime/text-splitter';

export type SpeechOutput = 'buffer' | 'file' | 'url';

export interface OpenAiDialog {
  voice?: unknown;
  format?: unknown;
  speed?: unknown;
  model?: unknown;
  output?: unknown;
  filePath?: unknown;
}

export interface SpeechPlan {
  /** One request per part (one unless a long text was split); pcm is asked for as wav. */
  requests: Required<OpenAiSpeechParams>[];
  format: OpenAiNodeFormat;
  output: SpeechOutput;
  filePath?: string;
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function first(...values: unknown[]): unknown {
  return values.find((v) => !blank(v));
}

function refuse(field: string, value: unknown, message: string, allowed: string): AllTalkError {
  return new AllTalkError('validation', `${message} Nothing was sent to AllTalk.`, { field, value, allowed });
}

export function planSpeech(dialog: OpenAiDialog, view: Record<string, unknown>, raw: unknown, limits: { split: boolean; maxTotal: number }): SpeechPlan {
  const a = view.alltalk && typeof view.alltalk === 'object' && !Array.isArray(view.alltalk) ? (view.alltalk as Record<string, unknown>) : {};

  const voice = first(dialog.voice, a.voice, view.voice);
  if (voice === undefined) {
    throw refuse('voice', voice, `No voice: choose one of ${OPENAI_VOICES.join(', ')} in the node, or send msg.voice.`, 'an OpenAI voice');
  }
  if (typeof voice !== 'string' || !(OPENAI_VOICES as readonly string[]).includes(voice)) {
    throw refuse('voice', voice, `The voice ${describeValue(voice)} is not one of the six OpenAI voices: ${OPENAI_VOICES.join(', ')} ` +
      '(lower case, exactly as written; AllTalk maps each to one of its own voices).', OPENAI_VOICES.join(', '));
  }

  const formatRaw = first(dialog.format, a.response_format, view.format) ?? 'mp3';
  const format = (typeof formatRaw === 'string' ? formatRaw.trim().toLowerCase() : '') as OpenAiNodeFormat;
  if (!(OPENAI_NODE_FORMATS as readonly string[]).includes(format)) {
    throw refuse('format', formatRaw, `The format ${describeValue(formatRaw)} is not one of ${OPENAI_NODE_FORMATS.join(', ')}.`, OPENAI_NODE_FORMATS.join(', '));
  }

  const speedRaw = first(dialog.speed, a.speed, view.speed);
  let speed = 1.0;
  if (speedRaw !== undefined) {
    speed = typeof speedRaw === 'number' ? speedRaw : typeof speedRaw === 'string' ? Number(speedRaw.trim().replace(',', '.')) : NaN;
    if (!Number.isFinite(speed) || speed < OPENAI_SPEED.min || speed > OPENAI_SPEED.max) {
      throw refuse('speed', speedRaw, `The speed ${describeValue(speedRaw)} is out of range: it must be a number from ${OPENAI_SPEED.min} to ${OPENAI_SPEED.max}.`,
        `${OPENAI_SPEED.min} to ${OPENAI_SPEED.max}`);
    }
  }

  const modelRaw = first(dialog.model, a.model) ?? 'tts-1';
  if (typeof modelRaw !== 'string') throw refuse('model', modelRaw, `The model is ${describeValue(modelRaw)}: it must be a name such as tts-1.`, 'a name');

  const output = chooseOutput<SpeechOutput>(dialog.output, a.output, ['buffer', 'file', 'url'], 'buffer');
  let filePath: string | undefined;
  if (output === 'file') {
    const f = first(dialog.filePath, view.filename);
    if (typeof f !== 'string') throw refuse('filename', f, 'Output "file" needs a path: set it in the node or in msg.filename.', 'a file or folder path');
    filePath = f.trim();
  }

  // The length as the server counts it (code points), against its fixed limit.
  const text = validateText(raw, Number.MAX_SAFE_INTEGER, 'input');
  const length = codePoints(text);
  if (!limits.split && length > OPENAI_MAX_CHARACTERS) throw tooLong(length);
  if (limits.split && length > limits.maxTotal) {
    throw refuse('text', `${length} characters`, `The text is ${length} characters long; with "split long text" this node accepts at most ` +
      `${limits.maxTotal} in all (set "Longest text" in the node to change it).`, `at most ${limits.maxTotal} characters`);
  }
  const texts = length > OPENAI_MAX_CHARACTERS ? splitText(text, OPENAI_MAX_CHARACTERS) : [text];
  // The endpoint detects the language of every text and fails (a bare 500) when there is none to detect.
  const letterless = texts.find((t) => !/\p{L}/u.test(t));
  if (letterless !== undefined) {
    throw refuse('input', letterless, `The text ${describeValue(letterless)} has no letters, so AllTalk's OpenAI endpoint cannot detect ` +
      'its language (it would answer a bare 500). Write numbers as words, or use alltalk-tts with a language.', 'text with letters');
  }
  if (texts.length > 1 && !JOINABLE_FORMATS.includes(format)) {
    throw refuse('format', format, `The text is longer than ${OPENAI_MAX_CHARACTERS} characters and would come back in ${texts.length} ${format} files, ` +
      `which cannot be joined into one. Use ${JOINABLE_FORMATS.join(', ')}, or shorten the text.`, JOINABLE_FORMATS.join(', '));
  }
  const requests = texts.map((input) => ({
    model: modelRaw.trim() || 'tts-1',
    input,
    voice,
    response_format: format === 'pcm' ? 'wav' : format,
    speed,
  }));
  return { requests, format, output, filePath };
}

function tooLong(length: number): AllTalkError {
  return refuse('input', `${length} characters`, `The text is ${length} characters long; AllTalk's OpenAI endpoint accepts at most ` +
    `${OPENAI_MAX_CHARACTERS}. Shorten it, or turn on "split long text".`, `at most ${OPENAI_MAX_CHARACTERS} characters`);
}
