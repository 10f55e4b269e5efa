/**
 * Text handling of /api/tts-generate as the server does it: the `none` / `standard` / `html`
 * filters (with the default `api_allowed_filter` of confignew.json) and `language=auto` detection.
 */

/** Default `api_def.api_allowed_filter`: every character NOT allowed in text sent to the engine. */
export const API_ALLOWED_FILTER =
  // eslint-disable-next-line no-misleading-character-class -- the server's filter lists code point ranges
  /[^a-zA-Z0-9\s.,;:!?\-'"$\u0400-\u04FF\u00C0-\u017F\u0150\u0151\u0170\u0171\u011E\u011F\u0130\u0131\u0900-\u097F\u2018\u2019\u201C\u201D\u3001\u3002\u3040-\u309F\u30A0-\u30FF\u4E00-\u9FFF\u3400-\u4DBF\uF900-\uFAFF\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF\uAC00-\uD7A3\u1100-\u11FF\u3130-\u318F\uFF01\uFF0c\uFF1A\uFF1B\uFF1F]/g;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  hellip: '\u2026',
  mdash: '\u2014',
  ndash: '\u2013',
  lsquo: '\u2018',
  rsquo: '\u2019',
  ldquo: '\u201c',
  rdquo: '\u201d',
  copy: '\u00a9',
  reg: '\u00ae',
  eacute: '\u00e9',
  egrave: '\u00e8',
  agrave: '\u00e0',
  uuml: '\u00fc',
  ouml: '\u00f6',
  auml: '\u00e4',
  szlig: '\u00df',
};

/** Python's html.unescape for numeric references and the common named entities. */
export function htmlUnescape(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);?/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        return '\ufffd';
      }
      return String.fromCodePoint(code);
    }
    const named = NAMED_ENTITIES[ref];
    return named ?? whole;
  });
}

/** `standard_filtering()`: strips asterisks, halves double newlines, decodes &#x27;. */
export function standardFiltering(text: string): string {
  return text.replaceAll('***', '').replaceAll('**', '').replaceAll('*', '').replaceAll('\n\n', '\n').replaceAll('&#x27;', "'");
}

export type TextFiltering = 'none' | 'standard' | 'html';

/** `tts_clean_text()` of the server. */
export function cleanText(text: string, filtering: string): string {
  let cleaned: string;
  if (filtering === 'html') cleaned = htmlUnescape(standardFiltering(text));
  else if (filtering === 'standard') cleaned = text;
  else return text;
  cleaned = cleaned.replace(/([!?.])\1+/g, '$1');
  cleaned = cleaned.replace(API_ALLOWED_FILTER, '');
  cleaned = cleaned.replace(/\n+/g, ' ');
  return cleaned;
}

/** The text cleaning /v1/audio/speech applies (no allowed-character filter). */
export function openAiCleanText(text: string): string {
  return htmlUnescape(standardFiltering(text));
}

export class LanguageDetectionError extends Error {
  constructor() {
    super('Could not detect language');
    this.name = 'LanguageDetectionError';
  }
}

const STOP_WORDS: ReadonlyArray<[string, readonly string[]]> = [
  ['de', ['der', 'die', 'das', 'und', 'ist', 'nicht', 'ich', 'ein', 'eine', 'mit']],
  ['fr', ['le', 'la', 'les', 'est', 'et', 'une', 'des', 'je', 'pas', 'vous', 'bonjour']],
  ['es', ['el', 'los', 'las', 'es', 'y', 'que', 'una', 'por', 'hola', 'con']],
  ['it', ['il', 'di', 'che', 'sono', 'una', 'gli', 'ciao', 'della', 'questo']],
  ['nl', ['het', 'een', 'en', 'niet', 'ik', 'van', 'dat', 'zijn', 'hallo']],
  ['pt', ['os', 'uma', 'não', 'você', 'olá', 'obrigado', 'com', 'para']],
  ['pl', ['jest', 'nie', 'się', 'to', 'dzień', 'dobry', 'jak']],
  ['en', ['the', 'and', 'is', 'are', 'you', 'this', 'that', 'of', 'to', 'hello']],
];

/**
 * A stand-in for langdetect: the script decides for non-Latin text, stop words for Latin text,
 * English otherwise. Text without any letter cannot be detected (ValueError on the server).
 */
export function detectLanguage(text: string): string {
  if (!/\p{L}/u.test(text)) throw new LanguageDetectionError();
  if (/[\u3040-\u30ff]/.test(text)) return 'ja';
  if (/[\uac00-\ud7a3\u1100-\u11ff]/.test(text)) return 'ko';
  if (/[\u4e00-\u9fff\u3400-\u4dbf]/.test(text)) return 'zh-cn';
  if (/[\u0400-\u04ff]/.test(text)) return 'ru';
  if (/[\u0600-\u06ff\u0750-\u077f]/.test(text)) return 'ar';
  if (/[\u0900-\u097f]/.test(text)) return 'hi';
  const words = text.toLowerCase().split(/[^\p{L}]+/u).filter(Boolean);
  let best = 'en';
  let bestScore = 0;
  for (const [language, list] of STOP_WORDS) {
    const score = words.filter((w) => list.includes(w)).length;
    if (score > bestScore) {
      best = language;
      bestScore = score;
    }
  }
  return best;
}

/** Number of characters as Python counts them (code points). */
export function pyLength(text: string): number {
  return Array.from(text).length;
}
