/**
 * GET /api/tts-generate-streaming: XTTS streaming. A 200 `audio/wav` chunked response: a 44-byte
 * WAV header with RIFF size 36 and data size 0, then s16le 24 kHz mono chunks as they are
 * "generated". Engine errors (unknown voice, an `apitts` model...) happen after the headers and
 * cut the connection.
 *
 * Real mode, as the real server: the stream loop never gives up the event loop while the client
 * keeps up, so every other request (/api/ready, /api/stop-generation) waits until the stream ends,
 * and the stream runs to full length. Only a client that reads slowly enough for the socket to
 * push back lets other requests through, and so lets a stop take effect. Documented mode: a stop
 * ends the stream early but cleanly.
 */
import type { ServerResponse } from 'http';
import { encodeSamples, streamingWavHeader } from '../api/wav';
import { EngineRuntimeError, errorText, type GenerationOutcome } from './engine';
import { lastValues } from './request-body';
import { sendJson, sendValidationError } from './replies';
import type { RouteHandler } from './route-context';
import { detectLanguage } from './text-processing';
import { parseFields } from './validation';

export const STREAM_SAMPLE_RATE = 24000;

const STREAM_QUERY_FIELDS = [
  { name: 'text', type: 'str', required: true },
  { name: 'voice', type: 'str', required: true },
  { name: 'language', type: 'str', required: true },
  { name: 'output_file', type: 'str', required: true },
] as const;

/** Ends the connection without finishing the chunked body: the client sees a truncated response. */
export function cutConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket || socket.destroyed) {
    res.destroy();
    return;
  }
  // end() sends what was already written, then FIN; the body's terminating chunk never comes.
  socket.end(() => socket.destroy());
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export const getTtsGenerateStreaming: RouteHandler = async (host, ex) => {
  const parsed = parseFields(lastValues(ex.query), STREAM_QUERY_FIELDS, 'query');
  if (parsed.issues.length > 0) {
    sendValidationError(ex.res, parsed.issues);
    return;
  }
  const { engine } = host;
  const text = parsed.values.text as string;
  const voice = parsed.values.voice as string;
  let language = parsed.values.language as string;
  if (!engine.settings.streaming_capable) {
    sendJson(ex.res, 400, { error: 'Invalid value: Streaming not supported by current TTS engine' });
    return;
  }
  if (language === 'auto') {
    try {
      language = detectLanguage(text);
    } catch (err) {
      sendJson(ex.res, 400, { error: `Invalid value: ${errorText(err)}` });
      return;
    }
  }
  const ticket = engine.beginGeneration(
    ex.record.id,
    '/api/tts-generate-streaming',
    {
      text,
      voice,
      language: parsed.values.language,
      resolved_language: language,
      output_file: parsed.values.output_file,
      speed: 1.0,
      pitch: 1.0,
      streaming: true,
    },
    { holdGate: false },
  );
  const res = ex.res;
  res.statusCode = 200;
  res.setHeader('content-type', 'audio/wav');
  res.flushHeaders();

  try {
    engine.checkVoice(voice);
    if ((engine.settings.current_model_loaded ?? '').startsWith('apitts')) {
      throw new EngineRuntimeError('Streaming is not supported with an API TTS model');
    }
    const languages = engine.profile.modelLanguages;
    if (languages !== 'any' && !languages.includes(language)) {
      throw new EngineRuntimeError(`Language ${language} is not supported by the model`);
    }
  } catch (err) {
    cutConnection(res);
    ticket.end('error', { error: errorText(err) });
    return;
  }

  const cutAfter = host.takeStreamCut();
  let written = 0;
  let outcome = 'success' as GenerationOutcome;
  // Real mode: the stream holds the server (see above) except while the socket pushes back.
  const holdsServer = host.mode === 'real' && engine.blocking;
  let release = holdsServer ? engine.gate.hold() : undefined;
  const waitForClient = async (): Promise<void> => {
    release?.();
    release = undefined;
    await waitForDrain(res);
    if (holdsServer && !res.destroyed) {
      await engine.gate.whenIdle();
      release = engine.gate.hold();
    }
  };
  /** Writes a piece of body; false when the stream must end (cut, or the client went away). */
  const write = async (buf: Buffer): Promise<boolean> => {
    if (res.destroyed || res.writableEnded) return false;
    if (cutAfter !== undefined && written + buf.length >= cutAfter) {
      const part = buf.subarray(0, cutAfter - written);
      if (part.length > 0) res.write(part);
      written += part.length;
      cutConnection(res);
      outcome = 'cut';
      return false;
    }
    written += buf.length;
    if (!res.write(buf)) await waitForClient();
    return !res.destroyed;
  };

  try {
    await streamBody();
  } finally {
    release?.();
  }

  async function streamBody(): Promise<void> {
    const samples = await engine.synthesize({ text, voice, language, speed: 1.0 }, STREAM_SAMPLE_RATE);
    let open = await write(streamingWavHeader(STREAM_SAMPLE_RATE));
    const chunk = host.options.streamChunkSamples;
    let sent = 0;
    if (open) await host.sleep(host.options.minGenerationMs);
    for (let offset = 0; open && offset < samples.length; offset += chunk) {
      if (offset > 0) await host.sleep(host.options.streamChunkIntervalMs);
      // A blocking generation elsewhere holds the event loop: the stream waits for it.
      if (engine.blocking && !release) await engine.gate.whenIdle();
      if (engine.takeStop()) {
        outcome = 'stopped';
        break;
      }
      const piece = samples.subarray(offset, Math.min(samples.length, offset + chunk));
      open = await write(encodeSamples(piece, 's16'));
      if (open) sent += piece.length;
    }
    if (!open && outcome === 'success') outcome = 'cut';
    if (!res.destroyed && !res.writableEnded && outcome !== 'cut') res.end();
    ticket.end(outcome, { audioSeconds: sent / STREAM_SAMPLE_RATE });
  }
};
