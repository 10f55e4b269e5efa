/**
 * Parameter parsing and validation as FastAPI + pydantic v2 do it for the AllTalk routes:
 * typed form/query fields (E1 422 entries), and the `JSONInput` model of /api/tts-generate whose
 * failures the server reports as E4 `{"error":"field: description\n..."}`.
 */
import type { ValidationIssue } from './replies';
import { pyLength } from './text-processing';

export type FieldType = 'str' | 'float' | 'bool';

export interface FieldSpec {
  name: string;
  type: FieldType;
  required?: boolean;
}

export type FieldValue = string | number | boolean;

const TRUE_WORDS = ['1', 'on', 't', 'true', 'y', 'yes'];
const FALSE_WORDS = ['0', 'off', 'f', 'false', 'n', 'no'];

/** pydantic's lax str → bool: true/false, 1/0, yes/no, on/off, t/f, y/n in any case. */
export function parsePydanticBool(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  if (TRUE_WORDS.includes(lower)) return true;
  if (FALSE_WORDS.includes(lower)) return false;
  return undefined;
}

/** pydantic's lax str → float (decimal and exponent forms, inf and nan). */
export function parsePydanticFloat(text: string): number | undefined {
  const t = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  const lower = t.toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(lower)) return NaN;
  return undefined;
}

export function missingIssue(loc: Array<string | number>, input: unknown = null): ValidationIssue {
  return { type: 'missing', loc, msg: 'Field required', input };
}

export function floatIssue(loc: Array<string | number>, input: unknown): ValidationIssue {
  return { type: 'float_parsing', loc, msg: 'Input should be a valid number, unable to parse string as a number', input };
}

export function boolIssue(loc: Array<string | number>, input: unknown): ValidationIssue {
  return { type: 'bool_parsing', loc, msg: 'Input should be a valid boolean, unable to interpret input', input };
}

export function stringTypeIssue(loc: Array<string | number>, input: unknown): ValidationIssue {
  return { type: 'string_type', loc, msg: 'Input should be a valid string', input };
}

export interface ParsedFields {
  values: Record<string, FieldValue | undefined>;
  issues: ValidationIssue[];
}

/**
 * Parses typed parameters from form fields or a query string. For form fields an empty string
 * counts as "not sent" (FastAPI's rule); for query parameters it is a value.
 */
export function parseFields(
  source: Record<string, string>,
  specs: readonly FieldSpec[],
  where: 'body' | 'query',
): ParsedFields {
  const values: Record<string, FieldValue | undefined> = {};
  const issues: ValidationIssue[] = [];
  for (const spec of specs) {
    const raw = Object.prototype.hasOwnProperty.call(source, spec.name) ? source[spec.name] : undefined;
    const absent = raw === undefined || (where === 'body' && raw === '');
    if (absent) {
      if (spec.required) issues.push(missingIssue([where, spec.name]));
      values[spec.name] = undefined;
      continue;
    }
    if (spec.type === 'str') {
      values[spec.name] = raw;
    } else if (spec.type === 'float') {
      const n = parsePydanticFloat(raw);
      if (n === undefined) issues.push(floatIssue([where, spec.name], raw));
      values[spec.name] = n;
    } else {
      const b = parsePydanticBool(raw);
      if (b === undefined) issues.push(boolIssue([where, spec.name], raw));
      values[spec.name] = b;
    }
  }
  return { values, issues };
}

/** The form fields of POST /api/tts-generate, in the order FastAPI reports them. */
export const TTS_GENERATE_FIELDS: readonly FieldSpec[] = [
  { name: 'text_input', type: 'str', required: true },
  { name: 'text_filtering', type: 'str' },
  { name: 'character_voice_gen', type: 'str' },
  { name: 'rvccharacter_voice_gen', type: 'str' },
  { name: 'rvccharacter_pitch', type: 'float' },
  { name: 'narrator_enabled', type: 'str' },
  { name: 'narrator_voice_gen', type: 'str' },
  { name: 'rvcnarrator_voice_gen', type: 'str' },
  { name: 'rvcnarrator_pitch', type: 'float' },
  { name: 'text_not_inside', type: 'str' },
  { name: 'language', type: 'str' },
  { name: 'output_file_name', type: 'str' },
  { name: 'output_file_timestamp', type: 'bool' },
  { name: 'autoplay', type: 'bool' },
  { name: 'autoplay_volume', type: 'float' },
  { name: 'streaming', type: 'bool' },
  { name: 'speed', type: 'float' },
  { name: 'temperature', type: 'float' },
  { name: 'repetition_penalty', type: 'float' },
  { name: 'pitch', type: 'float' },
];

/** The merged parameters of a /api/tts-generate request (request value, else the server default). */
export interface TtsParams {
  text_filtering: string;
  character_voice_gen: string;
  rvccharacter_voice_gen: string;
  rvccharacter_pitch: number;
  narrator_enabled: string;
  narrator_voice_gen: string;
  rvcnarrator_voice_gen: string;
  rvcnarrator_pitch: number;
  text_not_inside: string;
  language: string;
  output_file_name: string;
  output_file_timestamp: boolean;
  autoplay: boolean;
  autoplay_volume: number;
  speed: number;
  pitch: number;
  temperature: number;
  repetition_penalty: number;
}

export const TTS_LANGUAGE_PATTERN = /^(auto|ar|zh-cn|zh|cs|nl|en|fr|de|hu|hi|it|ja|ko|pl|pt|ru|es|tr)$/;

/** The fixed `description` of each JSONInput field: the server reports it instead of pydantic's message. */
export function ttsFieldDescription(field: string, maxCharacters: number): string {
  const descriptions: Record<string, string> = {
    text_input: `text_input needs to be ${maxCharacters} characters or less.`,
    text_filtering: "text_filtering needs to be 'none', 'standard' or 'html'.",
    character_voice_gen: 'character_voice_gen needs to be the name of a valid voice for the loaded TTS engine.',
    rvccharacter_voice_gen:
      "rvccharacter_voice_gen needs to be the name of a valid pth file in the 'folder\\file.pth' format or the word 'Disabled'.",
    rvccharacter_pitch: 'RVC Character pitch needs to be a number between -24 and 24',
    narrator_enabled: "narrator_enabled needs to be 'true', 'false' or 'silent'.",
    // The server's model reuses the character description for the narrator voice.
    narrator_voice_gen: 'character_voice_gen needs to be the name of a valid voice for the loaded TTS engine.',
    rvcnarrator_voice_gen:
      "rvcnarrator_voice_gen needs to be the name of a valid pth file in the 'folder\\file.pth' format or the word 'Disabled'.",
    rvcnarrator_pitch: 'RVC Narrator pitch needs to be a number between -24 and 24',
    text_not_inside: "text_not_inside needs to be 'character', 'narrator' or 'silent'.",
    language:
      'language needs to be one of the following: auto, ar, zh-cn, zh, cs, nl, en, fr, de, hu, hi, it, ja, ko, pl, pt, ru, es, tr.',
    output_file_name:
      "output_file_name needs to be the name without any special characters or file extension, e.g., 'filename'.",
    output_file_timestamp: 'output_file_timestamp needs to be true or false.',
    autoplay: 'autoplay needs to be a true or false value.',
    autoplay_volume: 'autoplay_volume needs to be from 0.1 to 1.0.',
    speed: 'speed needs to be between 0.25 and 2.0.',
    pitch: 'pitch needs to be between -10 and 10.',
    temperature: 'temperature needs to be between 0.1 and 1.0.',
    repetition_penalty: 'repetition_penalty needs to be between 1.0 and 20.0.',
  };
  return descriptions[field] ?? field;
}

function inRange(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && value >= min && value <= max;
}

function matches(value: unknown, pattern: RegExp): boolean {
  return typeof value === 'string' && pattern.test(value);
}

export interface TtsValidationOptions {
  maxCharacters: number;
  /** Also enforce the documented −24..24 range of the RVC pitches. */
  checkRvcPitch: boolean;
}

/**
 * Validates the merged parameters like `JSONInput(**data)`. Returns the E4 message (one
 * "field: description" line per failing field, in model order) or null when valid.
 */
export function validateTtsParams(textInput: string, p: TtsParams, opts: TtsValidationOptions): string | null {
  const voicePattern = /^[^<>"|?*]+$/;
  const failing: string[] = [];
  const check = (field: string, ok: boolean): void => {
    if (!ok) failing.push(field);
  };
  check('text_input', pyLength(textInput) <= opts.maxCharacters);
  check('text_filtering', matches(p.text_filtering, /^(none|standard|html)$/));
  check('character_voice_gen', matches(p.character_voice_gen, voicePattern));
  check('rvccharacter_voice_gen', typeof p.rvccharacter_voice_gen === 'string');
  check(
    'rvccharacter_pitch',
    typeof p.rvccharacter_pitch === 'number' && (!opts.checkRvcPitch || inRange(p.rvccharacter_pitch, -24, 24)),
  );
  check('narrator_enabled', matches(p.narrator_enabled, /^(true|false|silent)$/));
  check('narrator_voice_gen', matches(p.narrator_voice_gen, voicePattern));
  check('rvcnarrator_voice_gen', typeof p.rvcnarrator_voice_gen === 'string');
  check(
    'rvcnarrator_pitch',
    typeof p.rvcnarrator_pitch === 'number' && (!opts.checkRvcPitch || inRange(p.rvcnarrator_pitch, -24, 24)),
  );
  check('text_not_inside', matches(p.text_not_inside, /^(character|narrator|silent)$/));
  check('language', matches(p.language, TTS_LANGUAGE_PATTERN));
  check('output_file_name', matches(p.output_file_name, /^[a-zA-Z0-9_]+$/));
  check('output_file_timestamp', typeof p.output_file_timestamp === 'boolean');
  check('autoplay', typeof p.autoplay === 'boolean');
  check('autoplay_volume', inRange(p.autoplay_volume, 0.1, 1.0));
  check('speed', inRange(p.speed, 0.25, 2.0));
  check('pitch', inRange(p.pitch, -10, 10));
  check('temperature', inRange(p.temperature, 0.1, 1.0));
  check('repetition_penalty', inRange(p.repetition_penalty, 1.0, 20.0));
  if (failing.length === 0) return null;
  return failing.map((f) => `${f}: ${ttsFieldDescription(f, opts.maxCharacters)}`).join('\n');
}

/**
 * Validates a JSON body against a model of required string fields, as FastAPI does for a
 * pydantic body parameter. Returns the E1 issues (empty when valid).
 */
export function validateStringModel(
  body: { jsonParsed: boolean; json?: unknown; raw: string; isJsonContentType: boolean },
  fields: readonly string[],
): ValidationIssue[] {
  if (body.raw.length === 0) return [missingIssue(['body'])];
  if (body.isJsonContentType && !body.jsonParsed) {
    return [
      {
        type: 'json_invalid',
        loc: ['body', 0],
        msg: 'JSON decode error',
        input: {},
        ctx: { error: 'Expecting value' },
      },
    ];
  }
  const value = body.isJsonContentType ? body.json : body.raw;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: value,
      },
    ];
  }
  const record = value as Record<string, unknown>;
  const issues: ValidationIssue[] = [];
  for (const f of fields) {
    if (!(f in record)) issues.push(missingIssue(['body', f], record));
    else if (typeof record[f] !== 'string') issues.push(stringTypeIssue(['body', f], record[f]));
  }
  return issues;
}
