/**
 * Narrator mode of /api/tts-generate: how the raw text is split into narrator (`*…*`), character
 * (`"…"`) and "text not inside" parts, and which voice (if any) speaks each part.
 */
import { htmlUnescape } from './text-processing';

export type PartType = 'narrator' | 'character' | 'ambiguous';

export interface NarrationPart {
  type: PartType;
  text: string;
}

/** `process_text()` of the server. */
export function splitNarration(raw: string): NarrationPart[] {
  const text = htmlUnescape(raw).replace(/\.{3,}/g, '.');
  const pattern = /(\*[^*"]+\*|"[^"*]+")/g;
  const parts: NarrationPart[] = [];
  let start = 0;
  for (const match of text.matchAll(pattern)) {
    const index = match.index ?? 0;
    if (start < index) {
      const ambiguous = text.slice(start, index).trim();
      if (ambiguous) parts.push({ type: 'ambiguous', text: ambiguous });
    }
    const matched = match[0];
    if (matched.startsWith('*')) parts.push({ type: 'narrator', text: stripChars(matched, '*').trim() });
    else parts.push({ type: 'character', text: stripChars(matched, '"').trim() });
    start = index + matched.length;
  }
  if (start < text.length) {
    const rest = text.slice(start).trim();
    if (rest) parts.push({ type: 'ambiguous', text: rest });
  }
  return parts;
}

function stripChars(text: string, ch: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && text[a] === ch) a++;
  while (b > a && text[b - 1] === ch) b--;
  return text.slice(a, b);
}

export interface NarratorVoices {
  narrator_enabled: string;
  text_not_inside: string;
  character_voice_gen: string;
  narrator_voice_gen: string;
}

/** `tts_get_voice_for_part()`: the voice for a part, or undefined when the part is silent. */
export function voiceForPart(type: PartType, params: NarratorVoices): string | undefined {
  if (type === 'narrator') {
    return params.narrator_enabled.toLowerCase() === 'silent' ? undefined : params.narrator_voice_gen;
  }
  if (type === 'character') return params.character_voice_gen;
  if (params.text_not_inside === 'silent') return undefined;
  return params.text_not_inside === 'character' ? params.character_voice_gen : params.narrator_voice_gen;
}
