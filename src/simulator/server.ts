/**
 * AllTalkSimulator: a local HTTP server that behaves like a real AllTalk v2 TTS server (or like
 * its documentation, in `documented` mode), with fault injection and a request log for tests.
 *
 * Events:
 * - 'request' (RecordedRequest): a request arrived (after its body was read);
 * - 'response' (RecordedRequest): its response ended or its connection was cut;
 * - 'generation-start' / 'generation-end' (GenerationRecord);
 * - 'listening' (url) whenever the server (re)starts listening; 'refusing' when it stops;
 * - 'route-error' (Error): a route handler threw (the client got a 500).
 */
import { EventEmitter } from 'events';
import { ControlApi } from './control';
import { SimulatedEngine, type GenerationRecord } from './engine';
import { FaultPlan, type FaultReply } from './faults';
import { Listener } from './listener';
import { OutputFolder } from './output-folder';
import { resolveOptions, type ResolvedOptions, type SimulatorMode, type SimulatorOptions } from './options';
import {
  defaultApiConfig,
  type ApiConfig,
  type CurrentSettings,
  type OpenAiVoice,
  type ProfileName,
} from './profiles';
import { RequestHandler } from './request-handler';
import type { RecordedRequest, SimulatorHost } from './route-context';

export class AllTalkSimulator extends EventEmitter {
  /** The options in effect (defaults filled in). */
  readonly options: ResolvedOptions;
  /** `api_def` defaults and RVC settings of the simulated confignew.json (mutable). */
  apiConfig: ApiConfig;
  readonly engine: SimulatedEngine;

  private currentMode: SimulatorMode;
  private readonly faults = new FaultPlan();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly outputFolder: OutputFolder;
  private readonly control: ControlApi;
  private readonly host: SimulatorHost;
  private readonly handler: RequestHandler;
  private readonly listener: Listener;

  constructor(options: SimulatorOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.currentMode = this.options.mode;
    this.apiConfig = defaultApiConfig();
    this.outputFolder = new OutputFolder(this.options.outputDir);
    this.engine = new SimulatedEngine(
      this.options.profile,
      this.options.rvcEnabled,
      {
        msPerChar: this.options.msPerChar,
        minGenerationMs: this.options.minGenerationMs,
        audioSecondsPerChar: this.options.audioSecondsPerChar,
        modelLoadMs: this.options.modelLoadMs,
        espeak: this.options.espeak,
      },
      (ms) => this.sleep(ms),
      this,
    );
    this.engine.cuda = this.options.cuda;
    this.engine.ffmpeg = this.options.ffmpeg;
    this.control = new ControlApi(this);
    const sim = this;
    this.host = {
      get engine() {
        return sim.engine;
      },
      get apiConfig() {
        return sim.apiConfig;
      },
      get mode() {
        return sim.currentMode;
      },
      get options() {
        return sim.options;
      },
      get outputDir() {
        return sim.outputFolder.path;
      },
      get alltalkDir() {
        return sim.outputFolder.installPath;
      },
      get port() {
        return sim.port;
      },
      sleep: (ms) => sim.sleep(ms),
      takeStreamCut: () => sim.faults.takeStreamCut(),
    };
    this.handler = new RequestHandler(this.host, this.faults, this.control, this);
    this.listener = new Listener(
      this.options.host,
      (req, res) => {
        void this.handler.handle(req, res);
      },
      {
        listening: () => this.emit('listening', this.url),
        refusing: () => this.emit('refusing'),
        relistenFailed: (err) => this.emit('route-error', err),
      },
    );
  }

  // ---- state served by the API -------------------------------------------------------------

  get mode(): SimulatorMode {
    return this.currentMode;
  }

  set mode(mode: SimulatorMode) {
    if (mode !== 'real' && mode !== 'documented') throw new RangeError(`unknown mode: ${String(mode)}`);
    this.currentMode = mode;
  }

  /** The 24 keys of /api/currentsettings (mutable; replaced by setProfile and reset). */
  get settings(): CurrentSettings {
    return this.engine.settings;
  }

  set settings(value: CurrentSettings) {
    this.engine.settings = value;
  }

  /** The voice list /api/voices serves and generation accepts. */
  get voices(): string[] {
    return this.engine.voices;
  }

  set voices(value: string[]) {
    this.engine.voices = value;
  }

  /** The list /api/rvcvoices serves ("Disabled" first). */
  get rvcVoices(): string[] {
    return this.engine.rvcVoices;
  }

  set rvcVoices(value: string[]) {
    this.engine.rvcVoices = value;
  }

  get openaiVoiceMap(): Record<OpenAiVoice, string> {
    return this.engine.openaiVoiceMap;
  }

  set openaiVoiceMap(value: Record<OpenAiVoice, string>) {
    this.engine.openaiVoiceMap = value;
  }

  /** The engine profile currently loaded. */
  get profile(): ProfileName {
    return this.engine.profileName;
  }

  /** Switches engine as a restart from the Gradio UI would (settings, voices, formats, blocking). */
  setProfile(name: ProfileName): void {
    this.engine.setProfile(name);
  }

  // ---- addresses ---------------------------------------------------------------------------

  get port(): number {
    return this.listener.port;
  }

  get url(): string {
    const host = this.options.host;
    let shown = host;
    if (host === '0.0.0.0' || host === '') shown = '127.0.0.1';
    else if (host === '::') shown = '[::1]';
    else if (host.includes(':')) shown = `[${host}]`;
    return `http://${shown}:${this.port}`;
  }

  get outputDir(): string {
    return this.outputFolder.path;
  }

  /** Whether the server is accepting connections right now. */
  get listening(): boolean {
    return this.listener.listening;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Starts the server and resolves its base URL (connections are refused for `startupMs` in real mode). */
  async start(): Promise<string> {
    if (this.listener.started) throw new Error('the simulator is already started');
    this.stopped = false;
    // A restart after stop() needs the output folder back.
    this.outputFolder.recreate();
    await this.listener.start(this.options.port);
    const startup = this.options.startupMs;
    if (startup > 0) {
      if (this.currentMode === 'documented') {
        // The documented server answers `Unloaded` while the engine loads behind an open socket.
        const release = this.engine.beginModelWork({ holdGate: true });
        this.schedule(startup, () => {
          void this.engine.whileHeld().then(release);
        });
      } else {
        // The real server loads the model before it opens its socket: connections are refused.
        await this.listener.close();
        this.listener.relistenAfter(startup);
      }
    }
    return this.url;
  }

  /** Closes everything: sockets, timers, the listener, and the temporary output folder. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.listener.shutdown();
    this.engine.gate.clear();
    this.outputFolder.removeIfTemporary();
  }

  /** Stops listening now (open sockets destroyed) and listens again on the same port after `ms`. */
  async refuseConnections(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ms must be a non-negative number');
    this.requireStarted();
    await this.listener.close();
    this.listener.relistenAfter(ms);
  }

  /** Stops listening until comeBack(). */
  async goAway(): Promise<void> {
    this.requireStarted();
    this.listener.cancelRelisten();
    await this.listener.close();
  }

  /** Listens again on the same port. */
  async comeBack(): Promise<void> {
    this.requireStarted();
    this.listener.cancelRelisten();
    if (!this.listener.listening) await this.listener.listen(this.listener.port);
  }

  /** Resolves when the server is listening (at once if it is). */
  whenListening(): Promise<void> {
    if (this.listener.listening) return Promise.resolve();
    return new Promise((resolve) => this.once('listening', () => resolve()));
  }

  // ---- faults and observation --------------------------------------------------------------

  setLatency(path: string, ms: number): void {
    this.faults.setLatency(path, ms);
  }

  failNext(path: string, count: number, reply: FaultReply): void {
    this.faults.failNext(path, count, reply);
  }

  cutNextStream(afterBytes: number): void {
    this.faults.cutNextStream(afterBytes);
  }

  /**
   * Keeps every running and later generation and model load from finishing until the returned
   * function is called: tests can then order requests around a busy engine without timing.
   */
  holdEngine(): () => void {
    return this.engine.hold();
  }

  /** Every request received (control requests excluded), in arrival order. */
  get requests(): RecordedRequest[] {
    return this.handler.log;
  }

  /** Every generation the engine ran since the last clearRequests()/reset(). */
  get generations(): GenerationRecord[] {
    return this.engine.generations;
  }

  clearRequests(): void {
    this.handler.log.length = 0;
    this.engine.resetObservations();
  }

  /** The most generation-type requests processed at once since the last reset()/clearRequests(). */
  get maxConcurrentGenerations(): number {
    return this.engine.maxConcurrentGenerations;
  }

  /** Faults, latency, the log, mode and the engine profile back to the start state. */
  reset(): void {
    this.faults.clear();
    this.handler.log.length = 0;
    this.currentMode = this.options.mode;
    this.apiConfig = defaultApiConfig();
    this.engine.setProfile(this.options.profile);
    this.engine.rvcVoices = this.engine.defaultRvcVoices();
    this.engine.cuda = this.options.cuda;
    this.engine.ffmpeg = this.options.ffmpeg;
    this.engine.releaseHolds();
    this.engine.resetObservations();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** A delay that stop() cancels (a cancelled delay never resolves). */
  sleep(ms: number): Promise<void> {
    if (this.stopped) return new Promise(() => undefined);
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  private schedule(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
  }

  private requireStarted(): void {
    if (!this.listener.started) throw new Error('the simulator is not started');
  }
}
