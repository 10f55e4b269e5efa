/**
 * Engine profiles: what an AllTalk v2 server reports and produces with a given TTS engine loaded.
 * A profile is the state a fresh start of that engine has: the 24 keys of /api/currentsettings,
 * the voice list, the default voices, the OpenAI voice mapping, the native audio format and
 * whether inference blocks the server's event loop.
 */
import type { CurrentSettings } from '../api/types';
import type { SampleEncoding } from '../api/wav';

export type ProfileName = 'xtts' | 'piper';

export const PROFILE_NAMES: readonly ProfileName[] = ['xtts', 'piper'];

/** The 24 keys /api/currentsettings returns: the same shape the client reads. */
export type { CurrentSettings };

export const SETTINGS_KEYS: ReadonlyArray<keyof CurrentSettings> = [
  'engines_available',
  'current_engine_loaded',
  'models_available',
  'current_model_loaded',
  'manufacturer_name',
  'audio_format',
  'deepspeed_capable',
  'deepspeed_available',
  'deepspeed_enabled',
  'generationspeed_capable',
  'generationspeed_set',
  'lowvram_capable',
  'lowvram_enabled',
  'pitch_capable',
  'pitch_set',
  'repetitionpenalty_capable',
  'repetitionpenalty_set',
  'streaming_capable',
  'temperature_capable',
  'temperature_set',
  'ttsengines_installed',
  'languages_capable',
  'multivoice_capable',
  'multimodel_capable',
];

export type OpenAiVoice = 'alloy' | 'echo' | 'fable' | 'nova' | 'onyx' | 'shimmer';

export const OPENAI_VOICES: readonly OpenAiVoice[] = ['alloy', 'echo', 'fable', 'nova', 'onyx', 'shimmer'];

/** How the engine writes its native files. */
export interface NativeAudioFormat {
  sampleRate: number;
  encoding: SampleEncoding;
  /** soundfile writes float WAVs with a `fact` chunk, so their audio does not start at byte 44. */
  factChunk: boolean;
}

/** What an engine does when asked for a voice it does not have. */
export type UnknownVoiceBehaviour =
  /** XTTS: a RuntimeError inside inference ("TTS generation failed" on /api/tts-generate). */
  | 'runtime-error'
  /** Piper: an HTTPException 500 {"detail":"Model file not found."} that escapes every route. */
  | 'model-file-not-found';

export interface EngineProfile {
  name: ProfileName;
  settings: CurrentSettings;
  voices: string[];
  defaultCharacterVoice: string;
  defaultNarratorVoice: string;
  openaiVoiceMap: Record<OpenAiVoice, string>;
  native: NativeAudioFormat;
  /** Inference and model loading run synchronously on the event loop: every other request waits. */
  blocking: boolean;
  unknownVoice: UnknownVoiceBehaviour;
  /** Languages the model itself accepts (the routes check their own patterns first). */
  modelLanguages: readonly string[] | 'any';
}

/** The RVC models a default install might have, relative to models/rvc_voices, sorted. */
export const DEFAULT_RVC_VOICES: readonly string[] = ['Amy/amy.pth', 'Bob/bob_v2.pth', 'narrators/deep_voice.pth'];

const ENGINES_AVAILABLE = ['f5tts', 'parler', 'piper', 'vits', 'xtts'];

const XTTS_LANGUAGES = [
  'ar', 'zh-cn', 'cs', 'nl', 'en', 'fr', 'de', 'hu', 'hi', 'it', 'ja', 'ko', 'pl', 'pt', 'ru', 'es', 'tr',
];

function xttsProfile(): EngineProfile {
  return {
    name: 'xtts',
    settings: {
      engines_available: [...ENGINES_AVAILABLE],
      current_engine_loaded: 'xtts',
      models_available: [
        { name: 'xtts - xttsv2_2.0.2' },
        { name: 'apitts - xttsv2_2.0.2' },
        { name: 'xtts - xttsv2_2.0.3' },
        { name: 'apitts - xttsv2_2.0.3' },
      ],
      current_model_loaded: 'xtts - xttsv2_2.0.3',
      manufacturer_name: 'Coqui',
      audio_format: 'wav',
      deepspeed_capable: true,
      deepspeed_available: true,
      deepspeed_enabled: true,
      generationspeed_capable: true,
      generationspeed_set: 1,
      lowvram_capable: true,
      lowvram_enabled: false,
      pitch_capable: false,
      pitch_set: 0,
      repetitionpenalty_capable: true,
      repetitionpenalty_set: 10,
      streaming_capable: true,
      temperature_capable: true,
      temperature_set: 0.75,
      ttsengines_installed: true,
      languages_capable: true,
      multivoice_capable: true,
      multimodel_capable: true,
    },
    voices: [
      'female_01.wav',
      'female_02.wav',
      'female_03.wav',
      'male_01.wav',
      'male_02.wav',
      'male_03.wav',
      'voiceset:narrators',
      'latent:female_01.json',
    ],
    defaultCharacterVoice: 'female_01.wav',
    defaultNarratorVoice: 'male_01.wav',
    openaiVoiceMap: {
      alloy: 'female_01.wav',
      echo: 'male_01.wav',
      fable: 'female_02.wav',
      nova: 'female_03.wav',
      onyx: 'male_02.wav',
      shimmer: 'male_03.wav',
    },
    native: { sampleRate: 24000, encoding: 'f32', factChunk: true },
    blocking: true,
    unknownVoice: 'runtime-error',
    modelLanguages: XTTS_LANGUAGES,
  };
}

function piperProfile(): EngineProfile {
  return {
    name: 'piper',
    settings: {
      engines_available: [...ENGINES_AVAILABLE],
      current_engine_loaded: 'piper',
      models_available: [{ name: 'piper' }],
      current_model_loaded: 'piper',
      manufacturer_name: 'rhasspy',
      audio_format: 'wav',
      deepspeed_capable: false,
      deepspeed_available: false,
      deepspeed_enabled: false,
      generationspeed_capable: false,
      generationspeed_set: 1,
      lowvram_capable: false,
      lowvram_enabled: false,
      pitch_capable: false,
      pitch_set: 0,
      repetitionpenalty_capable: false,
      repetitionpenalty_set: 10,
      streaming_capable: false,
      temperature_capable: false,
      temperature_set: 0.75,
      ttsengines_installed: true,
      languages_capable: false,
      multivoice_capable: true,
      multimodel_capable: true,
    },
    voices: ['en_GB-alan-medium.onnx', 'en_US-ljspeech-high.onnx', 'sub/de_DE-thorsten-high.onnx'],
    defaultCharacterVoice: 'en_US-ljspeech-high.onnx',
    defaultNarratorVoice: 'en_GB-alan-medium.onnx',
    openaiVoiceMap: {
      alloy: 'en_US-ljspeech-high.onnx',
      echo: 'en_GB-alan-medium.onnx',
      fable: 'en_US-ljspeech-high.onnx',
      nova: 'en_US-ljspeech-high.onnx',
      onyx: 'en_GB-alan-medium.onnx',
      shimmer: 'en_US-ljspeech-high.onnx',
    },
    native: { sampleRate: 22050, encoding: 's16', factChunk: false },
    blocking: false,
    unknownVoice: 'model-file-not-found',
    modelLanguages: 'any',
  };
}

/** A fresh copy of a profile (callers may mutate it). */
export function engineProfile(name: ProfileName): EngineProfile {
  switch (name) {
    case 'xtts':
      return xttsProfile();
    case 'piper':
      return piperProfile();
    default:
      throw new Error(`unknown profile: ${String(name)}`);
  }
}

export function isProfileName(value: unknown): value is ProfileName {
  return typeof value === 'string' && (PROFILE_NAMES as readonly string[]).includes(value);
}

/** The settings object in the server's key order, restricted to the 24 keys. */
export function orderedSettings(settings: CurrentSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SETTINGS_KEYS) out[key] = settings[key];
  return out;
}

/**
 * The `api_def`/`rvc_settings` values of confignew.json that change how the API answers.
 * Mutable on the simulator (`sim.apiConfig`) to model a user's global settings.
 */
export interface ApiConfig {
  api_text_filtering: string;
  api_narrator_enabled: string;
  api_text_not_inside: string;
  api_language: string;
  api_output_file_name: string;
  api_output_file_timestamp: boolean;
  api_autoplay: boolean;
  api_autoplay_volume: number;
  api_length_stripping: number;
  rvc_char_model_file: string;
  rvc_narr_model_file: string;
  rvc_pitch: number;
}

export function defaultApiConfig(): ApiConfig {
  return {
    api_text_filtering: 'standard',
    api_narrator_enabled: 'false',
    api_text_not_inside: 'character',
    api_language: 'en',
    api_output_file_name: 'myoutputfile',
    api_output_file_timestamp: true,
    api_autoplay: false,
    api_autoplay_volume: 0.5,
    api_length_stripping: 3,
    rvc_char_model_file: 'Disabled',
    rvc_narr_model_file: 'Disabled',
    rvc_pitch: 0,
  };
}
