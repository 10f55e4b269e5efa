/**
 * The simulated TTS engine behind the routes: its profile state (settings, voices, OpenAI voice
 * map, loaded model), speech rendering with generation time, model loading, the busy gate of a
 * blocking engine, the stop flag of XTTS streaming, and the bookkeeping tests observe.
 */
import { EventEmitter } from 'events';
import { BusyGate } from './busy-gate';
import { speakWithEspeak, synthesizeSpeech } from './audio';
import {
  DEFAULT_RVC_VOICES,
  engineProfile,
  type CurrentSettings,
  type EngineProfile,
  type OpenAiVoice,
  type ProfileName,
} from './profiles';
import { pyLength } from './text-processing';

/** An HTTPException raised by the engine: reaches the client as E2 {"detail": ...}. */
export class EngineHttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'EngineHttpError';
  }
}

/** A RuntimeError inside inference (XTTS with an unknown voice, an unsupported language...). */
export class EngineRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineRuntimeError';
  }
}

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error from the file system (Python's OSError family). */
export function isFileSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

export interface EngineTiming {
  msPerChar: number;
  minGenerationMs: number;
  audioSecondsPerChar: number;
  modelLoadMs: number;
  espeak: boolean;
}

export type GenerationOutcome = 'success' | 'error' | 'stopped' | 'cut';

/** One generation as the engine ran it (tests read these from `sim.generations`). */
export interface GenerationRecord {
  id: number;
  /** Id of the RecordedRequest that caused it. */
  requestId: number;
  route: string;
  /** The parameters in effect after the server merged its defaults. */
  params: Record<string, unknown>;
  startedAt: number;
  endedAt?: number;
  /** Absolute path of the file written, if any. */
  outputFile?: string;
  /** Seconds of audio produced. */
  audioSeconds?: number;
  outcome?: GenerationOutcome;
  error?: string;
}

export interface GenerationTicket {
  readonly record: GenerationRecord;
  end(outcome: GenerationOutcome, extra?: Partial<GenerationRecord>): void;
}

export interface RenderJob {
  text: string;
  voice: string;
  language: string;
  speed: number;
}

export interface RenderedAudio {
  samples: Float32Array;
  sampleRate: number;
  seconds: number;
}

export function now(): number {
  return performance.timeOrigin + performance.now();
}

export class SimulatedEngine {
  profile: EngineProfile;
  settings: CurrentSettings;
  voices: string[];
  rvcVoices: string[];
  openaiVoiceMap: Record<OpenAiVoice, string>;
  /** False after an unload that was never followed by a load (LowVRAM without CUDA, failed reload). */
  modelLoaded = true;
  /** The host has CUDA (LowVRAM changes then reload the model; without it they unload it for good). */
  cuda = true;
  /** ffmpeg is installed (the OpenAI route needs it for every format, wav included). */
  ffmpeg = true;
  readonly gate = new BusyGate();
  readonly generations: GenerationRecord[] = [];
  /** A model load (start-up, /api/reload, DeepSpeed or LowVRAM change) is running. */
  loadingModel = 0;
  /** `model_change_lock` of /api/reload. */
  modelChanging = false;
  /** `tts_stop_generation`: set by /api/stop-generation while a generation runs. */
  stopRequested = false;
  private active = 0;
  private maxActive = 0;
  private nextGenerationId = 1;
  private holds = 0;
  private holdWaiters: Array<() => void> = [];

  constructor(
    profileName: ProfileName,
    private readonly rvcEnabled: boolean,
    readonly timing: EngineTiming,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly events: EventEmitter,
  ) {
    this.profile = engineProfile(profileName);
    this.settings = this.profile.settings;
    this.voices = [...this.profile.voices];
    this.openaiVoiceMap = { ...this.profile.openaiVoiceMap };
    this.rvcVoices = this.defaultRvcVoices();
  }

  get profileName(): ProfileName {
    return this.profile.name;
  }

  get blocking(): boolean {
    return this.profile.blocking;
  }

  get activeGenerations(): number {
    return this.active;
  }

  get maxConcurrentGenerations(): number {
    return this.maxActive;
  }

  get rvcEnabledGlobally(): boolean {
    return this.rvcEnabled;
  }

  defaultRvcVoices(): string[] {
    return this.rvcEnabled ? ['Disabled', ...DEFAULT_RVC_VOICES] : ['Disabled'];
  }

  /** Loads another engine as a restart from the Gradio UI would: everything engine-specific is fresh. */
  setProfile(name: ProfileName): void {
    this.profile = engineProfile(name);
    this.settings = this.profile.settings;
    this.voices = [...this.profile.voices];
    this.openaiVoiceMap = { ...this.profile.openaiVoiceMap };
    this.modelLoaded = true;
    this.stopRequested = false;
  }

  /** The voice list /api/voices serves (XTTS leaves latents out while an `apitts` model is loaded). */
  listedVoices(): string[] {
    if (this.profile.name === 'xtts' && (this.settings.current_model_loaded ?? '').startsWith('apitts')) {
      return this.voices.filter((v) => !v.startsWith('latent:'));
    }
    return [...this.voices];
  }

  resetObservations(): void {
    this.generations.length = 0;
    this.maxActive = this.active;
  }

  /** Starts a generation: holds the gate of a blocking engine and counts concurrency. */
  beginGeneration(
    requestId: number,
    route: string,
    params: Record<string, unknown>,
    opts: { holdGate?: boolean } = {},
  ): GenerationTicket {
    const release = this.blocking && opts.holdGate !== false ? this.gate.hold() : () => undefined;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const record: GenerationRecord = { id: this.nextGenerationId++, requestId, route, params, startedAt: now() };
    this.generations.push(record);
    this.events.emit('generation-start', record);
    let ended = false;
    return {
      record,
      end: (outcome, extra) => {
        if (ended) return;
        ended = true;
        Object.assign(record, extra ?? {});
        record.outcome = outcome;
        record.endedAt = now();
        this.active--;
        release();
        this.events.emit('generation-end', record);
      },
    };
  }

  /**
   * Starts a model load (start-up, reload, DeepSpeed/LowVRAM): holds the gate of a blocking engine
   * (of any engine with `holdGate: true`).
   */
  beginModelWork(opts: { holdGate?: boolean } = {}): () => void {
    const release = this.blocking || opts.holdGate ? this.gate.hold() : () => undefined;
    this.loadingModel++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.loadingModel--;
      release();
    };
  }

  /**
   * Keeps every running and later generation and model load from finishing until the returned
   * function is called (lets tests order events without relying on timing).
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0) this.releaseHolds();
    };
  }

  /** Drops every hold (used on reset). */
  releaseHolds(): void {
    this.holds = 0;
    const waiters = this.holdWaiters;
    this.holdWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves when no hold is in place. */
  whileHeld(): Promise<void> {
    if (this.holds === 0) return Promise.resolve();
    return new Promise((resolve) => this.holdWaiters.push(resolve));
  }

  /** Unloads the model and loads `model` (the caller holds model work). */
  async loadModel(model: string | null): Promise<void> {
    this.modelLoaded = false;
    await this.sleep(this.timing.modelLoadMs);
    await this.whileHeld();
    this.settings.current_model_loaded = model;
    this.modelLoaded = true;
  }

  /** The model a `setup()` loads: the start-up model of the engine, not the one chosen later. */
  startupModel(): string | null {
    return engineProfile(this.profile.name).settings.current_model_loaded;
  }

  /** Sets the stop flag, as the server does, only while a generation runs and it is not yet set. */
  requestStop(): void {
    if (this.active > 0 && !this.stopRequested) this.stopRequested = true;
  }

  /** Checked by the streaming loop between chunks: true (and the flag cleared) when a stop was asked. */
  takeStop(): boolean {
    if (!this.stopRequested) return false;
    this.stopRequested = false;
    return true;
  }

  /** Throws what the engine throws for a voice it does not have or when no model is loaded. */
  checkVoice(voice: string): void {
    if (!this.modelLoaded) throw new EngineHttpError(400, 'You currently have no TTS model loaded.');
    if (this.voices.includes(voice)) return;
    if (this.profile.unknownVoice === 'runtime-error') {
      throw new EngineRuntimeError(`Voice file not found: ${voice}`);
    }
    throw new EngineHttpError(500, 'Model file not found.');
  }

  /** Seconds of audio for a text at a speed (grows with the text; at least 0.2 s). */
  audioSeconds(text: string, speed: number): number {
    const base = Math.max(0.2, pyLength(text) * this.timing.audioSecondsPerChar);
    const factor = Number.isFinite(speed) && speed > 0 ? speed : 1;
    return Math.max(0.05, base / factor);
  }

  generationMs(text: string): number {
    return this.timing.minGenerationMs + this.timing.msPerChar * pyLength(text);
  }

  /** Renders speech at `sampleRate` without waiting (the streaming route paces itself). */
  async synthesize(job: RenderJob, sampleRate: number): Promise<Float32Array> {
    if (this.timing.espeak) {
      const { text, language, speed, voice } = job;
      const spoken = await speakWithEspeak(text, { language, speed, sampleRate, voice });
      if (spoken && spoken.length > 0) return spoken;
    }
    return synthesizeSpeech(job.text, {
      sampleRate,
      seconds: this.audioSeconds(job.text, job.speed),
      voice: job.voice,
    });
  }

  /** Renders speech in the engine's native format, taking the generation time. */
  async render(job: RenderJob): Promise<RenderedAudio> {
    this.checkVoice(job.voice);
    const models = this.profile.modelLanguages;
    if (models !== 'any' && !models.includes(job.language)) {
      throw new EngineRuntimeError(`Language ${job.language} is not supported by the model`);
    }
    const sampleRate = this.profile.native.sampleRate;
    const started = now();
    const samples = await this.synthesize(job, sampleRate);
    const waited = now() - started;
    const remaining = this.generationMs(job.text) - waited;
    if (remaining > 0) await this.sleep(remaining);
    await this.whileHeld();
    return { samples, sampleRate, seconds: samples.length / sampleRate };
  }
}
