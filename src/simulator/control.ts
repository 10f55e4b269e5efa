/**
 * The simulator's HTTP control API under /__sim/ (a path the real server never uses). Control
 * requests are not recorded and never wait for a busy engine.
 *
 *   GET    /__sim/requests       the request log
 *   DELETE /__sim/requests       clear the log (and the generation log, concurrency counter)
 *   GET    /__sim/generations    the generation log
 *   GET    /__sim/state          profile, mode, settings, voices, options in effect...
 *   POST   /__sim/reset          back to the start state
 *   POST   /__sim/fail           {path, count, status, body?, contentType?}
 *   POST   /__sim/latency        {path, ms}
 *   POST   /__sim/refuse         {ms}  (after this reply: refuse connections for ms)
 *   POST   /__sim/cut-stream     {afterBytes}
 *   POST   /__sim/profile        {profile}
 *   GET    /__sim/settings       the 24 current settings
 *   POST   /__sim/settings       partial settings, merged
 *   POST   /__sim/mode           {mode}
 *   POST   /__sim/voices         {voices?, rvcVoices?, openaiVoiceMap?}
 *   POST   /__sim/api-config     partial api_def defaults, merged
 *   POST   /__sim/engine         {modelLoaded?, cuda?, ffmpeg?}
 *   POST   /__sim/hold           running and later generations/model loads do not finish...
 *   POST   /__sim/release        ...until this
 */
import type { IncomingMessage, ServerResponse } from 'http';
import type { FaultReply } from './faults';
import { isSimulatorMode } from './options';
import { isProfileName, OPENAI_VOICES, SETTINGS_KEYS, type ApiConfig, type OpenAiVoice } from './profiles';
import { sendJson } from './replies';
import { readBody } from './request-body';
import type { AllTalkSimulator } from './server';

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type JsonObject = Record<string, unknown>;

function bad(message: string): never {
  throw new ControlError(400, message);
}

function numberField(body: JsonObject, name: string): number {
  const v = body[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${name} must be a number`);
  return v;
}

function stringField(body: JsonObject, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') bad(`${name} must be a non-empty string`);
  return v;
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) bad(`${name} must be a list of strings`);
  return [...(value as string[])];
}

export class ControlApi {
  constructor(private readonly sim: AllTalkSimulator) {}

  async handle(req: IncomingMessage, res: ServerResponse, routePath: string): Promise<void> {
    const method = req.method ?? 'GET';
    try {
      const raw = await readBody(req);
      let body: JsonObject = {};
      if (raw.length > 0) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          bad('the body must be JSON');
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) bad('the body must be a JSON object');
        body = parsed as JsonObject;
      }
      const result = this.route(method, routePath.replace(/\/+$/, ''), body, res);
      sendJson(res, 200, result ?? { ok: true });
    } catch (err) {
      if (err instanceof ControlError) sendJson(res, err.status, { error: err.message });
      else sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private route(method: string, route: string, body: JsonObject, res: ServerResponse): unknown {
    const sim = this.sim;
    const expect = (...methods: string[]): void => {
      if (!methods.includes(method)) throw new ControlError(405, `use ${methods.join(' or ')} for ${route}`);
    };
    switch (route) {
      case '/__sim/requests':
        expect('GET', 'DELETE');
        if (method === 'GET') return sim.requests;
        sim.clearRequests();
        return undefined;
      case '/__sim/generations':
        expect('GET');
        return sim.generations;
      case '/__sim/state':
        expect('GET');
        return {
          url: sim.url,
          port: sim.port,
          listening: sim.listening,
          profile: sim.profile,
          mode: sim.mode,
          outputDir: sim.outputDir,
          maxConcurrentGenerations: sim.maxConcurrentGenerations,
          modelLoaded: sim.engine.modelLoaded,
          settings: sim.settings,
          voices: sim.voices,
          rvcVoices: sim.rvcVoices,
          openaiVoiceMap: sim.openaiVoiceMap,
          apiConfig: sim.apiConfig,
          options: sim.options,
        };
      case '/__sim/reset':
        expect('POST');
        sim.reset();
        return undefined;
      case '/__sim/fail': {
        expect('POST');
        const reply: FaultReply = { status: numberField(body, 'status') };
        if (body.body !== undefined) {
          if (typeof body.body !== 'string' && (typeof body.body !== 'object' || body.body === null)) {
            bad('body must be a string or an object');
          }
          reply.body = body.body as string | object;
        }
        if (body.contentType !== undefined) {
          if (body.contentType !== null && typeof body.contentType !== 'string') bad('contentType must be a string or null');
          reply.contentType = body.contentType as string | null;
        }
        sim.failNext(stringField(body, 'path'), body.count === undefined ? 1 : numberField(body, 'count'), reply);
        return undefined;
      }
      case '/__sim/latency':
        expect('POST');
        sim.setLatency(stringField(body, 'path'), numberField(body, 'ms'));
        return undefined;
      case '/__sim/refuse': {
        expect('POST');
        const ms = numberField(body, 'ms');
        if (ms < 0) bad('ms must not be negative');
        // Answer first: refusing destroys every open socket, this one included.
        res.once('finish', () => {
          sim.refuseConnections(ms).catch(() => undefined);
        });
        return undefined;
      }
      case '/__sim/cut-stream':
        expect('POST');
        sim.cutNextStream(numberField(body, 'afterBytes'));
        return undefined;
      case '/__sim/profile': {
        expect('POST');
        const profile = body.profile;
        if (!isProfileName(profile)) bad('profile must be "xtts" or "piper"');
        sim.setProfile(profile);
        return { profile };
      }
      case '/__sim/settings': {
        expect('GET', 'POST');
        if (method === 'POST') {
          const unknown = Object.keys(body).filter((k) => !(SETTINGS_KEYS as readonly string[]).includes(k));
          if (unknown.length > 0) bad(`unknown settings: ${unknown.join(', ')}`);
          Object.assign(sim.settings, body);
        }
        return sim.settings;
      }
      case '/__sim/mode': {
        expect('POST');
        if (!isSimulatorMode(body.mode)) bad('mode must be "real" or "documented"');
        sim.mode = body.mode;
        return { mode: sim.mode };
      }
      case '/__sim/voices': {
        expect('POST');
        if (body.voices !== undefined) sim.voices = stringList(body.voices, 'voices');
        if (body.rvcVoices !== undefined) sim.rvcVoices = stringList(body.rvcVoices, 'rvcVoices');
        if (body.openaiVoiceMap !== undefined) {
          const map = body.openaiVoiceMap as JsonObject;
          if (map === null || typeof map !== 'object') bad('openaiVoiceMap must be an object');
          const next = { ...sim.openaiVoiceMap };
          for (const [k, v] of Object.entries(map)) {
            if (!(OPENAI_VOICES as readonly string[]).includes(k) || typeof v !== 'string') {
              bad(`openaiVoiceMap.${k} is not an OpenAI voice name mapped to a string`);
            }
            next[k as OpenAiVoice] = v;
          }
          sim.openaiVoiceMap = next;
        }
        return { voices: sim.voices, rvcVoices: sim.rvcVoices, openaiVoiceMap: sim.openaiVoiceMap };
      }
      case '/__sim/api-config': {
        expect('POST');
        const unknown = Object.keys(body).filter((k) => !(k in sim.apiConfig));
        if (unknown.length > 0) bad(`unknown api config keys: ${unknown.join(', ')}`);
        Object.assign(sim.apiConfig, body as Partial<ApiConfig>);
        return sim.apiConfig;
      }
      case '/__sim/engine': {
        expect('POST');
        if (body.modelLoaded !== undefined) {
          if (typeof body.modelLoaded !== 'boolean') bad('modelLoaded must be a boolean');
          sim.engine.modelLoaded = body.modelLoaded;
        }
        if (body.cuda !== undefined) {
          if (typeof body.cuda !== 'boolean') bad('cuda must be a boolean');
          sim.engine.cuda = body.cuda;
        }
        if (body.ffmpeg !== undefined) {
          if (typeof body.ffmpeg !== 'boolean') bad('ffmpeg must be a boolean');
          sim.engine.ffmpeg = body.ffmpeg;
        }
        return { modelLoaded: sim.engine.modelLoaded, cuda: sim.engine.cuda, ffmpeg: sim.engine.ffmpeg };
      }
      case '/__sim/hold':
        expect('POST');
        sim.holdEngine();
        return undefined;
      case '/__sim/release':
        expect('POST');
        sim.engine.releaseHolds();
        return undefined;
      default:
        throw new ControlError(404, `unknown simulator control route: ${route}`);
    }
  }
}
