/**
 * What alltalk-control is asked to do: the command (dialog, else msg.topic) and its argument (the
 * dialog's field for that command, else msg.payload), checked against what the server can do
 * before anything is sent, with errors that name the value and what is allowed.
 */
import { AllTalkError, describeValue } from '../../api/errors';
import { OPENAI_VOICES, PLACEHOLDER_MODELS } from '../../api/rules';
import type { CurrentSettings, OpenAiVoiceMap } from '../../api/types';
import { isPlaceholderVoice } from '../../api/validation';

export const COMMANDS = ['stop', 'refresh', 'load-model', 'deepspeed', 'lowvram', 'voicemap', 'clear-cache'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ControlDialog {
  command?: unknown;
  model?: unknown;
  deepspeed?: unknown;
  lowvram?: unknown;
  clearQueue?: unknown;
  voicemap?: Partial<Record<string, unknown>>;
}

/** A checked request. */
export type ControlPlan =
  | { command: 'stop'; clearQueue: boolean }
  | { command: 'refresh' }
  | { command: 'load-model'; model: string }
  | { command: 'deepspeed' | 'lowvram'; enabled: boolean }
  | { command: 'voicemap'; map: OpenAiVoiceMap }
  | { command: 'clear-cache' };

export interface ServerFacts {
  settings?: CurrentSettings;
  /** Voices without placeholders. */
  voices: string[];
}

function refuse(field: string, value: unknown, message: string, allowed: string): AllTalkError {
  return new AllTalkError('validation', `${message} Nothing was sent to AllTalk.`, { field, value, allowed });
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** The command from the dialog, else msg.topic. */
export function resolveCommand(dialogCommand: unknown, topic: unknown): Command {
  const raw = blank(dialogCommand) ? topic : dialogCommand;
  const name = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (name === 'engine' || name === 'enginereload' || name === 'load-engine') {
    throw refuse('command', raw, 'Switching the TTS engine over the API is broken on current AllTalk servers (the server answers 500 and ' +
      'restarts nothing): switch engines in AllTalk\'s own web interface. alltalk-control can load another model of the loaded engine (load-model).',
    COMMANDS.join(', '));
  }
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw refuse('command', raw, `The command ${describeValue(raw)} is unknown: set one in the node, or send msg.topic as one of ` +
      `${COMMANDS.join(', ')}.`, COMMANDS.join(', '));
  }
  return name as Command;
}

/** true/false, "on"/"off", "true"/"false" (any case). */
function onOff(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const v = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw refuse(field, value, `${field} needs on or off (true or false), but got ${describeValue(value)}.`, 'true, false, "on" or "off"');
}

/** Checks one command and its argument against what the server can do. */
export function planCommand(command: Command, dialog: ControlDialog, payload: unknown, facts: ServerFacts): ControlPlan {
  const settings = facts.settings;
  const known = (what: string) => {
    if (!settings) {
      throw refuse('server', undefined, `AllTalk's ${what} are not known yet (the server has not been reached since the flow started): ` +
        'send the command again once it is ready.', 'a server that answered');
    }
    return settings;
  };
  switch (command) {
    case 'stop': {
      const fromPayload = payload && typeof payload === 'object' && (payload as Record<string, unknown>).clearQueue === true;
      return { command, clearQueue: dialog.clearQueue === true || dialog.clearQueue === 'true' || fromPayload === true };
    }
    case 'refresh':
    case 'clear-cache':
      return { command };
    case 'load-model': {
      const model = blank(dialog.model) ? payload : dialog.model;
      const models = known('models').models_available.map((m) => m.name).filter((m) => !(PLACEHOLDER_MODELS as readonly string[]).includes(m));
      if (typeof model !== 'string' || !models.includes(model.trim())) {
        throw refuse('model', model, `The model ${describeValue(model)} is not one the server has: ` +
          `${models.length ? models.join(', ') : 'it lists none'}.`, models.join(', '));
      }
      return { command, model: model.trim() };
    }
    case 'deepspeed': {
      const enabled = onOff('deepspeed', blank(dialog.deepspeed) ? payload : dialog.deepspeed);
      const s = known('capabilities');
      if (!s.deepspeed_capable) {
        throw refuse('deepspeed', enabled, `The loaded engine "${s.current_engine_loaded}" cannot use DeepSpeed (deepspeed_capable is false).`, 'an engine that can');
      }
      if (!s.deepspeed_available) {
        throw refuse('deepspeed', enabled, `DeepSpeed is not installed on the AllTalk machine (deepspeed_available is false): install it there first.`,
          'a server with DeepSpeed installed');
      }
      return { command, enabled };
    }
    case 'lowvram': {
      const enabled = onOff('lowvram', blank(dialog.lowvram) ? payload : dialog.lowvram);
      const s = known('capabilities');
      if (!s.lowvram_capable) {
        throw refuse('lowvram', enabled, `The loaded engine "${s.current_engine_loaded}" has no low-VRAM mode (lowvram_capable is false).`, 'an engine that has');
      }
      return { command, enabled };
    }
    case 'voicemap':
      return { command, map: checkVoiceMap(dialog.voicemap, payload, facts) };
  }
}

/** The six OpenAI voices, each mapped to a voice the server lists (every problem named at once). */
function checkVoiceMap(dialogMap: ControlDialog['voicemap'], payload: unknown, facts: ServerFacts): OpenAiVoiceMap {
  const fromDialog = dialogMap && OPENAI_VOICES.some((k) => !blank(dialogMap[k]));
  const source = fromDialog ? dialogMap : payload;
  if (!source || typeof source !== 'object' || Array.isArray(source)) {
    throw refuse('voicemap', source, `The voice map is ${describeValue(source)}: it must be an object with the six keys ` +
      `${OPENAI_VOICES.join(', ')}, each the name of one of the server's voices (or set them in the node).`, 'an object with the six keys');
  }
  const map = source as Record<string, unknown>;
  const voices = facts.voices.filter((v) => !isPlaceholderVoice(v));
  if (!facts.settings) {
    throw refuse('voicemap', source, 'AllTalk\'s voices are not known yet (the server has not been reached since the flow started), ' +
      'so the map cannot be checked: send the command again once it is ready.', 'a server that answered');
  }
  const problems: string[] = [];
  const missing = OPENAI_VOICES.filter((k) => blank(map[k]));
  if (missing.length) problems.push(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
  const extra = Object.keys(map).filter((k) => !(OPENAI_VOICES as readonly string[]).includes(k));
  if (extra.length) problems.push(`${extra.join(', ')} ${extra.length === 1 ? 'is not an OpenAI voice' : 'are not OpenAI voices'}`);
  const notText = OPENAI_VOICES.filter((k) => !blank(map[k]) && typeof map[k] !== 'string');
  if (notText.length) problems.push(`${notText.join(', ')}: not a voice name`);
  if (voices.length) {
    const unknown = OPENAI_VOICES.filter((k) => typeof map[k] === 'string' && !blank(map[k]) && !voices.includes((map[k] as string).trim()));
    for (const k of unknown) problems.push(`${k} → "${map[k] as string}" is not one of the server's voices`);
  }
  if (problems.length) {
    const list = voices.length > 8 ? `${voices.slice(0, 8).join(', ')}, … ${voices.length} in all` : voices.join(', ');
    throw refuse('voicemap', source, `The voice map cannot be used: ${problems.join('; ')}. ` +
      `All six OpenAI voices must be mapped${voices.length ? `, each to one of the server's voices (${list})` : ''}. ` +
      '(AllTalk accepts any name, and /v1/audio/speech then fails with a bare 500.)', 'the six keys, each a server voice');
  }
  const out = {} as OpenAiVoiceMap;
  for (const k of OPENAI_VOICES) out[k] = (map[k] as string).trim();
  return out;
}
