/**
 * Runs alltalk-stream's requests into a sink: every part in order, as one continuous output (one
 * header, one sequence), with the badge's progress; a stop ends it with what came so far.
 */
import type { Cancellation, CancelSignal } from '../../api/cancellation';
import { AllTalkError } from '../../api/errors';
import type { StreamParams } from '../../api/types';
import { readEach } from '../../runtime/read-each';
import type { ServerConnection } from '../../runtime/server-connection';
import { type AudioFormat, sameFormat, WavStreamReader } from '../../runtime/wav-stream';
import type { StreamPlan } from './stream-options';
import type { StreamSink } from './stream-sinks';

/** One message's stream, from the moment it is accepted until it ends. */
export interface Job {
  cancel: Cancellation;
  started: boolean;
  stopped: boolean;
  /** The reason a stop gave (an interrupt, a stop that cleared the queue): a stream not yet started ends with it. */
  stopReason?: Error;
}

/** The "streaming 3.4 s" badge changes at most this often. */
const PROGRESS_INTERVAL_MS = 250;

export interface StreamResult {
  stopped: boolean;
  seconds: number;
  format?: AudioFormat;
  firstAudioAt?: number;
}

/** Streams every part in order into the sink, as one continuous output (one header, one sequence). */
export async function streamAll(
  connection: ServerConnection,
  plan: StreamPlan,
  sink: StreamSink,
  job: Job,
  signal: CancelSignal,
  maxCharacters: number,
  onProgress: (seconds: number) => void,
  /** Called once, right before the first audio goes to the sink (no retry elsewhere after it). */
  onFirstAudio?: () => void,
): Promise<StreamResult> {
  const result: StreamResult = { stopped: false, seconds: 0 };
  let frameRate = 0;
  let audioBytes = 0;
  let lastProgress = 0;
  // The sink hears of the stream with its first audio: a try that ends after the header alone
  // left nothing behind, so the message may still be tried on another server.
  let header: Buffer | undefined;
  let delivered = false;
  for (const [i, request] of plan.requests.entries()) {
    if (job.stopped) {
      if (!delivered && header) sink.begin(header, result.format as AudioFormat);
      return { ...result, stopped: true };
    }
    const reader = new WavStreamReader(connection.origin);
    let begun = false;
    try {
      const body = await connection.client.streamTts(request as StreamParams, { signal, maxCharacters });
      await readEach(body, (chunk) => {
        const audio = reader.push(chunk, sink.wholeFrames);
        if (!begun && reader.format) {
          begun = true;
          if (i === 0) {
            result.format = reader.format;
            frameRate = reader.format.sampleRate * reader.frameBytes;
            header = reader.header as Buffer;
          } else if (!sameFormat(result.format as AudioFormat, reader.format)) {
            throw new AllTalkError('invalid-response', `AllTalk at ${connection.origin} streamed part ${i + 1} of the long text in another ` +
              'audio format than the first part, so they cannot form one stream. Shorten the text.');
          }
        }
        if (audio.length === 0) return undefined;
        if (!delivered) {
          delivered = true;
          onFirstAudio?.();
          sink.begin(header as Buffer, result.format as AudioFormat);
        }
        result.firstAudioAt ??= Date.now();
        audioBytes += audio.length;
        const now = Date.now();
        if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = now;
          onProgress(audioBytes / frameRate);
        }
        return sink.audio(audio);
      });
    } catch (err) {
      if (job.stopped) {
        // Stopped before any audio: the sink still gets the header (a stopped stream is a WAV with what came).
        if (!delivered && header) sink.begin(header, result.format as AudioFormat);
        return { ...result, seconds: frameRate ? audioBytes / frameRate : 0, stopped: true };
      }
      throw err;
    }
  }
  result.seconds = frameRate ? audioBytes / frameRate : 0;
  if (audioBytes === 0) {
    throw new AllTalkError('invalid-response', `AllTalk at ${connection.origin} ended the stream without sending any audio. ` +
      'If a stop was sent just before, the server may have applied it to this stream: send the text again.');
  }
  return result;
}
