/** Options of the AllTalk simulator and their defaults. */
import type { ProfileName } from './profiles';

/** `real`: behave like the real AllTalk v2 server, bugs included. `documented`: like its documentation. */
export type SimulatorMode = 'real' | 'documented';

export const SIMULATOR_MODES: readonly SimulatorMode[] = ['real', 'documented'];

export function isSimulatorMode(value: unknown): value is SimulatorMode {
  return value === 'real' || value === 'documented';
}

export interface SimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** Default 'xtts'. */
  profile?: ProfileName;
  /** Default 'real'. */
  mode?: SimulatorMode;
  /** Generation time per text character, in ms (plus minGenerationMs). Default 0.5. */
  msPerChar?: number;
  /** Default 20. */
  minGenerationMs?: number;
  /** Audio length per text character (seconds); at least 0.2 s of audio. Default 0.05. */
  audioSecondsPerChar?: number;
  /** Samples per streamed chunk. Default 4800 (the real server sends 20480). */
  streamChunkSamples?: number;
  /** Time between streamed chunks, in ms. Default 10. */
  streamChunkIntervalMs?: number;
  /** `api_max_characters`. Default 2000. */
  maxCharacters?: number;
  /** `api_use_legacy_api`: URLs become absolute http://<ip>:<port>/audio/... Default false. */
  legacyApi?: false | { ip: string };
  /** RVC enabled globally: /api/rvcvoices lists Disabled plus a few folder/x.pth. Default true. */
  rvcEnabled?: boolean;
  /** Connections are refused this long after start() (the model loads before the socket opens). Default 0. */
  startupMs?: number;
  /** Where generated files go. Default: a fresh temporary folder that stop() removes. */
  outputDir?: string;
  /** Speak the text with `espeak-ng` when it is on PATH. Default false. */
  espeak?: boolean;
  /** Time a model load takes (/api/reload, DeepSpeed and LowVRAM changes). Default 100. */
  modelLoadMs?: number;
  /** The host has CUDA. Without it, enabling LowVRAM unloads the model for good. Default true. */
  cuda?: boolean;
  /** ffmpeg is installed. Without it every /v1/audio/speech call fails after generating, even for wav. Default true. */
  ffmpeg?: boolean;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  profile: ProfileName;
  mode: SimulatorMode;
  msPerChar: number;
  minGenerationMs: number;
  audioSecondsPerChar: number;
  streamChunkSamples: number;
  streamChunkIntervalMs: number;
  maxCharacters: number;
  legacyApi: false | { ip: string };
  rvcEnabled: boolean;
  startupMs: number;
  outputDir: string | undefined;
  espeak: boolean;
  modelLoadMs: number;
  cuda: boolean;
  ffmpeg: boolean;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative number`);
  }
  return value;
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const profile = options.profile ?? 'xtts';
  if (profile !== 'xtts' && profile !== 'piper') throw new RangeError(`unknown profile: ${String(profile)}`);
  const mode = options.mode ?? 'real';
  if (!isSimulatorMode(mode)) throw new RangeError(`unknown mode: ${String(mode)}`);
  const streamChunkSamples = nonNegative(options.streamChunkSamples, 4800, 'streamChunkSamples');
  return {
    host: options.host ?? '127.0.0.1',
    port: nonNegative(options.port, 0, 'port'),
    profile,
    mode,
    msPerChar: nonNegative(options.msPerChar, 0.5, 'msPerChar'),
    minGenerationMs: nonNegative(options.minGenerationMs, 20, 'minGenerationMs'),
    audioSecondsPerChar: nonNegative(options.audioSecondsPerChar, 0.05, 'audioSecondsPerChar'),
    streamChunkSamples: Math.max(1, Math.floor(streamChunkSamples)),
    streamChunkIntervalMs: nonNegative(options.streamChunkIntervalMs, 10, 'streamChunkIntervalMs'),
    maxCharacters: Math.floor(nonNegative(options.maxCharacters, 2000, 'maxCharacters')),
    legacyApi: options.legacyApi ? { ip: options.legacyApi.ip } : false,
    rvcEnabled: options.rvcEnabled ?? true,
    startupMs: nonNegative(options.startupMs, 0, 'startupMs'),
    outputDir: options.outputDir,
    espeak: options.espeak ?? false,
    modelLoadMs: nonNegative(options.modelLoadMs, 100, 'modelLoadMs'),
    cuda: options.cuda ?? true,
    ffmpeg: options.ffmpeg ?? true,
  };
}
