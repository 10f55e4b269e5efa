/**
 * One text spoken for a Wyoming client, through everything the other nodes use: a phrase already
 * said comes from the audio cache (identical requests share one generation), the rest waits its
 * turn in the server's queue with the node's priority. Where the engine streams, AllTalk's
 * streaming route is used and its audio passed on as it arrives (first audio before generation
 * ends); otherwise the audio is generated, fetched and sent. A message runs on the node's server, or
 * on a fallback while that is down (see server-group.ts). A cancel (the client hung up, a stop) ends
 * it at once.
 */
import type { CancelSignal } from '../api/cancellation';
import { AllTalkError } from '../api/errors';
import { fixWavSizes } from '../api/wav';
import { validateStreamParams, validateTtsGenerate } from '../api/validation';
import type { AudioOut } from '../wyoming/audio-out';
import type { AudioService } from './audio-service';
import { answerOrLead, keepAudio, NO_CACHE, planCache } from './cached-audio';
import { readEach } from './read-each';
import type { ServerConnection } from './server-connection';
import { runRouted, type ServerGroup } from './server-group';
import { engineStreams } from './server-member';
import type { RouteFacts } from './route-facts';
import { voiceOn } from './stand-in';
import { WavStreamReader } from './wav-stream';
import type { VoiceChoice } from './wyoming-voices';

export interface SpeechSettings {
  /** The node's server and its fallbacks. */
  group: ServerGroup;
  audio: AudioService | undefined;
  /** Queue priority of the requests. */
  priority: number;
  /** Answer repeated phrases from the audio cache. */
  cache: boolean;
  /** Told why audio could not be kept in the cache. */
  warn: (text: string) => void;
}

/**
 * Speaks `text` (at most the server's limit long) into `out`; resolves whether it came from the
 * cache. Rejects with an AllTalkError naming the cause.
 */
export async function speak(s: SpeechSettings, text: string, choice: VoiceChoice, out: AudioOut, signal: CancelSignal): Promise<{ cached: boolean; route?: RouteFacts }> {
  const connection = s.group.own.connection;
  const plan = await planCache({
    audio: s.audio, connection, node: 'alltalk-wyoming', sound: { text, ...choice }, enabled: s.cache, alltalk: undefined, serve: false,
  });
  const { hit, release } = plan?.lookup ? await answerOrLead(plan, (known) => plan.audio.cache.read(plan.id, known)) : NO_CACHE;
  try {
    if (hit) {
      await out.wav(hit.data);
      return { cached: true };
    }
    // On its own server, or a fallback (its stand-in voice when it lacks the voice); the streaming
    // route wherever the engine streams.
    const routed = await runRouted(s.group, async (attempt, job) => {
      const target = attempt.member.connection;
      const here = attempt.rerouted ? { voice: voiceOn(attempt.member, choice.voice), language: choice.language } : choice;
      const streams = engineStreams(target);
      const wav = streams ? await streamInto(target, text, here, out, job, attempt.delivered) : await generate(target, text, here, job);
      return { wav, streams, here };
    }, { signal, priority: s.priority, kind: engineStreams(connection) ? 'stream' : 'generation' });
    const { wav, streams, here } = routed.value;
    // Generated audio goes out after its turn in the queue: a slow client never holds the server.
    if (!streams) await out.wav(wav as Buffer);
    const maker = routed.rerouted ? { by: routed.member.connection, sound: { text, ...here } } : undefined;
    if (plan && wav && !signal.aborted) await keepAudio(plan, {}, wav, s.warn, maker);
    return { cached: false, route: routed };
  } finally {
    release();
  }
}

/** /api/tts-generate and the download: the WAV (AllTalk's own, 32-bit float from XTTS). */
async function generate(connection: ServerConnection, text: string, choice: VoiceChoice, signal: CancelSignal): Promise<Buffer> {
  const ctx = connection.validationContext();
  // An engine without languages (Piper) speaks each voice in its own and refuses the field.
  const language = ctx.settings?.languages_capable === true ? { language: choice.language } : {};
  const form = validateTtsGenerate({ text_input: text, character_voice_gen: choice.voice, ...language }, ctx);
  const result = await connection.client.ttsGenerateForm(form, { signal });
  const audio = await connection.client.fetchAudio(result.output_file_url, { signal });
  if (audio.contentType !== 'audio/wav') {
    throw new AllTalkError('invalid-response', `AllTalk at ${connection.origin} sends ${audio.ext} audio (it transcodes what it makes), ` +
      'but a Wyoming client needs WAV. In AllTalk\'s settings, set "Transcode audio format" (transcode_audio_format) to Disabled.',
    { server: connection.origin });
  }
  return audio.data;
}

/**
 * /api/tts-generate-streaming: the audio goes out as it arrives; resolves the whole WAV for the
 * cache (undefined when it was larger than "Max audio size"). A stream cut short (AllTalk's only way
 * to fail after it began) rejects.
 */
async function streamInto(
  connection: ServerConnection, text: string, choice: VoiceChoice, out: AudioOut, signal: CancelSignal, onFirstAudio: () => void,
): Promise<Buffer | undefined> {
  const ctx = connection.validationContext();
  const params = validateStreamParams({ text, voice: choice.voice, language: choice.language, output_file: 'stream_output' }, { ...ctx, maxCharacters: Number.MAX_SAFE_INTEGER });
  const reader = new WavStreamReader(connection.origin);
  const pieces: Buffer[] = [];
  let kept = 0;
  const body = await connection.client.streamTts(params, { signal });
  await readEach(body, (chunk) => {
    const audio = reader.push(chunk);
    if (!audio.length || !reader.header) return undefined;
    if (reader.audioBytes === audio.length) onFirstAudio();
    if (kept + audio.length <= connection.client.maxAudioBytes) {
      pieces.push(audio);
      kept += audio.length;
    }
    return out.streamed(reader.header, audio);
  });
  if (!reader.header || reader.audioBytes === 0) {
    throw new AllTalkError('invalid-response', `AllTalk at ${connection.origin} ended the stream without sending any audio.`, { server: connection.origin });
  }
  return kept === reader.audioBytes ? fixWavSizes(Buffer.concat([reader.header, ...pieces])) : undefined;
}
