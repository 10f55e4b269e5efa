/**
 * The AllTalk server's own validation rules, in one table. The client checks requests against
 * it before sending, the nodes use it for their per-message checks and the editor gets it (as
 * JSON through an admin route) for its fields, so the three never disagree.
 *
 * Source: tts_server.py `JSONInput` (/api/tts-generate) and `OpenAIInput` (/v1/audio/speech).
 * `enforced: false` marks rules the server documents but does not check (RVC pitch); we check
 * them anyway, because the server would otherwise accept a value and do something odd with it.
 */
import { HEADER_RULES } from './request-headers';
import type { CurrentSettings } from './types';

export const LANGUAGES = [
  'auto', 'ar', 'zh-cn', 'zh', 'cs', 'nl', 'en', 'fr', 'de', 'hu', 'hi', 'it', 'ja', 'ko', 'pl', 'pt', 'ru', 'es', 'tr',
] as const;
export type Language = (typeof LANGUAGES)[number];

/** The default `api_max_characters` of /api/tts-generate (fixed when the server starts). */
export const DEFAULT_MAX_CHARACTERS = 2000;
/** `OpenAIInput.input` max_length. */
export const OPENAI_MAX_CHARACTERS = 4096;
export const OPENAI_VOICES = ['alloy', 'echo', 'fable', 'nova', 'onyx', 'shimmer'] as const;
export type OpenAiVoice = (typeof OPENAI_VOICES)[number];
/** Formats /v1/audio/speech can transcode to (`pcm` is not supported by the server). */
export const OPENAI_FORMATS = ['wav', 'mp3', 'opus', 'aac', 'flac', 'ogg', 'm4a'] as const;
export type OpenAiFormat = (typeof OPENAI_FORMATS)[number];
export const OPENAI_SPEED = { min: 0.25, max: 4.0 } as const;

/** Entries /api/voices may list that are not voices. */
export const PLACEHOLDER_VOICES = ['No Voices Found', 'Please Refresh Settings'] as const;
/** Entries /api/currentsettings may list in models_available that are not models. */
export const PLACEHOLDER_MODELS = ['No Models Available', 'No Models Found'] as const;

type CapabilityFlag = {
  [K in keyof CurrentSettings]: CurrentSettings[K] extends boolean ? K : never;
}[keyof CurrentSettings];

export interface FieldRule {
  /** The form field name of /api/tts-generate. */
  field: string;
  type: 'string' | 'number' | 'boolean' | 'enum';
  /** Human-readable description used in error messages. */
  label: string;
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** What the pattern allows, in words. */
  patternText?: string;
  values?: readonly string[];
  /** The `*_capable` flag of /api/currentsettings this field needs. */
  capability?: CapabilityFlag;
  /** False when the server documents the rule but does not check it. */
  enforced: boolean;
}

const VOICE_NAME = /^[^<>"|?*]+$/;
const VOICE_NAME_TEXT = 'a voice name without < > " | ? *';

/** Every optional field of POST /api/tts-generate (text_input is checked on its own). */
export const TTS_GENERATE_RULES = {
  text_filtering: { field: 'text_filtering', type: 'enum', label: 'text filtering', values: ['none', 'standard', 'html'], enforced: true },
  character_voice_gen: {
    field: 'character_voice_gen', type: 'string', label: 'character voice', pattern: VOICE_NAME,
    patternText: VOICE_NAME_TEXT, capability: 'multivoice_capable', enforced: true,
  },
  rvccharacter_voice_gen: { field: 'rvccharacter_voice_gen', type: 'string', label: 'RVC character voice', enforced: false },
  rvccharacter_pitch: { field: 'rvccharacter_pitch', type: 'number', label: 'RVC character pitch', min: -24, max: 24, enforced: false },
  narrator_enabled: { field: 'narrator_enabled', type: 'enum', label: 'narrator', values: ['true', 'false', 'silent'], enforced: true },
  narrator_voice_gen: {
    field: 'narrator_voice_gen', type: 'string', label: 'narrator voice', pattern: VOICE_NAME,
    patternText: VOICE_NAME_TEXT, capability: 'multivoice_capable', enforced: true,
  },
  rvcnarrator_voice_gen: { field: 'rvcnarrator_voice_gen', type: 'string', label: 'RVC narrator voice', enforced: false },
  rvcnarrator_pitch: { field: 'rvcnarrator_pitch', type: 'number', label: 'RVC narrator pitch', min: -24, max: 24, enforced: false },
  text_not_inside: { field: 'text_not_inside', type: 'enum', label: 'text not inside quotes or asterisks', values: ['character', 'narrator', 'silent'], enforced: true },
  language: { field: 'language', type: 'enum', label: 'language', values: LANGUAGES, capability: 'languages_capable', enforced: true },
  output_file_name: {
    field: 'output_file_name', type: 'string', label: 'output file name', pattern: /^[a-zA-Z0-9_]+$/,
    patternText: 'letters, digits and _ only', enforced: true,
  },
  output_file_timestamp: { field: 'output_file_timestamp', type: 'boolean', label: 'output file timestamp', enforced: true },
  autoplay: { field: 'autoplay', type: 'boolean', label: 'autoplay on the server', enforced: true },
  autoplay_volume: { field: 'autoplay_volume', type: 'number', label: 'autoplay volume', min: 0.1, max: 1.0, enforced: true },
  speed: { field: 'speed', type: 'number', label: 'speed', min: 0.25, max: 2.0, capability: 'generationspeed_capable', enforced: true },
  pitch: { field: 'pitch', type: 'number', label: 'pitch', min: -10, max: 10, capability: 'pitch_capable', enforced: true },
  temperature: { field: 'temperature', type: 'number', label: 'temperature', min: 0.1, max: 1.0, capability: 'temperature_capable', enforced: true },
  repetition_penalty: {
    field: 'repetition_penalty', type: 'number', label: 'repetition penalty', min: 1.0, max: 20.0,
    capability: 'repetitionpenalty_capable', enforced: true,
  },
} as const satisfies Record<string, FieldRule>;

export type TtsGenerateField = keyof typeof TTS_GENERATE_RULES;
export const TTS_GENERATE_FIELDS = Object.keys(TTS_GENERATE_RULES) as TtsGenerateField[];

/** Turns any text into a valid `output_file_name` (`[a-zA-Z0-9_]`, never empty). */
export function sanitizeOutputFileName(name: string, fallback = 'alltalk'): string {
  const cleaned = String(name)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\.(wav|mp3|ogg|opus|flac|aac|m4a)$/i, '')
    .replace(/[^a-zA-Z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 100);
  return cleaned || fallback;
}

/** A plain description of what a rule allows, for error messages and the editor. */
export function describeRule(rule: FieldRule): string {
  switch (rule.type) {
    case 'enum':
      return `one of ${(rule.values ?? []).join(', ')}`;
    case 'number':
      return `a number from ${rule.min} to ${rule.max}`;
    case 'boolean':
      return 'true or false';
    default:
      return rule.patternText ?? 'text';
  }
}

/** The rules as plain JSON (RegExps as source strings), for the editor. */
export function rulesForEditor(): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(TTS_GENERATE_RULES) as [string, FieldRule][]) {
    fields[name] = { ...rule, pattern: rule.pattern?.source, allowed: describeRule(rule) };
  }
  return {
    ttsGenerate: fields,
    languages: LANGUAGES,
    defaultMaxCharacters: DEFAULT_MAX_CHARACTERS,
    openai: { maxCharacters: OPENAI_MAX_CHARACTERS, voices: OPENAI_VOICES, formats: OPENAI_FORMATS, speed: OPENAI_SPEED },
    headers: HEADER_RULES,
  };
}
