/**
 * AllTalkClient: one per AllTalk server. One typed method per route of the v2 API, over the
 * Transport (pool, deadlines, size limits, errors). Knows nothing about Node-RED.
 */
import type { Readable } from 'node:stream';
import { audioExtension, audioOfFormat, notAudioReason } from './audio-format';
import { type AllTalkError, validationError } from './errors';
import { PLACEHOLDER_MODELS } from './rules';
import { serverPath } from './server-path';
import { openStream, type StreamOptions, streamToBuffer, streamToFile } from './streaming';
import { type CallOptions, Transport, type TransportOptions } from './transport';
import type {
  AudioDownload,
  CurrentSettings,
  OpenAiSpeechParams,
  OpenAiSpeechResult,
  OpenAiVoiceMap,
  PreviewVoiceParams,
  PreviewVoiceResult,
  ReadyText,
  StreamParams,
  ToggleResult,
  TtsGenerateParams,
  TtsGenerateResult,
} from './types';
import { CAPABILITY_FLAGS } from './types';
import {
  type FormFields,
  validateOpenAiSpeech,
  validateOpenAiVoiceMap,
  validateTtsGenerate,
  type ValidationContext,
} from './validation';

export type { CallOptions, RetryOptions, TlsOptions } from './transport';
export type { StreamOptions } from './streaming';
export { serverPath } from './server-path';

export type AllTalkClientOptions = TransportOptions;

export class AllTalkClient {
  /** The HTTP layer: pool, deadlines, size limits and error mapping. */
  readonly transport: Transport;

  constructor(options: AllTalkClientOptions = {}) {
    this.transport = new Transport(options);
  }

  get origin(): string {
    return this.transport.origin;
  }

  get timeoutMs(): number {
    return this.transport.timeoutMs;
  }

  get generationTimeoutMs(): number {
    return this.transport.generationTimeoutMs;
  }

  get maxAudioBytes(): number {
    return this.transport.maxAudioBytes;
  }

  /** The absolute URL of a server path or URL, on the configured protocol/host/port. */
  audioUrl(url: string): string {
    return `${this.origin}${this.path(url)}`;
  }

  /** The request path for a path or URL the server sent (its errors redacted like every other). */
  private path(url: unknown): string {
    try {
      return serverPath(url, this.origin, (text) => this.transport.redact(text));
    } catch (err) {
      const e = err as AllTalkError;
      throw this.transport.error(e.kind, e.message);
    }
  }

  // ---- status calls -------------------------------------------------------------------------

  /** GET /api/ready: `Ready` (serving) or `Unloaded`. Refused → offline; a hang → busy. */
  async ready(opts: CallOptions = {}): Promise<ReadyText> {
    const reply = await this.transport.expectOk({ method: 'GET', path: '/api/ready', retry: 'read' }, opts);
    const text = reply.body.toString('utf8').trim();
    if (text === 'Ready' || text === 'Unloaded') return text;
    throw this.transport.invalid('/api/ready', `expected "Ready" or "Unloaded", got ${this.transport.preview(text)}`);
  }

  /** GET /api/currentsettings, with every capability flag present (missing ones read as false). */
  async currentSettings(opts: CallOptions = {}): Promise<CurrentSettings> {
    const route = '/api/currentsettings';
    const data = this.transport.json(route, await this.transport.expectOk({ method: 'GET', path: route, retry: 'read' }, opts));
    if (typeof data.current_engine_loaded !== 'string') {
      throw this.transport.invalid(route, 'current_engine_loaded is missing');
    }
    return normaliseSettings(data);
  }

  /** GET /api/voices. An engine without voices answers HTTP 200 with status "error": rejected. */
  async voices(opts: CallOptions = {}): Promise<string[]> {
    const route = '/api/voices';
    const data = this.transport.json(route, await this.transport.expectOk({ method: 'GET', path: route, retry: 'read' }, opts));
    this.transport.rejectOnErrorStatus(route, data);
    if (!isStringArray(data.voices)) throw this.transport.invalid(route, 'no "voices" list');
    return data.voices;
  }

  /** GET /api/rvcvoices. The real server's key is `rvcvoices`; the documentation says `voices`. */
  async rvcVoices(opts: CallOptions = {}): Promise<string[]> {
    const route = '/api/rvcvoices';
    const data = this.transport.json(route, await this.transport.expectOk({ method: 'GET', path: route, retry: 'read' }, opts));
    this.transport.rejectOnErrorStatus(route, data);
    const list = isStringArray(data.rvcvoices) ? data.rvcvoices : isStringArray(data.voices) ? data.voices : undefined;
    if (!list) throw this.transport.invalid(route, 'no "rvcvoices" list');
    return list;
  }

  /** GET /api/reload_config: the server re-reads its configuration files. */
  async reloadConfig(opts: CallOptions = {}): Promise<string> {
    const reply = await this.transport.expectOk({ method: 'GET', path: '/api/reload_config', retry: 'read' }, opts);
    return reply.body.toString('utf8').trim();
  }

  /** PUT /api/stop-generation. Only an XTTS stream actually stops; the reply is always the same. */
  async stopGeneration(opts: CallOptions = {}): Promise<{ message: string }> {
    const route = '/api/stop-generation';
    const data = this.transport.json(route, await this.transport.expectOk({ method: 'PUT', path: route, retry: 'read' }, opts));
    return { message: typeof data.message === 'string' ? data.message : '' };
  }

  // ---- long calls ---------------------------------------------------------------------------

  /**
   * POST /api/reload?tts_method=: load another model (blocks the server while it loads). Pass
   * the known models to have an unknown one refused before sending (the real server answers 500).
   */
  async reloadModel(ttsMethod: string, opts: CallOptions & { models?: readonly string[] } = {}): Promise<{ status: 'model-success' }> {
    const route = '/api/reload';
    if (typeof ttsMethod !== 'string' || !ttsMethod.trim()) throw validationError('tts_method', ttsMethod, 'a model name from models_available');
    const models = opts.models?.filter((m) => !(PLACEHOLDER_MODELS as readonly string[]).includes(m));
    if (models && models.length && !models.includes(ttsMethod)) {
      throw validationError('tts_method', ttsMethod, `one of the server's models: ${models.join(', ')}`);
    }
    const reply = await this.transport.request({ method: 'POST', path: route, query: { tts_method: ttsMethod }, long: true, retry: 'refused' }, opts);
    if (reply.status === 500) {
      throw this.transport.httpError('POST', route, reply,
        `AllTalk could not load model "${ttsMethod}" (HTTP 500): the name is unknown or the model failed to load. ` +
          'Check the model list; the server may now have no model loaded.');
    }
    const data = this.transport.json(route, this.transport.ensureOk('POST', route, reply));
    if (data.status === 'model-success') return { status: 'model-success' };
    if (data.status === 'model-failure') throw this.transport.rejected(route, `AllTalk could not load model "${ttsMethod}" (model-failure).`, data);
    if (typeof data.status === 'string' && data.status.startsWith('model-is')) {
      throw this.transport.rejected(route, 'AllTalk is already changing the model; try again when it has finished.', data);
    }
    this.transport.rejectOnErrorStatus(route, data);
    throw this.transport.invalid(route, `unexpected status ${this.transport.preview(String(data.status))}`);
  }

  /** POST /api/deepspeed?new_deepspeed_value=. Reloads the engine's start-up model. */
  setDeepSpeed(enabled: boolean, opts: CallOptions = {}): Promise<ToggleResult> {
    return this.toggle('/api/deepspeed', 'new_deepspeed_value', 'deepspeed-success', enabled, opts);
  }

  /** POST /api/lowvramsetting?new_low_vram_value=. Reloads the engine's start-up model. */
  setLowVram(enabled: boolean, opts: CallOptions = {}): Promise<ToggleResult> {
    return this.toggle('/api/lowvramsetting', 'new_low_vram_value', 'lowvram-success', enabled, opts);
  }

  private async toggle(route: string, param: string, successStatus: string, enabled: boolean, opts: CallOptions): Promise<ToggleResult> {
    if (typeof enabled !== 'boolean') throw validationError(param, enabled, 'true or false');
    const reply = await this.transport.expectOk({ method: 'POST', path: route, query: { [param]: String(enabled) }, long: true, retry: 'refused' }, opts);
    const data = this.transport.json(route, reply);
    this.transport.rejectOnErrorStatus(route, data);
    const message = typeof data.message === 'string' && data.message ? data.message : undefined;
    if (data.status === successStatus) return { status: successStatus, message, changed: true };
    if (data.status === 'success') return { status: 'success', message, changed: false };
    throw this.transport.invalid(route, `unexpected status ${this.transport.preview(String(data.status))}`);
  }

  /**
   * POST /api/tts-generate (form-urlencoded). Checks every field first with the server's rules
   * (pass the cached settings/voices in `ctx` for capability and voice checks); sends only the
   * fields that are set. Never retried after the request reached the server.
   */
  async ttsGenerate(params: TtsGenerateParams, opts: CallOptions & ValidationContext = {}): Promise<TtsGenerateResult> {
    const form = validateTtsGenerate(params as unknown as Record<string, unknown>, opts);
    return this.ttsGenerateForm(form, opts);
  }

  /** Sends form fields already checked by validateTtsGenerate. */
  async ttsGenerateForm(form: FormFields, opts: CallOptions = {}): Promise<TtsGenerateResult> {
    const route = '/api/tts-generate';
    // As expectOk, one promise fewer: this is every message's call.
    const reply = this.transport.ensureOk('POST', route, await this.transport.request(
      { method: 'POST', path: route, body: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded', long: true, retry: 'refused' },
      opts,
    ));
    const data = this.transport.json(route, reply);
    if (data.status !== 'generate-success') {
      this.transport.rejectOnErrorStatus(route, data);
      throw this.transport.invalid(route, `status is ${this.transport.preview(String(data.status))}, not "generate-success"`);
    }
    if (typeof data.output_file_url !== 'string' || !data.output_file_url) throw this.transport.invalid(route, 'no output_file_url');
    const result: TtsGenerateResult = {
      status: 'generate-success',
      output_file_path: typeof data.output_file_path === 'string' ? data.output_file_path : '',
      output_file_url: data.output_file_url,
      url: this.audioUrl(data.output_file_url),
    };
    if (typeof data.output_cache_url === 'string' && data.output_cache_url) {
      result.output_cache_url = data.output_cache_url;
      result.cacheUrl = this.audioUrl(data.output_cache_url);
    }
    return result;
  }

  /**
   * GET /api/tts-generate-streaming: a Readable of the WAV as it is generated (a 44-byte header
   * with zero sizes, then s16le 24 kHz mono). Reading slowly slows the download (backpressure).
   * A body cut short after the 200 makes the stream fail with an `offline` error. `timeoutMs`
   * here is the longest wait for the headers and the longest silence between chunks.
   */
  streamTts(params: StreamParams, opts: StreamOptions = {}): Promise<Readable> {
    return openStream(this.transport, params, opts);
  }

  /** Streams and collects the whole WAV, with the header's sizes written in. */
  streamTtsToBuffer(params: StreamParams, opts: StreamOptions = {}): Promise<Buffer> {
    return streamToBuffer(this.transport, params, opts);
  }

  /**
   * Streams to a file: written to `<file>.part`, the header's sizes fixed, then renamed, so a
   * reader never sees half a file. Resolves the number of bytes written.
   */
  streamTtsToFile(params: StreamParams, filePath: string, opts: StreamOptions = {}): Promise<number> {
    return streamToFile(this.transport, params, filePath, opts);
  }

  /**
   * POST /v1/audio/speech (OpenAI-compatible). Checked fully first: the real server reports every
   * mistake as a bare "500 Internal Server Error".
   */
  async openaiSpeech(params: OpenAiSpeechParams, opts: CallOptions = {}): Promise<OpenAiSpeechResult> {
    const route = '/v1/audio/speech';
    const p = validateOpenAiSpeech(params);
    const reply = await this.transport.request(
      { method: 'POST', path: route, body: JSON.stringify(p), contentType: 'application/json', long: true, retry: 'refused', maxBytes: this.transport.maxAudioBytes, what: 'audio' },
      opts,
    );
    if (reply.status !== 200) {
      const plain500 = reply.status === 500 && reply.body.toString('utf8').trim() === 'Internal Server Error';
      throw this.transport.httpError('POST', route, reply, plain500
        ? `AllTalk at ${this.origin} answered ${route} with a bare "500 Internal Server Error". The request passed every ` +
            'check here (voice, format, speed, length), so the cause is on the server, which reports every problem that way. ' +
            'The usual causes: ffmpeg is not installed on the AllTalk machine (it is needed even for wav), the OpenAI voice ' +
            `"${p.voice}" is mapped to a voice file that does not exist (set the map with alltalk-control's voicemap command), ` +
            'or AllTalk could not detect the language of the text. ' +
            'AllTalk\'s own console shows the real error.'
        : undefined);
    }
    const contentType = headerValue(reply.headers['content-type']) ?? '';
    const notAudio = notAudioReason(reply.body, p.response_format, (text) => this.transport.redact(text));
    if (!contentType.startsWith('audio/') || notAudio) {
      throw this.transport.invalid(route, `expected ${p.response_format} audio, got ${contentType || 'no content type'}, ${reply.body.length} bytes: ${notAudio ?? 'not audio'}`);
    }
    return { audio: reply.body, contentType, format: p.response_format };
  }

  /** PUT /api/openai-voicemap: all six OpenAI voices, each mapped to a voice the server has. */
  async setOpenAiVoiceMap(map: OpenAiVoiceMap, opts: CallOptions & ValidationContext = {}): Promise<{ message: string }> {
    const route = '/api/openai-voicemap';
    const body = validateOpenAiVoiceMap(map, opts);
    const data = this.transport.json(route, await this.transport.expectOk(
      { method: 'PUT', path: route, body: JSON.stringify(body), contentType: 'application/json', retry: 'refused' }, opts));
    return { message: typeof data.message === 'string' ? data.message : '' };
  }

  /** POST /api/previewvoice/ (the trailing slash matters: without it the server redirects). */
  async previewVoice(params: PreviewVoiceParams, opts: CallOptions = {}): Promise<PreviewVoiceResult> {
    const route = '/api/previewvoice/';
    if (typeof params.voice !== 'string' || !params.voice.trim()) throw validationError('voice', params.voice, 'a voice name');
    const form: FormFields = { voice: params.voice };
    if (params.rvccharacter_voice_gen) form.rvccharacter_voice_gen = params.rvccharacter_voice_gen;
    if (params.rvccharacter_pitch !== undefined) {
      const pitch = Number(params.rvccharacter_pitch);
      if (!Number.isFinite(pitch) || pitch < -24 || pitch > 24) throw validationError('rvccharacter_pitch', params.rvccharacter_pitch, 'a number from -24 to 24');
      form.rvccharacter_pitch = String(pitch);
    }
    const data = this.transport.json(route, await this.transport.expectOk(
      { method: 'POST', path: route, body: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded', long: true, retry: 'refused' },
      opts,
    ));
    if (data.status !== 'generate-success' || typeof data.output_file_url !== 'string') {
      this.transport.rejectOnErrorStatus(route, data);
      throw this.transport.invalid(route, 'no output_file_url');
    }
    const url = this.audioUrl(data.output_file_url);
    return {
      status: 'generate-success',
      output_file_path: typeof data.output_file_path === 'string' ? data.output_file_path : '',
      output_file_url: data.output_file_url,
      url: `${url}${url.includes('?') ? '&' : '?'}t=${Date.now()}`,
    };
  }

  /**
   * Downloads audio the server generated. Relative and absolute (legacy) URLs are both rebased
   * on the configured origin: another host is never contacted.
   */
  async fetchAudio(url: string, opts: CallOptions = {}): Promise<AudioDownload> {
    if (typeof url !== 'string' || !url.trim()) throw validationError('url', url, 'the audio URL or path the server returned');
    const path = this.path(url);
    const reply = await this.transport.request({ method: 'GET', path, long: true, retry: 'read', maxBytes: this.transport.maxAudioBytes, what: 'audio' }, opts);
    if (reply.status === 404) {
      throw this.transport.httpError('GET', path, reply, `AllTalk at ${this.origin} has no audio file at ${path} (404). ` +
        'It may have been overwritten or deleted, or the server writes to another output folder.');
    }
    this.transport.ensureOk('GET', path, reply);
    // The type is what the bytes are, never what the server's header or the URL's name says.
    const type = audioOfFormat(reply.body, audioExtension(path) || 'any', (text) => this.transport.redact(text));
    if (typeof type === 'string') {
      throw this.transport.error('invalid-response', `AllTalk at ${this.origin} answered GET ${path} with something that is not audio ` +
        `(${type}). Is a proxy or another program answering on that port?`, { route: path });
    }
    return { data: reply.body, contentType: type.contentType, ext: type.ext, url: `${this.origin}${path}` };
  }

  /** Closes every socket; calls still in flight fail with `aborted`. */
  close(): Promise<void> {
    return this.transport.close();
  }

  get isClosed(): boolean {
    return this.transport.isClosed;
  }
}

function normaliseSettings(data: Record<string, unknown>): CurrentSettings {
  const s = { ...data } as Record<string, unknown>;
  for (const flag of [...CAPABILITY_FLAGS, 'deepspeed_enabled', 'lowvram_enabled', 'ttsengines_installed'] as const) s[flag] = s[flag] === true;
  if (!isStringArray(s.engines_available)) s.engines_available = [];
  if (!Array.isArray(s.models_available)) s.models_available = [];
  s.models_available = (s.models_available as unknown[])
    .map((m) => (typeof m === 'string' ? { name: m } : m))
    .filter((m): m is { name: string } => !!m && typeof (m as { name?: unknown }).name === 'string');
  if (typeof s.current_model_loaded !== 'string') s.current_model_loaded = null;
  for (const key of ['manufacturer_name', 'audio_format'] as const) if (typeof s[key] !== 'string') s[key] = '';
  for (const key of ['generationspeed_set', 'pitch_set', 'repetitionpenalty_set', 'temperature_set'] as const) {
    const n = Number(s[key]);
    s[key] = Number.isFinite(n) ? n : 0;
  }
  return s as unknown as CurrentSettings;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
