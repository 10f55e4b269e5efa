/** Request and response shapes of the AllTalk v2 API. */

/** The 24 keys GET /api/currentsettings returns. Missing flags are read as false. */
export interface CurrentSettings {
  engines_available: string[];
  current_engine_loaded: string;
  models_available: { name: string }[];
  current_model_loaded: string | null;
  manufacturer_name: string;
  audio_format: string;
  deepspeed_capable: boolean;
  deepspeed_available: boolean;
  deepspeed_enabled: boolean;
  generationspeed_capable: boolean;
  generationspeed_set: number;
  lowvram_capable: boolean;
  lowvram_enabled: boolean;
  pitch_capable: boolean;
  pitch_set: number;
  repetitionpenalty_capable: boolean;
  repetitionpenalty_set: number;
  streaming_capable: boolean;
  temperature_capable: boolean;
  temperature_set: number;
  ttsengines_installed: boolean;
  languages_capable: boolean;
  multivoice_capable: boolean;
  multimodel_capable: boolean;
}

export const CAPABILITY_FLAGS = [
  'deepspeed_capable',
  'deepspeed_available',
  'generationspeed_capable',
  'lowvram_capable',
  'pitch_capable',
  'repetitionpenalty_capable',
  'streaming_capable',
  'temperature_capable',
  'languages_capable',
  'multivoice_capable',
  'multimodel_capable',
] as const satisfies readonly (keyof CurrentSettings)[];

export type ReadyText = 'Ready' | 'Unloaded';

/** Fields of POST /api/tts-generate. Every field but text_input is optional: unset = server default. */
export interface TtsGenerateParams {
  text_input: string;
  text_filtering?: 'none' | 'standard' | 'html';
  character_voice_gen?: string;
  rvccharacter_voice_gen?: string;
  rvccharacter_pitch?: number;
  narrator_enabled?: 'true' | 'false' | 'silent' | boolean;
  narrator_voice_gen?: string;
  rvcnarrator_voice_gen?: string;
  rvcnarrator_pitch?: number;
  text_not_inside?: 'character' | 'narrator' | 'silent';
  language?: string;
  output_file_name?: string;
  output_file_timestamp?: boolean;
  autoplay?: boolean;
  autoplay_volume?: number;
  speed?: number;
  pitch?: number;
  temperature?: number;
  repetition_penalty?: number;
}

/** The server's reply to /api/tts-generate, plus the URLs rebased on the configured server. */
export interface TtsGenerateResult {
  status: 'generate-success';
  output_file_path: string;
  output_file_url: string;
  output_cache_url?: string;
  /** Absolute URL of the audio on the configured protocol/host/port. */
  url: string;
  /** Absolute URL of the /audiocache copy, when the server gave one. */
  cacheUrl?: string;
}

export interface StreamParams {
  text: string;
  voice: string;
  language: string;
  output_file?: string;
}

export interface OpenAiSpeechParams {
  model?: string;
  input: string;
  voice: string;
  response_format?: string;
  speed?: number;
}

export interface OpenAiSpeechResult {
  audio: Buffer;
  contentType: string;
  format: string;
}

export type OpenAiVoiceMap = Record<'alloy' | 'echo' | 'fable' | 'nova' | 'onyx' | 'shimmer', string>;

export interface PreviewVoiceParams {
  voice: string;
  rvccharacter_voice_gen?: string;
  rvccharacter_pitch?: number;
}

export interface PreviewVoiceResult {
  status: 'generate-success';
  output_file_path: string;
  output_file_url: string;
  /** Absolute URL with a cache-busting query (the server always reuses one file name). */
  url: string;
}

/** Replies of /api/deepspeed and /api/lowvramsetting that count as success. */
export interface ToggleResult {
  status: string;
  message?: string;
  /** False when the server answered "already enabled/disabled". */
  changed: boolean;
}

export interface AudioDownload {
  data: Buffer;
  /** What the bytes are (audio/wav, audio/mpeg…): never the server's Content-Type header. */
  contentType: string;
  /** The file extension of that type (wav, mp3…). */
  ext: string;
  url: string;
}
