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
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo, Socket } from 'net';
import * as os from 'os';
import * as path from 'path';
import { ControlApi } from './control';
import { now, SimulatedEngine, type GenerationRecord } from './engine';
import { FaultPlan, sendFaultReply, type FaultReply } from './faults';
import { resolveOptions, type ResolvedOptions, type SimulatorMode, type SimulatorOptions } from './options';
import {
  defaultApiConfig,
  type ApiConfig,
  type CurrentSettings,
  type OpenAiVoice,
  type ProfileName,
} from './profiles';
import { sendInternalServerError, sendNotFound } from './replies';
import { parseBody, queryForLog, readBody } from './request-body';
import type { Exchange, RecordedRequest, SimulatorHost } from './route-context';
import { dispatch } from './router';

export class AllTalkSimulator extends EventEmitter {
  /** The options in effect (defaults filled in). */
  readonly options: ResolvedOptions;
  /** `api_def` defaults and RVC settings of the simulated confignew.json (mutable). */
  apiConfig: ApiConfig;
  readonly engine: SimulatedEngine;

  private currentMode: SimulatorMode;
  private readonly faults = new FaultPlan();
  private readonly log: RecordedRequest[] = [];
  private nextRequestId = 1;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private relistenTimer: NodeJS.Timeout | undefined;
  private listeningNow = false;
  private boundPort = 0;
  private stopped = false;
  private readonly outputFolder: string;
  private readonly installFolder: string;
  private readonly ownsOutputFolder: boolean;
  private readonly control: ControlApi;
  private readonly host: SimulatorHost;

  constructor(options: SimulatorOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.currentMode = this.options.mode;
    this.apiConfig = defaultApiConfig();
    if (this.options.outputDir) {
      this.outputFolder = path.resolve(this.options.outputDir);
      fs.mkdirSync(this.outputFolder, { recursive: true });
      this.installFolder = path.dirname(this.outputFolder);
      this.ownsOutputFolder = false;
    } else {
      this.installFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-sim-'));
      this.outputFolder = path.join(this.installFolder, 'outputs');
      fs.mkdirSync(this.outputFolder);
      this.ownsOutputFolder = true;
    }
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
        return sim.outputFolder;
      },
      get alltalkDir() {
        return sim.installFolder;
      },
      get port() {
        return sim.boundPort;
      },
      sleep: (ms) => sim.sleep(ms),
      takeStreamCut: () => sim.faults.takeStreamCut(),
    };
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
    return this.boundPort;
  }

  get url(): string {
    const host = this.options.host;
    let shown = host;
    if (host === '0.0.0.0' || host === '') shown = '127.0.0.1';
    else if (host === '::') shown = '[::1]';
    else if (host.includes(':')) shown = `[${host}]`;
    return `http://${shown}:${this.boundPort}`;
  }

  get outputDir(): string {
    return this.outputFolder;
  }

  /** Whether the server is accepting connections right now. */
  get listening(): boolean {
    return this.listeningNow;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Starts the server and resolves its base URL (connections are refused for `startupMs` in real mode). */
  async start(): Promise<string> {
    if (this.server) throw new Error('the simulator is already started');
    this.stopped = false;
    // A restart after stop() needs the output folder back.
    fs.mkdirSync(this.outputFolder, { recursive: true });
    const server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    try {
      await this.listenOn(this.options.port);
    } catch (err) {
      this.server = undefined;
      throw err;
    }
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
        await this.closeListener();
        this.scheduleRelisten(startup);
      }
    }
    return this.url;
  }

  /** Closes everything: sockets, timers, the listener, and the temporary output folder. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = undefined;
    await this.closeListener();
    this.server = undefined;
    this.engine.gate.clear();
    if (this.ownsOutputFolder) fs.rmSync(this.installFolder, { recursive: true, force: true });
  }

  /** Stops listening now (open sockets destroyed) and listens again on the same port after `ms`. */
  async refuseConnections(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ms must be a non-negative number');
    this.requireStarted();
    await this.closeListener();
    this.scheduleRelisten(ms);
  }

  /** Stops listening until comeBack(). */
  async goAway(): Promise<void> {
    this.requireStarted();
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = undefined;
    await this.closeListener();
  }

  /** Listens again on the same port. */
  async comeBack(): Promise<void> {
    this.requireStarted();
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = undefined;
    if (!this.listeningNow) await this.listenOn(this.boundPort);
  }

  /** Resolves when the server is listening (at once if it is). */
  whenListening(): Promise<void> {
    if (this.listeningNow) return Promise.resolve();
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
    return this.log;
  }

  /** Every generation the engine ran since the last clearRequests()/reset(). */
  get generations(): GenerationRecord[] {
    return this.engine.generations;
  }

  clearRequests(): void {
    this.log.length = 0;
    this.engine.resetObservations();
  }

  /** The most generation-type requests processed at once since the last reset()/clearRequests(). */
  get maxConcurrentGenerations(): number {
    return this.engine.maxConcurrentGenerations;
  }

  /** Faults, latency, the log, mode and the engine profile back to the start state. */
  reset(): void {
    this.faults.clear();
    this.log.length = 0;
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
    if (!this.server) throw new Error('the simulator is not started');
  }

  private listenOn(port: number): Promise<void> {
    const server = this.server;
    if (!server) return Promise.reject(new Error('the simulator is not started'));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        server.off('error', onError);
        this.boundPort = (server.address() as AddressInfo).port;
        this.listeningNow = true;
        this.emit('listening', this.url);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, this.options.host);
    });
  }

  private scheduleRelisten(ms: number, attempt = 0): void {
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = undefined;
      if (this.stopped || !this.server || this.listeningNow) return;
      this.listenOn(this.boundPort).catch((err: NodeJS.ErrnoException) => {
        // Someone else took the port for a moment: try again for a while.
        if (err.code === 'EADDRINUSE' && attempt < 100) this.scheduleRelisten(50, attempt + 1);
        else this.emit('route-error', err);
      });
    }, ms);
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (!this.listeningNow) return;
    this.listeningNow = false;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.emit('refusing');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const receivedAt = now();
    res.setHeader('server', 'uvicorn');
    // Like uvicorn: the path is percent-decoded but dot segments are not resolved.
    const target = req.url ?? '/';
    const queryStart = target.indexOf('?');
    const rawPath = queryStart >= 0 ? target.slice(0, queryStart) : target;
    const searchParams = new URLSearchParams(queryStart >= 0 ? target.slice(queryStart + 1) : '');
    if (!rawPath.startsWith('/')) {
      sendNotFound(res);
      return;
    }
    let routePath = rawPath;
    try {
      routePath = decodeURIComponent(rawPath);
    } catch {
      // keep the raw path
    }
    if (routePath === '/__sim' || routePath.startsWith('/__sim/')) {
      await this.control.handle(req, res, routePath);
      return;
    }
    let rawBody: Buffer;
    try {
      rawBody = await readBody(req);
    } catch {
      return;
    }
    const body = parseBody(req.headers['content-type'], rawBody);
    const record: RecordedRequest = {
      id: this.nextRequestId++,
      method: req.method ?? 'GET',
      path: routePath,
      query: queryForLog(searchParams),
      rawBody: rawBody.toString('utf8'),
      headers: { ...req.headers },
      receivedAt,
    };
    if (body.isForm) record.form = { ...body.form };
    if (body.jsonParsed) record.json = body.json;
    this.log.push(record);
    const finished = (): void => {
      if (record.finishedAt !== undefined) return;
      record.finishedAt = now();
      record.status = res.statusCode;
      this.emit('response', record);
    };
    res.once('finish', finished);
    res.once('close', finished);
    this.emit('request', record);

    const exchange: Exchange = {
      req,
      res,
      method: record.method,
      path: routePath,
      query: searchParams,
      rawBody,
      body,
      record,
    };
    try {
      const latency = this.faults.latencyFor(routePath);
      if (latency > 0) await this.sleep(latency);
      // Documented mode: /api/ready answers `Unloaded` during a model load instead of waiting.
      const readyWhileLoading =
        this.currentMode === 'documented' &&
        routePath === '/api/ready' &&
        record.method === 'GET' &&
        this.engine.loadingModel > 0;
      // A request whose client went away meanwhile is still handled, as on the real server.
      if (!readyWhileLoading) await this.engine.gate.pass();
      record.startedAt = now();
      const fault = this.faults.takeFailure(routePath);
      if (fault) {
        sendFaultReply(res, fault);
        return;
      }
      await dispatch(this.host, exchange);
    } catch (err) {
      this.emit('route-error', err instanceof Error ? err : new Error(String(err)));
      if (!res.headersSent) sendInternalServerError(res);
      else res.destroy();
    }
  }
}
