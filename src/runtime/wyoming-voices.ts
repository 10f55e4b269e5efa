/**
 * AllTalk's voices as Wyoming voices. Home Assistant lists voices per language and sends only a
 * voice's name with a request (never its language), so each (voice, language) the engine can speak
 * is one Wyoming voice whose name carries both: `<voice>@<language>` (`female_01.wav@de`). An engine
 * that detects languages (XTTS) speaks all of AllTalk's languages with every voice; one that does
 * not (Piper) speaks each voice in the language its name starts with (`de_DE-thorsten…` is German),
 * else English, AllTalk's default.
 */
import { AllTalkError } from '../api/errors';
import { LANGUAGES } from '../api/rules';
import type { CurrentSettings } from '../api/types';
import type { TtsVoice } from '../wyoming/events';

export const ATTRIBUTION = { name: 'AllTalk', url: 'https://github.com/erew123/alltalk_tts' };

/** The languages a voice entry may have: AllTalk's, without `auto` and the `zh` alias. */
export const SPOKEN = LANGUAGES.filter((l) => l !== 'auto' && l !== 'zh') as string[];

const LANGUAGE_NAMES: Record<string, string> = {
  ar: 'Arabic', 'zh-cn': 'Chinese', cs: 'Czech', nl: 'Dutch', en: 'English', fr: 'French', de: 'German', hu: 'Hungarian',
  hi: 'Hindi', it: 'Italian', ja: 'Japanese', ko: 'Korean', pl: 'Polish', pt: 'Portuguese', ru: 'Russian', es: 'Spanish', tr: 'Turkish',
};

/** What a request resolves to. */
export interface VoiceChoice {
  voice: string;
  language: string;
}

/** The server as the catalogue needs it. */
export interface VoiceSource {
  settings?: CurrentSettings;
  /** The voices, without placeholders. */
  voices: string[];
}

/** Whether the loaded engine takes a language (else each voice speaks its own). */
export function detectsLanguages(s: CurrentSettings | undefined): boolean {
  return s?.languages_capable === true;
}

/** The language a voice of an engine without languages speaks: from its name, else English. */
export function ownLanguage(voice: string): string {
  const file = voice.split('/').pop() ?? voice;
  const m = /^([a-z]{2,3})(?:[_-][A-Za-z]{2})?[_-]/.exec(file);
  const code = m?.[1];
  if (code === 'zh') return 'zh-cn';
  return code && SPOKEN.includes(code) ? code : 'en';
}

/** The languages a voice can be asked for. */
export function languagesOf(voice: string, s: CurrentSettings | undefined): string[] {
  return detectsLanguages(s) ? SPOKEN : [ownLanguage(voice)];
}

/** The Wyoming name of (voice, language). */
export function wyomingName(voice: string, language: string): string {
  return `${voice}@${language}`;
}

function readable(voice: string): string {
  return (voice.split('/').pop() ?? voice).replace(/\.(wav|onnx|pth)$/i, '').replace(/^voiceset:/, '');
}

/** One Wyoming voice per (voice, language), each with one language and a readable description. */
export function wyomingVoices(source: VoiceSource, version: string | null): TtsVoice[] {
  const out: TtsVoice[] = [];
  for (const voice of source.voices) {
    for (const language of languagesOf(voice, source.settings)) {
      out.push({
        name: wyomingName(voice, language),
        attribution: ATTRIBUTION,
        installed: true,
        description: `${readable(voice)} (${LANGUAGE_NAMES[language] ?? language})`,
        version,
        languages: [language],
        speakers: null,
      });
    }
  }
  return out;
}

/** The node's own voice and language: blank voice = the server's first; `auto` only where the engine detects languages. */
export function defaultChoice(source: VoiceSource, voice: string, language: string): VoiceChoice {
  const v = voice || source.voices[0];
  if (!v) throw unknown('The AllTalk server lists no voices.');
  if (!source.voices.includes(v)) throw unknown(`The node's voice "${v}" is not one of AllTalk's voices.`);
  const languages = languagesOf(v, source.settings);
  const wanted = language && language !== 'auto' ? language : detectsLanguages(source.settings) ? 'auto' : languages[0];
  return { voice: v, language: wanted === 'auto' || languages.includes(wanted) ? wanted : languages[0] };
}

/**
 * What a request's voice means: a Wyoming name (`voice@language`), or a plain AllTalk voice name
 * (its language is then the request's, else the node's); only a language: the node's voice in it;
 * nothing: the node's voice and language. An unknown voice or language is refused.
 */
export function resolveVoice(
  source: VoiceSource,
  asked: { name?: string; language?: string } | undefined,
  node: { voice: string; language: string },
): VoiceChoice {
  const base = defaultChoice(source, node.voice, node.language);
  if (!asked?.name) {
    if (!asked?.language) return base;
    return { voice: base.voice, language: checkLanguage(source, base.voice, asked.language) };
  }
  if (source.voices.includes(asked.name)) {
    const own = detectsLanguages(source.settings) ? base.language : ownLanguage(asked.name);
    return { voice: asked.name, language: asked.language ? checkLanguage(source, asked.name, asked.language) : own };
  }
  const at = asked.name.lastIndexOf('@');
  const voice = at > 0 ? asked.name.slice(0, at) : '';
  if (!source.voices.includes(voice)) throw unknown(`The voice "${asked.name}" is not one of AllTalk's voices (its list may have changed: reload the Wyoming integration in Home Assistant).`);
  return { voice, language: checkLanguage(source, voice, asked.name.slice(at + 1)) };
}

function checkLanguage(source: VoiceSource, voice: string, language: string): string {
  const wanted = language.toLowerCase() === 'zh' ? 'zh-cn' : language.toLowerCase();
  const languages = languagesOf(voice, source.settings);
  if (languages.includes(wanted)) return wanted;
  // Home Assistant's own codes (en-US, de-DE): their language part.
  const short = wanted.split(/[-_]/)[0];
  if (languages.includes(short)) return short;
  throw unknown(`The voice "${voice}" cannot speak "${language}" on this AllTalk engine (it speaks ${languages.join(', ')}).`);
}

function unknown(text: string): AllTalkError {
  return new AllTalkError('validation', text, { field: 'voice' });
}
