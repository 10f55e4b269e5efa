/**
 * Checks requests against the server's rules (rules.ts) before anything is sent, and turns them
 * into exactly what the server parses: form fields as strings, booleans as lowercase words,
 * unset fields left out.
 */
import { AllTalkError, describeValue, validationError } from './errors';
import {
  DEFAULT_MAX_CHARACTERS,
  describeRule,
  type FieldRule,
  LANGUAGES,
  OPENAI_FORMATS,
  OPENAI_MAX_CHARACTERS,
  OPENAI_SPEED,
  OPENAI_VOICES,
  PLACEHOLDER_VOICES,
  TTS_GENERATE_FIELDS,
  TTS_GENERATE_RULES,
  type TtsGenerateField,
} from './rules';
import type { CurrentSettings, OpenAiSpeechParams, OpenAiVoiceMap, StreamParams } from './types';

export interface ValidationContext {
  /** The server's `api_max_characters` (default 2000). */
  maxCharacters?: number;
  /** The loaded engine's settings: fields it is not capable of are refused. */
  settings?: CurrentSettings;
  /** The server's voice list: when known (non-empty), voices must be in it. */
  voices?: readonly string[];
  /** The server's RVC voice list: when known, RVC voices must be in it. */
  rvcVoices?: readonly string[];
  /** Where each field's value came from ("dialog", "msg.alltalk.speed"...), for errors that say how to fix it. */
  sources?: Partial<Record<string, string>>;
}

export type FormFields = Record<string, string>;

/** True for the entries /api/voices lists that are not voices. */
export function isPlaceholderVoice(name: string): boolean {
  return (PLACEHOLDER_VOICES as readonly string[]).includes(name);
}

/** Checks the text to speak: a non-empty string (numbers and booleans converted) within the limit. */
export function validateText(value: unknown, maxCharacters = DEFAULT_MAX_CHARACTERS, field = 'text'): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'boolean') text = String(value);
  else {
    throw validationError(field, value, 'text (a string, number or boolean)',
      `The text to speak must be a string, but ${describeValue(value)} was received. Nothing was sent to AllTalk.`);
  }
  // Half a surrogate pair cannot be sent as UTF-8: it becomes U+FFFD, as a form encoder would make it.
  text = wellFormed(text);
  if (!text.trim()) {
    throw validationError(field, value, 'non-empty text',
      'The text to speak is empty (or only white space). Nothing was sent to AllTalk.');
  }
  // The server counts characters as Python does: code points, not UTF-16 units (never more of
  // them than units, so a text no longer than the limit in units needs no counting).
  const length = text.length > maxCharacters ? codePoints(text) : text.length;
  if (length > maxCharacters) {
    throw validationError(field, `${length} characters`, `at most ${maxCharacters} characters`,
      `The text is ${length} characters long; AllTalk accepts at most ${maxCharacters}. ` +
        'Shorten it, or turn on "split long text". Nothing was sent to AllTalk.');
  }
  return text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Any half of a surrogate pair, paired or not: a text without one (the usual case) is left as it is. */
const SURROGATE = /[\uD800-\uDFFF]/;

/** The text with every half of a surrogate pair replaced by U+FFFD. */
export function wellFormed(text: string): string {
  return SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

/** Length in Unicode code points (what Python's len() gives). */
export function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function toNumber(rule: FieldRule, value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim().replace(',', '.')) : NaN;
  if (!Number.isFinite(n)) throw validationError(rule.field, value, describeRule(rule));
  if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) {
    throw validationError(rule.field, value, describeRule(rule));
  }
  return n;
}

function toBoolean(rule: FieldRule, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  throw validationError(rule.field, value, describeRule(rule));
}

function toEnum(rule: FieldRule, value: unknown): string {
  const v = typeof value === 'boolean' ? String(value) : typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (v === undefined || !(rule.values ?? []).includes(v)) throw validationError(rule.field, value, describeRule(rule));
  return v;
}

function toText(rule: FieldRule, value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw validationError(rule.field, value, describeRule(rule));
  const v = String(value).trim();
  if (rule.pattern && !rule.pattern.test(v)) throw validationError(rule.field, value, describeRule(rule));
  return v;
}

/** Checks one field against its rule and returns the form value the server parses. */
export function formValue(field: TtsGenerateField, value: unknown): string {
  const rule: FieldRule = TTS_GENERATE_RULES[field];
  switch (rule.type) {
    case 'number':
      return String(toNumber(rule, value));
    case 'boolean':
      return String(toBoolean(rule, value));
    case 'enum':
      return toEnum(rule, value);
    default:
      return toText(rule, value);
  }
}

function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function knownList(list: readonly string[] | undefined): string[] | undefined {
  const real = (list ?? []).filter((v) => !isPlaceholderVoice(v));
  return real.length ? real : undefined;
}

const VOICE_FIELDS = ['character_voice_gen', 'narrator_voice_gen'] as const;
const RVC_VOICE_FIELDS = ['rvccharacter_voice_gen', 'rvcnarrator_voice_gen'] as const;

/**
 * Checks a /api/tts-generate request and returns its form fields. Unset fields (undefined,
 * null, blank) are left out so the server uses its defaults.
 */
export function validateTtsGenerate(params: Record<string, unknown>, ctx: ValidationContext = {}): FormFields {
  const form: FormFields = { text_input: validateText(params.text_input, ctx.maxCharacters ?? DEFAULT_MAX_CHARACTERS, 'text_input') };
  for (const key of Object.keys(params)) {
    if (key !== 'text_input' && !(key in TTS_GENERATE_RULES)) {
      throw new AllTalkError('validation', `${key} is not a field of /api/tts-generate. Nothing was sent to AllTalk.`, { field: key });
    }
  }
  for (const field of TTS_GENERATE_FIELDS) {
    const value = params[field];
    if (isUnset(value)) continue;
    const rule: FieldRule = TTS_GENERATE_RULES[field];
    const v = formValue(field, value);
    if (ctx.settings && rule.capability && ctx.settings[rule.capability] !== true) {
      const where = ctx.sources?.[field];
      const fix = where === 'dialog' ? `Clear the ${rule.label} field in the node's dialog (it is kept from an engine that could use it)`
        : where ? `Remove ${where} from the message` : 'Leave it blank';
      throw new AllTalkError(
        'validation',
        `${field} cannot be used: the loaded engine "${ctx.settings.current_engine_loaded}" does not support it ` +
          `(${rule.capability} is false). ${fix}. Nothing was sent to AllTalk.`,
        { field, value, allowed: `nothing (${rule.capability} is false)` },
      );
    }
    form[field] = v;
  }
  // The server's lists are looked at only for a form that names a voice.
  if (form.character_voice_gen !== undefined || form.narrator_voice_gen !== undefined) checkVoices(form, knownList(ctx.voices));
  if (form.rvccharacter_voice_gen !== undefined || form.rvcnarrator_voice_gen !== undefined) checkRvcVoices(form, ctx.rvcVoices);
  return form;
}

function checkVoices(form: FormFields, voices: string[] | undefined): void {
  for (const field of VOICE_FIELDS) {
    if (form[field] !== undefined && voices && !voices.includes(form[field])) {
      throw validationError(field, form[field], `a voice the server has (${listPreview(voices)})`,
        `${field} "${form[field]}" is not one of the server's voices (${listPreview(voices)}). ` +
          'Refresh the voice list if it was added recently. Nothing was sent to AllTalk.');
    }
  }
}

function checkRvcVoices(form: FormFields, rvcVoices: readonly string[] | undefined): void {
  const rvc = rvcVoices && rvcVoices.length ? rvcVoices : undefined;
  for (const field of RVC_VOICE_FIELDS) {
    const v = form[field];
    if (v !== undefined && !isRvcDisabled(v) && rvc && !rvc.includes(v)) {
      throw validationError(field, v, `Disabled or an RVC voice the server has (${listPreview(rvc)})`,
        rvc.length === 1
          ? `${field} "${v}" cannot be used: RVC is turned off on the server or it has no RVC voices. Nothing was sent to AllTalk.`
          : undefined);
    }
  }
}

/** The server turns RVC off for "Disabled" or "Disable" in any case. */
export function isRvcDisabled(voice: string): boolean {
  const v = voice.trim().toLowerCase();
  return v === 'disabled' || v === 'disable';
}

function listPreview(list: readonly string[]): string {
  return list.length > 6 ? `${list.slice(0, 6).join(', ')}, … ${list.length} in all` : list.join(', ');
}

/** Checks a GET /api/tts-generate-streaming request (the server checks none of it). */
export function validateStreamParams(params: Partial<StreamParams>, ctx: ValidationContext = {}): Required<StreamParams> {
  const text = validateText(params.text, ctx.maxCharacters ?? DEFAULT_MAX_CHARACTERS);
  const voice = toText({ ...TTS_GENERATE_RULES.character_voice_gen, field: 'voice' }, params.voice ?? '');
  const language = toEnum(TTS_GENERATE_RULES.language, params.language ?? 'en');
  const voices = knownList(ctx.voices);
  if (voices && !voices.includes(voice)) {
    throw validationError('voice', voice, `a voice the server has (${listPreview(voices)})`,
      `The voice "${voice}" is not one of the server's voices (${listPreview(voices)}). The server would start the stream ` +
        'and then cut it off. Refresh the voice list if it was added recently. Nothing was sent to AllTalk.');
  }
  if (ctx.settings && ctx.settings.streaming_capable !== true) {
    throw new AllTalkError('validation',
      `The loaded engine "${ctx.settings.current_engine_loaded}" cannot stream (streaming_capable is false): only XTTS with an ` +
        '"xtts - …" model streams. Use alltalk-tts for this engine. Nothing was sent to AllTalk.',
      { field: 'streaming', allowed: 'an engine with streaming_capable' });
  }
  if (ctx.settings?.current_model_loaded?.startsWith('apitts')) {
    throw new AllTalkError('validation',
      `The loaded model "${ctx.settings.current_model_loaded}" cannot stream: load an "xtts - …" model (alltalk-control, ` +
        'load-model), or use alltalk-tts. Nothing was sent to AllTalk.',
      { field: 'streaming', allowed: 'an xtts model' });
  }
  const outputFile = params.output_file === undefined || params.output_file === '' ? 'stream_output' : String(params.output_file);
  return { text, voice, language, output_file: outputFile };
}

/** Checks a /v1/audio/speech request fully (the real server answers every mistake with a bare 500). */
export function validateOpenAiSpeech(params: Partial<OpenAiSpeechParams>): Required<OpenAiSpeechParams> {
  const input = validateText(params.input, OPENAI_MAX_CHARACTERS, 'input');
  const voice = params.voice;
  if (typeof voice !== 'string' || !(OPENAI_VOICES as readonly string[]).includes(voice)) {
    throw validationError('voice', voice, `one of ${OPENAI_VOICES.join(', ')} (lower case)`);
  }
  const format = params.response_format === undefined || params.response_format === '' ? 'wav' : String(params.response_format).toLowerCase();
  if (!(OPENAI_FORMATS as readonly string[]).includes(format)) {
    throw validationError('response_format', params.response_format, `one of ${OPENAI_FORMATS.join(', ')}`);
  }
  let speed = 1.0;
  if (!isUnset(params.speed)) {
    speed = toNumber({ field: 'speed', type: 'number', label: 'speed', min: OPENAI_SPEED.min, max: OPENAI_SPEED.max, enforced: true }, params.speed);
  }
  const model = typeof params.model === 'string' && params.model.trim() ? params.model.trim() : 'tts-1';
  return { model, input, voice, response_format: format, speed };
}

/** Checks a voice map for PUT /api/openai-voicemap: all six keys, each a voice the server has. */
export function validateOpenAiVoiceMap(map: unknown, ctx: ValidationContext = {}): OpenAiVoiceMap {
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw validationError('voicemap', map, `an object with the keys ${OPENAI_VOICES.join(', ')}`);
  }
  const voices = knownList(ctx.voices);
  const out: Partial<OpenAiVoiceMap> = {};
  for (const key of OPENAI_VOICES) {
    const v = (map as Record<string, unknown>)[key];
    if (typeof v !== 'string' || !v.trim()) throw validationError(key, v, 'a voice name (all six OpenAI voices must be mapped)');
    if (voices && !voices.includes(v)) throw validationError(key, v, `a voice the server has (${listPreview(voices)})`);
    out[key] = v;
  }
  return out as OpenAiVoiceMap;
}

export function validateLanguage(value: unknown): string {
  return toEnum({ field: 'language', type: 'enum', label: 'language', values: LANGUAGES, enforced: true }, value);
}
