/**
 * File-producing generation routes: POST /api/tts-generate (standard and narrator mode),
 * POST /api/tts-generate-streaming (which does not stream) and POST /api/previewvoice/.
 */
import * as path from 'path';
import { encodeWav } from '../api/wav';
import { concatSamples, resample } from './audio';
import { combinedFileName, encodeNative, outputFileName, writeFileAtomically } from './audio-files';
import { generateFailure } from './documented-mode';
import { EngineHttpError, EngineRuntimeError, errorText, isFileSystemError, type GenerationTicket } from './engine';
import { splitNarration, voiceForPart } from './narrator';
import {
  sendDetail,
  sendInternalServerError,
  sendJson,
  sendValidationError,
  type ValidationIssue,
} from './replies';
import { fileUrls, safeOutputPath, type Exchange, type RouteHandler, type SimulatorHost } from './route-context';
import { cleanText, detectLanguage, LanguageDetectionError, pyLength } from './text-processing';
import { parseFields, TTS_GENERATE_FIELDS, validateTtsParams, type FieldValue, type TtsParams } from './validation';

const NARRATOR_SAMPLE_RATE = 44100;

function str(v: FieldValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: FieldValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function bool(v: FieldValue | undefined): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/** Request value unless missing, else the server default (config or engine). */
function mergeTtsParams(host: SimulatorHost, v: Record<string, FieldValue | undefined>): TtsParams {
  const cfg = host.apiConfig;
  const { settings, profile } = host.engine;
  return {
    text_filtering: str(v.text_filtering) ?? cfg.api_text_filtering,
    character_voice_gen: str(v.character_voice_gen) ?? profile.defaultCharacterVoice,
    rvccharacter_voice_gen: str(v.rvccharacter_voice_gen) ?? cfg.rvc_char_model_file,
    rvccharacter_pitch: num(v.rvccharacter_pitch) ?? cfg.rvc_pitch,
    narrator_enabled: str(v.narrator_enabled) ?? cfg.api_narrator_enabled,
    narrator_voice_gen: str(v.narrator_voice_gen) ?? profile.defaultNarratorVoice,
    rvcnarrator_voice_gen: str(v.rvcnarrator_voice_gen) ?? cfg.rvc_narr_model_file,
    rvcnarrator_pitch: num(v.rvcnarrator_pitch) ?? cfg.rvc_pitch,
    text_not_inside: str(v.text_not_inside) ?? cfg.api_text_not_inside,
    language: str(v.language) ?? cfg.api_language,
    output_file_name: str(v.output_file_name) ?? cfg.api_output_file_name,
    output_file_timestamp: bool(v.output_file_timestamp) ?? cfg.api_output_file_timestamp,
    autoplay: bool(v.autoplay) ?? cfg.api_autoplay,
    autoplay_volume: num(v.autoplay_volume) ?? cfg.api_autoplay_volume,
    speed: num(v.speed) ?? settings.generationspeed_set,
    pitch: num(v.pitch) ?? settings.pitch_set,
    temperature: num(v.temperature) ?? settings.temperature_set,
    repetition_penalty: num(v.repetition_penalty) ?? Number(String(settings.repetitionpenalty_set).replace(',', '.')),
  };
}

/** Whether RVC would run for a voice: enabled globally, not Disabled, and the .pth exists. */
export function rvcApplies(host: SimulatorHost, voice: string): boolean {
  if (!host.engine.rvcEnabledGlobally) return false;
  if (['disabled', 'disable'].includes(voice.toLowerCase())) return false;
  const wanted = voice.replace(/\\/g, '/');
  return host.engine.rvcVoices.some((v) => v.replace(/\\/g, '/') === wanted);
}

interface TtsReplies {
  validation(issues: ValidationIssue[]): void;
  invalid(message: string): void;
  engine(error: EngineHttpError): void;
  failure(status: number, message: string): void;
}

function ttsReplies(host: SimulatorHost, ex: Exchange): TtsReplies {
  const documented = host.mode === 'documented';
  return {
    validation: (issues) => {
      if (!documented) return sendValidationError(ex.res, issues);
      const lines = issues.map((i) => `${String(i.loc[i.loc.length - 1])}: ${i.msg}`);
      sendJson(ex.res, 422, generateFailure(lines.join('\n')));
    },
    invalid: (message) => sendJson(ex.res, 400, documented ? generateFailure(message) : { error: message }),
    engine: (error) => {
      if (documented) sendJson(ex.res, error.status, generateFailure(error.detail));
      else sendDetail(ex.res, error.status, error.detail);
    },
    failure: (status, message) => sendJson(ex.res, status, generateFailure(message)),
  };
}

export const postTtsGenerate: RouteHandler = async (host, ex) => {
  const replies = ttsReplies(host, ex);
  const parsed = parseFields(ex.body.isForm ? ex.body.form : {}, TTS_GENERATE_FIELDS, 'body');
  if (parsed.issues.length > 0) {
    replies.validation(parsed.issues);
    return;
  }
  const textInput = parsed.values.text_input as string;
  const params = mergeTtsParams(host, parsed.values);
  const invalid = validateTtsParams(textInput, params, {
    maxCharacters: host.options.maxCharacters,
    checkRvcPitch: host.mode === 'documented',
  });
  if (invalid) {
    replies.invalid(invalid);
    return;
  }
  const narrator = params.narrator_enabled === 'true' || params.narrator_enabled === 'silent';
  const ticket = host.engine.beginGeneration(ex.record.id, '/api/tts-generate', {
    text_input: textInput,
    ...params,
    // Parsed, then dropped by the server: this route never streams.
    streaming: parsed.values.streaming ?? false,
    mode: narrator ? 'narrator' : 'standard',
  });
  try {
    const result = narrator
      ? await generateNarrated(host, textInput, params, ticket)
      : await generateStandard(host, textInput, params, ticket);
    const urls = fileUrls(host, path.basename(result.filePath));
    sendJson(ex.res, 200, {
      status: 'generate-success',
      output_file_path: result.filePath,
      output_file_url: urls.fileUrl,
      output_cache_url: urls.cacheUrl,
    });
    ticket.end('success', { outputFile: result.filePath, audioSeconds: result.seconds });
  } catch (err) {
    if (err instanceof LanguageDetectionError) replies.failure(400, 'Could not detect language');
    else if (err instanceof EngineRuntimeError) replies.failure(500, 'TTS generation failed');
    else if (err instanceof EngineHttpError) replies.engine(err);
    else if (isFileSystemError(err)) replies.failure(500, 'File operation failed');
    else sendInternalServerError(ex.res);
    ticket.end('error', { error: errorText(err) });
  }
};

interface GeneratedFile {
  filePath: string;
  seconds: number;
}

async function generateStandard(
  host: SimulatorHost,
  textInput: string,
  params: TtsParams,
  ticket: GenerationTicket,
): Promise<GeneratedFile> {
  const { engine } = host;
  const fileName = outputFileName(params.output_file_name, params.output_file_timestamp, engine.settings.audio_format);
  const filePath = path.join(host.outputDir, fileName);
  const cleaned = cleanText(textInput, params.text_filtering);
  const language = params.language === 'auto' ? detectLanguage(cleaned) : params.language;
  Object.assign(ticket.record.params, {
    cleaned_text: cleaned,
    resolved_language: language,
    rvc_applied: rvcApplies(host, params.rvccharacter_voice_gen),
  });
  const audio = await engine.render({ text: cleaned, voice: params.character_voice_gen, language, speed: params.speed });
  await writeFileAtomically(filePath, encodeNative(audio.samples, engine.profile.native));
  if (params.autoplay) {
    // Played on the server's sound card: the reply waits a little (the simulator has no speakers).
    await host.sleep(Math.min(50, audio.seconds * 10));
  }
  return { filePath, seconds: audio.seconds };
}

interface NarratedPart {
  type: string;
  text: string;
  voice?: string;
  generated: boolean;
  error?: string;
}

async function generateNarrated(
  host: SimulatorHost,
  textInput: string,
  params: TtsParams,
  ticket: GenerationTicket,
): Promise<GeneratedFile> {
  const { engine } = host;
  const pieces: Float32Array[] = [];
  const parts: NarratedPart[] = [];
  ticket.record.params.parts = parts;
  for (const part of splitNarration(textInput)) {
    if (pyLength(part.text.trim()) <= host.apiConfig.api_length_stripping) {
      parts.push({ type: part.type, text: part.text, generated: false });
      continue;
    }
    const voice = voiceForPart(part.type, params);
    const entry: NarratedPart = { type: part.type, text: part.text, voice, generated: false };
    parts.push(entry);
    if (!voice) continue;
    try {
      const cleaned = cleanText(part.text, params.text_filtering);
      const language = params.language === 'auto' ? detectLanguage(cleaned) : params.language;
      const audio = await engine.render({ text: cleaned, voice, language, speed: params.speed });
      pieces.push(resample(audio.samples, audio.sampleRate, NARRATOR_SAMPLE_RATE));
      entry.generated = true;
    } catch (err) {
      // ValueError, RuntimeError and friends lose the part; an engine HTTPException fails the request.
      if (err instanceof EngineHttpError) throw err;
      entry.error = err instanceof Error ? err.message : String(err);
    }
  }
  const fileName = combinedFileName(params.output_file_name, params.output_file_timestamp);
  const filePath = path.join(host.outputDir, fileName);
  const combined = concatSamples(pieces);
  await writeFileAtomically(filePath, encodeWav(combined, { sampleRate: NARRATOR_SAMPLE_RATE, encoding: 's16' }));
  return { filePath, seconds: combined.length / NARRATOR_SAMPLE_RATE };
}

const STREAM_FORM_FIELDS = [
  { name: 'text', type: 'str', required: true },
  { name: 'voice', type: 'str', required: true },
  { name: 'language', type: 'str', required: true },
  { name: 'output_file', type: 'str', required: true },
] as const;

/** POST /api/tts-generate-streaming: generates `<output_file>.<fmt>` and returns the name as sent. */
export const postTtsGenerateStreaming: RouteHandler = async (host, ex) => {
  const parsed = parseFields(ex.body.isForm ? ex.body.form : {}, STREAM_FORM_FIELDS, 'body');
  if (parsed.issues.length > 0) {
    sendValidationError(ex.res, parsed.issues);
    return;
  }
  const text = parsed.values.text as string;
  const voice = parsed.values.voice as string;
  const outputFile = parsed.values.output_file as string;
  const { engine } = host;
  const ticket = engine.beginGeneration(ex.record.id, '/api/tts-generate-streaming', {
    text,
    voice,
    language: parsed.values.language,
    output_file: outputFile,
    speed: 1.0,
    pitch: 1.0,
  });
  try {
    const language = parsed.values.language === 'auto' ? detectLanguage(text) : (parsed.values.language as string);
    ticket.record.params.resolved_language = language;
    const filePath = safeOutputPath(host, `${outputFile}.${engine.settings.audio_format}`);
    if (!filePath) throw new EngineHttpError(500, 'Audio streaming failed');
    const audio = await engine.render({ text, voice, language, speed: 1.0 });
    await writeFileAtomically(filePath, encodeNative(audio.samples, engine.profile.native));
    sendJson(ex.res, 200, { output_file_path: outputFile });
    ticket.end('success', { outputFile: filePath, audioSeconds: audio.seconds });
  } catch (err) {
    if (err instanceof LanguageDetectionError) sendDetail(ex.res, 400, 'Could not detect language');
    else if (err instanceof EngineRuntimeError) sendDetail(ex.res, 500, 'Audio generation failed');
    else if (err instanceof EngineHttpError) sendDetail(ex.res, err.status, err.detail);
    else if (isFileSystemError(err)) sendDetail(ex.res, 500, 'Audio streaming failed');
    else sendInternalServerError(ex.res);
    ticket.end('error', { error: errorText(err) });
  }
};

const PREVIEW_FIELDS = [
  { name: 'voice', type: 'str', required: true },
  { name: 'rvccharacter_voice_gen', type: 'str' },
  { name: 'rvccharacter_pitch', type: 'float' },
] as const;

/** The fixed preview sentence for a voice name. */
export function previewText(voice: string): string {
  const clean = voice.replace(/ /g, '_').replace(/\.wav$/, '').replace(/[^a-zA-Z0-9]/g, ' ');
  return `Hello, this is a preview of voice ${clean}.`;
}

/** POST /api/previewvoice/: always writes api_preview_voice.<fmt>; the URL is always relative. */
export const postPreviewVoice: RouteHandler = async (host, ex) => {
  const parsed = parseFields(ex.body.isForm ? ex.body.form : {}, PREVIEW_FIELDS, 'body');
  if (parsed.issues.length > 0) {
    sendValidationError(ex.res, parsed.issues);
    return;
  }
  const voice = parsed.values.voice as string;
  const rvcVoice = (parsed.values.rvccharacter_voice_gen as string | undefined) || 'Disabled';
  const rvcPitch = (parsed.values.rvccharacter_pitch as number | undefined) ?? 0;
  const text = previewText(voice);
  const { engine } = host;
  const ticket = engine.beginGeneration(ex.record.id, '/api/previewvoice/', {
    text,
    voice,
    language: 'en',
    speed: 1.0,
    pitch: 0,
    rvccharacter_voice_gen: rvcVoice,
    rvccharacter_pitch: rvcPitch,
  });
  const fileName = `api_preview_voice.${engine.settings.audio_format}`;
  const filePath = path.join(host.outputDir, fileName);
  try {
    const audio = await engine.render({ text, voice, language: 'en', speed: 1.0 });
    await writeFileAtomically(filePath, encodeNative(audio.samples, engine.profile.native));
    const rvcWanted = engine.rvcEnabledGlobally && !['disabled', 'disable'].includes(rvcVoice.toLowerCase());
    if (rvcWanted && !rvcApplies(host, rvcVoice)) {
      const pth = path.join(host.alltalkDir, 'models', 'rvc_voices', rvcVoice);
      sendJson(ex.res, 404, { error: `File not found: RVC model not found: ${pth}` });
      ticket.end('error', { outputFile: filePath, error: 'RVC model not found' });
      return;
    }
    sendJson(ex.res, 200, {
      status: 'generate-success',
      output_file_path: filePath,
      output_file_url: `/audio/${fileName}`,
    });
    ticket.end('success', { outputFile: filePath, audioSeconds: audio.seconds });
  } catch (err) {
    if (err instanceof EngineRuntimeError) sendJson(ex.res, 500, { error: 'An internal runtime error occurred' });
    else if (err instanceof EngineHttpError) sendDetail(ex.res, err.status, err.detail);
    else if (isFileSystemError(err)) sendJson(ex.res, 404, { error: `File not found: ${errorText(err)}` });
    else sendInternalServerError(ex.res);
    ticket.end('error', { error: errorText(err) });
  }
};
