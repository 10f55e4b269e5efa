/**
 * The OpenAI-compatible routes: POST /v1/audio/speech and PUT /api/openai-voicemap.
 *
 * Real mode keeps the server's broken error handling: every validation or handled error of
 * /v1/audio/speech ends as E3 500 text/plain; only engine HTTPExceptions come through as E2.
 * Without ffmpeg (option `ffmpeg: false`) every call fails after generating, wav included.
 */
import { randomUUID } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { encodeNative, unixSeconds, writeFileAtomically } from './audio-files';
import { EngineHttpError, EngineRuntimeError, errorText, isFileSystemError } from './engine';
import { OPENAI_VOICES, type OpenAiVoice } from './profiles';
import { sendBody, sendDetail, sendInternalServerError, sendJson, sendValidationError } from './replies';
import type { Exchange, RouteHandler, SimulatorHost } from './route-context';
import { diskExtension, isOpenAiFormat, standInAudio } from './stand-in-formats';
import { detectLanguage, LanguageDetectionError, openAiCleanText, pyLength } from './text-processing';
import { validateStringModel } from './validation';

const DESCRIPTIONS: Record<string, string> = {
  model: 'The TTS model to use. Currently ignored.',
  input: 'The text to generate audio for.',
  voice: 'The voice to use when generating the audio.',
  response_format: "The format of the audio. Currently only 'wav' is supported.",
  speed: 'The speed of the generated audio.',
};

interface OpenAiRequest {
  input: string;
  voice: OpenAiVoice;
  responseFormat: string;
  speed: number;
}

/** `OpenAIInput` validation; returns the request or the list of "field: message" failures. */
function validateOpenAi(json: Record<string, unknown>): OpenAiRequest | Array<[string, string]> {
  const errors: Array<[string, string]> = [];
  const stringField = (name: string): void => {
    if (!(name in json)) errors.push([name, 'Field required']);
    else if (typeof json[name] !== 'string') errors.push([name, 'Input should be a valid string']);
  };
  stringField('model');
  stringField('input');
  if (typeof json.input === 'string' && pyLength(json.input) > 4096) {
    errors.push(['input', 'String should have at most 4096 characters']);
  }
  if (!('voice' in json)) errors.push(['voice', 'Field required']);
  else if (!(OPENAI_VOICES as readonly unknown[]).includes(json.voice)) {
    errors.push(['voice', `Value error, Voice must be one of ['${OPENAI_VOICES.join("', '")}']`]);
  }
  if ('response_format' in json && typeof json.response_format !== 'string') {
    errors.push(['response_format', 'Input should be a valid string']);
  }
  let speed = 1.0;
  if ('speed' in json) {
    const raw = json.speed;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (typeof raw === 'boolean' || !Number.isFinite(value)) errors.push(['speed', 'Input should be a valid number']);
    else if (value < 0.25) errors.push(['speed', 'Input should be greater than or equal to 0.25']);
    else if (value > 4.0) errors.push(['speed', 'Input should be less than or equal to 4']);
    else speed = value;
  }
  if (errors.length > 0) return errors;
  return {
    input: json.input as string,
    voice: json.voice as OpenAiVoice,
    responseFormat: ((json.response_format as string | undefined) ?? 'wav').toLowerCase(),
    speed,
  };
}

/** A handled error: E3 in real mode (the handler itself crashes), readable JSON in documented mode. */
function handledError(host: SimulatorHost, ex: Exchange, status: number, body: { error: string }): void {
  if (host.mode === 'documented') sendJson(ex.res, status, body);
  else sendInternalServerError(ex.res);
}

export const postOpenAiSpeech: RouteHandler = async (host, ex) => {
  if (!ex.body.jsonParsed) {
    handledError(host, ex, 400, { error: 'Invalid value: Expecting value: line 1 column 1 (char 0)' });
    return;
  }
  const json = ex.body.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    handledError(host, ex, 400, { error: 'Type error: argument after ** must be a mapping' });
    return;
  }
  const checked = validateOpenAi(json as Record<string, unknown>);
  if (Array.isArray(checked)) {
    const message = checked
      .map(([field, msg]) => `Error in field '${field}': ${msg}. Description: ${DESCRIPTIONS[field]}`)
      .join(', ');
    handledError(host, ex, 400, { error: `Invalid value: ${message}` });
    return;
  }
  const { engine } = host;
  const mappedVoice = engine.openaiVoiceMap[checked.voice];
  if (!mappedVoice) {
    handledError(host, ex, 400, { error: 'Invalid value: Unsupported voice' });
    return;
  }
  const cleaned = openAiCleanText(checked.input);
  const ticket = engine.beginGeneration(ex.record.id, '/v1/audio/speech', {
    model: (json as Record<string, unknown>).model,
    input: checked.input,
    cleaned_text: cleaned,
    voice: checked.voice,
    mapped_voice: mappedVoice,
    response_format: checked.responseFormat,
    speed: checked.speed,
    language: 'auto',
  });
  const stem = `openai_output_${randomUUID()}_${unixSeconds()}`;
  try {
    const language = detectLanguage(cleaned);
    ticket.record.params.resolved_language = language;
    const audio = await engine.render({ text: cleaned, voice: mappedVoice, language, speed: checked.speed });
    const wavPath = path.join(host.outputDir, `${stem}.${engine.settings.audio_format}`);
    const wav = encodeNative(audio.samples, engine.profile.native);
    await writeFileAtomically(wavPath, wav);
    const format = checked.responseFormat;
    if (!engine.ffmpeg) {
      // The "ffmpeg installed?" check comes before the "already in that format" shortcut: even wav fails.
      handledError(host, ex, 500, { error: 'Runtime error: ffmpeg is not installed; it is needed to transcode the audio' });
      ticket.end('error', { outputFile: wavPath, error: 'ffmpeg is not installed' });
      return;
    }
    if (!isOpenAiFormat(format)) {
      // Detected only after generation: the wav stays behind.
      handledError(host, ex, 400, { error: `Invalid value: Unsupported format: ${format}` });
      ticket.end('error', { outputFile: wavPath, error: `Unsupported format: ${format}` });
      return;
    }
    let outputPath = wavPath;
    let body = wav;
    if (format !== 'wav') {
      body = standInAudio(format, audio.seconds);
      outputPath = path.join(host.outputDir, `${stem}.${diskExtension(format)}`);
      await writeFileAtomically(outputPath, body);
    }
    const stat = await fsp.stat(outputPath);
    sendBody(ex.res, 200, body, `audio/${format}`, {
      'content-disposition': `attachment; filename="output.${format}"`,
      'last-modified': stat.mtime.toUTCString(),
    });
    ticket.end('success', { outputFile: outputPath, audioSeconds: audio.seconds });
  } catch (err) {
    if (err instanceof EngineHttpError) sendDetail(ex.res, err.status, err.detail);
    else if (err instanceof LanguageDetectionError) handledError(host, ex, 400, { error: `Invalid value: ${err.message}` });
    else if (err instanceof EngineRuntimeError) handledError(host, ex, 500, { error: 'An internal runtime error occurred' });
    else if (isFileSystemError(err)) handledError(host, ex, 404, { error: 'Required file not found' });
    else sendInternalServerError(ex.res);
    ticket.end('error', { error: errorText(err) });
  }
};

/** PUT /api/openai-voicemap: a JSON body with all six voices (names are not checked). */
export const putOpenAiVoiceMap: RouteHandler = (host, ex) => {
  const mediaType = ex.body.mediaType;
  const isJsonContentType = mediaType === '' || mediaType === 'application/json' || /^application\/.+\+json$/.test(mediaType);
  const issues = validateStringModel(
    { jsonParsed: ex.body.jsonParsed, json: ex.body.json, raw: ex.rawBody.toString('utf8'), isJsonContentType },
    OPENAI_VOICES,
  );
  if (issues.length > 0) {
    sendValidationError(ex.res, issues);
    return;
  }
  const mapping = ex.body.json as Record<OpenAiVoice, string>;
  const next = {} as Record<OpenAiVoice, string>;
  for (const voice of OPENAI_VOICES) next[voice] = mapping[voice];
  host.engine.openaiVoiceMap = next;
  sendJson(ex.res, 200, { message: 'OpenAI voice mappings updated successfully' });
};
