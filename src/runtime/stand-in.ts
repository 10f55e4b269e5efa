/**
 * A message rerouted to another AllTalk server is spoken there as well as that server can: the
 * options its engine cannot use (speed, pitch, language…) are left out rather than refused, and a
 * voice it does not have becomes its stand-in voice (the server configuration's, else its first).
 * No Node-RED imports.
 */
import { TTS_GENERATE_RULES, type FieldRule, type TtsGenerateField } from '../api/rules';
import { type FormFields, isRvcDisabled, validateTtsGenerate } from '../api/validation';
import type { ServerMember } from './server-member';

/** The voice `member` speaks `voice` with: the same one when it has it, else its stand-in. */
export function voiceOn(member: ServerMember, voice: string): string {
  const voices = member.connection.voices;
  if (voices.length === 0 || voices.includes(voice)) return voice;
  const standIn = member.settings.standInVoice;
  return standIn && voices.includes(standIn) ? standIn : voices[0];
}

/** Whether the engine of `member` can use a field (unknown settings: yes). */
export function canUse(member: ServerMember, field: TtsGenerateField): boolean {
  const rule: FieldRule = TTS_GENERATE_RULES[field];
  const settings = member.connection.cache.settings;
  return !settings || !rule.capability || settings[rule.capability] === true;
}

/** A checked /api/tts-generate form made fit for `member`, and checked again against it. */
export function formOn(member: ServerMember, form: FormFields): FormFields {
  const out: FormFields = { ...form };
  for (const field of Object.keys(out) as TtsGenerateField[]) {
    if (field in TTS_GENERATE_RULES && !canUse(member, field)) delete out[field];
  }
  for (const field of ['character_voice_gen', 'narrator_voice_gen'] as const) {
    if (out[field] !== undefined) out[field] = voiceOn(member, out[field]);
  }
  const rvc = member.connection.cache.rvcVoices;
  for (const field of ['rvccharacter_voice_gen', 'rvcnarrator_voice_gen'] as const) {
    const v = out[field];
    if (v !== undefined && !isRvcDisabled(v) && rvc.length && !rvc.includes(v)) delete out[field];
  }
  return validateTtsGenerate(out, { ...member.connection.validationContext(), maxCharacters: Number.MAX_SAFE_INTEGER });
}
