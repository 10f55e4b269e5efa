/**
 * alltalk-stream: speech that starts while AllTalk is still generating it, through
 * GET /api/tts-generate-streaming. The audio goes on as it arrives (chunk messages), or is
 * collected into one WAV, or written to a file as it comes. A stop message ends the stream at
 * once: the real server does not stop a stream its client keeps reading, so the node stops
 * reading (aborts its own request) and also asks the server to stop.
 */
import type { Readable } from 'node:stream';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { Cancellation, type CancelSignal } from '../../api/cancellation';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import { DEFAULT_MAX_CHARACTERS } from '../../api/rules';
import type { StreamParams } from '../../api/types';
import { type FileTarget, prepareTarget, targetFile } from '../../runtime/audio-file';
import { checkWritable, handleInput, messageView, nodeLifetime, readMessage, safeText, writeOutput } from '../../runtime/input-handler';
import { NodeBadge, STREAMING_TEXT, streamingText } from '../../runtime/node-badge';
import { nodeLabel, queueTurn, readQueueOptions } from '../../runtime/queue-options';
import type { ServerConnection } from '../../runtime/server-connection';
import { type AudioFormat, sameFormat, WavStreamReader } from '../../runtime/wav-stream';
import { readInput, wholeNumber } from '../../runtime/node-properties';
import { serverConnection } from '../../runtime/worker-node';
import { isStopMessage, planStream, type StreamDialog, type StreamPlan } from './stream-options';
import { BufferSink, ChunkSink, FileSink, type StreamSink } from './stream-sinks';

interface StreamDef extends NodeDef {
  server: string;
  property: string;
  propertyType: string;
  voice: string;
  language: string;
  output: string;
  filePath: string;
  maxCharacters: string | number;
  splitLongText: boolean | string;
  maxTotalCharacters?: string | number;
}

/** One message's stream, from the moment it is accepted until it ends. */
interface Job {
  cancel: Cancellation;
  started: boolean;
  stopped: boolean;
  /** The reason a stop gave (an interrupt, a stop that cleared the queue): a stream not yet started ends with it. */
  stopReason?: Error;
}

const DEFAULT_MAX_TOTAL_CHARACTERS = 20_000;
/** The "streaming 3.4 s" badge changes at most this often. */
const PROGRESS_INTERVAL_MS = 250;
/** The properties written on the incoming message in buffer mode (and msg.filename in file mode). */
const OUTPUT_KEYS = ['payload', 'contentType', 'audioFormat', 'alltalk'];
/** The properties alltalk-stream reads from the message besides its text. */
const MESSAGE_KEYS = ['topic', 'stop', 'alltalk', 'voice', 'language', 'filename'];
/** Properties of the incoming message that chunk messages do not copy (they get their own). */
const OWN_KEYS = new Set(['payload', 'parts', 'audioFormat', 'alltalk', 'filename', 'contentType']);

export = function register(RED: NodeAPI): void {
  function AllTalkStream(this: Node, def: StreamDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const badge = new NodeBadge((s) => node.status(s), connection, STREAMING_TEXT);
    const lifetime = nodeLifetime();
    const jobs = new Set<Job>();
    const maxCharacters = wholeNumber(def.maxCharacters, DEFAULT_MAX_CHARACTERS);
    const limits = {
      maxCharacters,
      maxTotal: Math.max(maxCharacters, wholeNumber(def.maxTotalCharacters, DEFAULT_MAX_TOTAL_CHARACTERS)),
      split: def.splitLongText === true || def.splitLongText === 'true',
    };
    const dialog: StreamDialog = { voice: def.voice, language: def.language, output: def.output, filePath: def.filePath };
    const workingDirectory = (RED.settings as { fileWorkingDirectory?: string }).fileWorkingDirectory;

    /** Ends this node's streams at once; returns how many were streaming. */
    function stopStreams(reason?: Error): number {
      let streaming = 0;
      for (const job of jobs) {
        job.stopped = true;
        job.stopReason ??= reason;
        if (job.started) streaming++;
        job.cancel.abort(reason ?? new AllTalkError('aborted', 'Stopped by a stop message.'));
      }
      return streaming;
    }

    /** A stop message: this node's streams end, and the server is asked to stop too (for servers that honour it). */
    function stop(): void {
      if (stopStreams() > 0 && connection) void connection.client.stopGeneration({ retries: 0 }).catch(() => undefined);
    }

    // alltalk-control's stop ends every stream on the server, this node's too.
    const unregister = connection?.addStreamStopper(stopStreams);

    handleInput(node, async (msg, send) => {
      const received = Date.now();
      if (!connection) throw new AllTalkError('validation', 'No AllTalk server is configured: choose one in the node\'s settings.');
      const view = messageView(msg, MESSAGE_KEYS);
      if (isStopMessage(view)) {
        stop();
        return;
      }

      // 1. Resolve and check everything before anything is sent.
      const raw = (await readInput(RED, node, def.property, def.propertyType, msg)).value;
      const plan = planStream(dialog, view, raw, limits, connection.validationContext());
      const queue = readQueueOptions(msg);
      if (plan.output !== 'chunks') checkWritable(msg, plan.output === 'file' ? [...OUTPUT_KEYS, 'filename'] : OUTPUT_KEYS, 'alltalk-stream');
      const target = plan.output === 'file' ? await prepareTarget(plan.filePath as string, workingDirectory) : undefined;
      const base = plan.output === 'chunks' ? readMessage(() => copyOf(msg)) : undefined;

      // 2. Stream, holding one place in the server's queue for the whole stream (an interrupt clears
      // the queue and ends the streams first, before this one is among them).
      const turn = queueTurn(connection, queue, nodeLabel(node));
      const job: Job = { cancel: new Cancellation(), started: false, stopped: false };
      const unlink = job.cancel.follow(lifetime);
      jobs.add(job);
      const tracker = badge.job();
      const maxBytes = connection.client.maxAudioBytes;
      const sink = plan.output === 'chunks'
        ? new ChunkSink((m) => send(m), base as Record<string, unknown>, RED.util.generateId(), maxBytes)
        : plan.output === 'buffer' ? new BufferSink(maxBytes) : new FileSink(targetFile(target as FileTarget, 'alltalk_stream.wav'), maxBytes);
      let startedAt = 0;
      let result: StreamResult;
      try {
        badge.progress(STREAMING_TEXT);
        result = await connection.runGeneration((signal) => {
          job.started = true;
          startedAt = Date.now();
          return streamAll(connection, plan, sink, job, signal, limits.maxCharacters, (seconds) => badge.progress(streamingText(seconds * 1000)));
        }, { signal: job.cancel, onPosition: (p) => tracker.onPosition(p), ...turn });
      } catch (err) {
        if (sink instanceof FileSink) await sink.discard();
        if (job.stopped && !job.started) {
          if (job.stopReason) throw job.stopReason;
          throw new AllTalkError('aborted', `Stopped by a stop message before it started streaming; nothing was sent to AllTalk at ${connection.origin}.`);
        }
        throw err;
      } finally {
        tracker.finish();
        jobs.delete(job);
        unlink();
      }

      // 3. The finishing message: the last chunk, or the incoming message with the whole audio.
      const finished = Date.now();
      const alltalk: Record<string, unknown> = {
        request: plan.requests.length === 1 ? plan.requests[0] : plan.requests,
        bytes: 0,
        seconds: Math.round(result.seconds * 1000) / 1000,
        timing: { queuedMs: startedAt - received, firstAudioMs: result.firstAudioAt ? result.firstAudioAt - startedAt : null, totalMs: finished - received },
        stopped: result.stopped,
      };
      if (sink instanceof ChunkSink) {
        sink.finish(alltalk);
      } else if (sink instanceof BufferSink) {
        const payload = sink.finish();
        alltalk.bytes = payload.length;
        writeOutput(msg, { payload, contentType: 'audio/wav', audioFormat: result.format, alltalk });
        send(msg);
      } else {
        const written = await sink.finish();
        alltalk.bytes = sink.bytes;
        writeOutput(msg, { payload: written, filename: written, contentType: 'audio/wav', audioFormat: result.format, alltalk });
        send(msg);
      }
      if (result.stopped) badge.stopped();
      else badge.done(finished - received);
    }, (err) => badge.error(isAllTalkError(err) ? err.shortReason : safeText(err.message) || 'failed'));

    node.on('close', (_removed: boolean, done: () => void) => {
      unregister?.();
      lifetime.abort(new AllTalkError('aborted', 'The node was stopped (flow redeployed or Node-RED stopping).'));
      badge.close();
      done();
    });
  }

  RED.nodes.registerType('alltalk-stream', AllTalkStream as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

interface StreamResult {
  stopped: boolean;
  seconds: number;
  format?: AudioFormat;
  firstAudioAt?: number;
}

/** Streams every part in order into the sink, as one continuous output (one header, one sequence). */
async function streamAll(
  connection: ServerConnection,
  plan: StreamPlan,
  sink: StreamSink,
  job: Job,
  signal: CancelSignal,
  maxCharacters: number,
  onProgress: (seconds: number) => void,
): Promise<StreamResult> {
  const result: StreamResult = { stopped: false, seconds: 0 };
  let frameRate = 0;
  let audioBytes = 0;
  let lastProgress = 0;
  for (const [i, request] of plan.requests.entries()) {
    if (job.stopped) return { ...result, stopped: true };
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
            sink.begin(reader.header as Buffer, reader.format);
          } else if (!sameFormat(result.format as AudioFormat, reader.format)) {
            throw new AllTalkError('invalid-response', `AllTalk at ${connection.origin} streamed part ${i + 1} of the long text in another ` +
              'audio format than the first part, so they cannot form one stream. Shorten the text.');
          }
        }
        if (audio.length === 0) return undefined;
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
      if (job.stopped) return { ...result, seconds: frameRate ? audioBytes / frameRate : 0, stopped: true };
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

/**
 * Hands every piece of `body` to `onChunk` as it comes (pieces are never merged), pausing the body
 * while a promise `onChunk` returned is pending. Rejects with the body's error or `onChunk`'s.
 */
function readEach(body: Readable, onChunk: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.destroy();
      reject(err);
    };
    body.on('data', (chunk: Buffer) => {
      if (failed) return;
      let pending: Promise<void> | undefined;
      try {
        pending = onChunk(chunk);
      } catch (err) {
        return fail(err);
      }
      if (!pending) return;
      body.pause();
      pending.then(() => {
        if (!failed) body.resume();
      }, fail);
    });
    body.once('end', () => {
      if (!failed) resolve();
    });
    body.once('error', (err: Error) => {
      if (failed) return;
      failed = true;
      reject(err);
    });
  });
}

/** The incoming message's own properties (read once), for the chunk messages. */
function copyOf(msg: NodeMessageInFlow): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(msg)) {
    if (!OWN_KEYS.has(key)) copy[key] = (msg as unknown as Record<string, unknown>)[key];
  }
  return copy;
}
