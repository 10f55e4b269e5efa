/**
 * alltalk-stream: speech that starts while AllTalk is still generating it, through
 * GET /api/tts-generate-streaming. The audio goes on as it arrives (chunk messages), or is
 * collected into one WAV, or written to a file as it comes. A stop message ends the stream at
 * once: the real server does not stop a stream its client keeps reading, so the node stops
 * reading (aborts its own request) and also asks the server to stop.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { Cancellation } from '../../api/cancellation';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import { DEFAULT_MAX_CHARACTERS } from '../../api/rules';
import { type FileTarget, prepareTarget, targetFile } from '../../runtime/audio-file';
import { type CachePlan, idNow, planCache } from '../../runtime/cached-audio';
import { checkWritable, handleInput, messageView, nodeLifetime, readMessage, safeText, writeOutput } from '../../runtime/input-handler';
import { NO_VOICE_TEXT, NodeBadge, STREAMING_TEXT, streamingText, WAITING_TEXT } from '../../runtime/node-badge';
import { nodeLabel, queueTurn, readQueueOptions } from '../../runtime/queue-options';
import { readInput, wholeNumber } from '../../runtime/node-properties';
import { closeWorker, filePolicy, requireConnection, serverAudio, serverConnection, serverGroup } from '../../runtime/worker-node';
import { runRouted, type ServerGroup } from '../../runtime/server-group';
import { engineStreams } from '../../runtime/server-member';
import { routeOf, type RouteFacts } from '../../runtime/route-facts';
import { voiceOn } from '../../runtime/stand-in';
import { fromElsewhere, ownFields, readElsewhere } from '../../runtime/typed-fields';
import { LiveSink } from './live-sink';
import { CacheTee, cachedWav, replay } from './stream-cache';
import { isStopMessage, planStream, type StreamDialog } from './stream-options';
import { type Job, type StreamResult, streamAll } from './stream-run';
import { BufferSink, ChunkSink, FileSink, type StreamSink } from './stream-sinks';

interface StreamDef extends NodeDef {
  server: string;
  property: string;
  propertyType: string;
  voice: string;
  /** Where the voice comes from: str (the dialog's, also when absent), msg, flow, global, env, jsonata. */
  voiceType?: string;
  language: string;
  languageType?: string;
  output: string;
  filePath: string;
  /** Output file: missing folders are made (default off). */
  createFolders?: boolean | string;
  maxCharacters: string | number;
  splitLongText: boolean | string;
  maxTotalCharacters?: string | number;
  /** Keep finished streams in the server's audio cache and replay repeats from it (default off). */
  cache?: boolean | string;
}

const DEFAULT_MAX_TOTAL_CHARACTERS = 20_000;
/** The properties written on the incoming message in buffer mode (and msg.filename in file mode, msg.url in url mode). */
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
    const group = serverGroup(RED, def.server);
    const audio = serverAudio(RED, def.server);
    const useCache = def.cache === true || def.cache === 'true';
    const elsewhere = fromElsewhere(def, ['voice', 'language']);
    // Streaming has no server default voice: a node without one says so until a message brings one.
    const noVoice = !String(def.voice ?? '').trim() && !elsewhere.some((f) => f.field === 'voice');
    const badge = new NodeBadge((s) => node.status(s), connection, STREAMING_TEXT, !noVoice);
    if (noVoice && connection) badge.set({ fill: 'red', shape: 'ring', text: NO_VOICE_TEXT });
    const lifetime = nodeLifetime();
    const jobs = new Set<Job>();
    const maxCharacters = wholeNumber(def.maxCharacters, DEFAULT_MAX_CHARACTERS);
    const limits = {
      maxCharacters,
      maxTotal: Math.max(maxCharacters, wholeNumber(def.maxTotalCharacters, DEFAULT_MAX_TOTAL_CHARACTERS)),
      split: def.splitLongText === true || def.splitLongText === 'true',
    };
    const dialog: StreamDialog = ownFields({ voice: def.voice, language: def.language, output: def.output, filePath: def.filePath }, elsewhere);
    const files = filePolicy(RED, def);

    /**
     * Ends this node's streams at once (and its URLs nobody fetched yet); returns how many were
     * streaming. `reason` (an interrupt, a stop that cleared the queue) ends those not started yet.
     */
    function stopStreams(reason?: Error): number {
      let streaming = 0;
      for (const job of jobs) {
        job.stopped = true;
        job.stopReason ??= reason;
        if (job.started) streaming++;
        job.cancel.abort(reason ?? new AllTalkError('aborted', 'Stopped by a stop message.'));
      }
      audio?.dropLive(reason instanceof AllTalkError ? reason
        : new AllTalkError('aborted', 'Stopped by a stop message before a speaker fetched the stream URL; nothing was sent to AllTalk.'), node);
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
      requireConnection(connection);
      const c = connection;
      const view = messageView(msg, MESSAGE_KEYS);
      if (isStopMessage(view)) {
        stop();
        return;
      }

      // 1. Resolve and check everything before anything is sent.
      const raw = (await readInput(RED, node, def.property, def.propertyType, msg)).value;
      const typed = elsewhere.length ? await readElsewhere(RED, node, elsewhere, msg) : undefined;
      const plan = planStream(typed ? { ...dialog, ...typed } : dialog, view, raw, limits, connection.validationContext());
      const queue = readQueueOptions(msg);
      if (plan.output === 'url') audio?.requireServing('Output "url" of alltalk-stream');
      const keys = plan.output === 'file' ? [...OUTPUT_KEYS, 'filename'] : plan.output === 'url' ? [...OUTPUT_KEYS, 'url'] : OUTPUT_KEYS;
      if (plan.output !== 'chunks') checkWritable(msg, keys, 'alltalk-stream');
      const target = plan.output === 'file' ? await prepareTarget(plan.filePath as string, files) : undefined;
      const base = plan.output === 'chunks' ? readMessage(() => copyOf(msg)) : undefined;
      const request = plan.requests.length === 1 ? plan.requests[0] : plan.requests;

      // 2. The cache (when on): a finished stream is replayed as it was streamed.
      const cachePlan = await planCache({
        audio, connection, node: 'alltalk-stream', sound: plan.requests.map(({ output_file: _f, ...sound }) => sound),
        enabled: useCache, alltalk: view.alltalk, serve: false,
      });
      const hit = cachePlan?.lookup ? await cachePlan.audio.cache.read(cachePlan.id) : undefined;
      const wav = hit ? cachedWav(hit.data) : undefined;
      // An interrupt clears the server's queue and ends its streams now, before this one is among
      // them (with output url it takes its place first when the speaker fetches it).
      const servers = group as ServerGroup;
      const turn = queueTurn(servers, queue, nodeLabel(node));
      let route: RouteFacts = { server: servers.own.ref, rerouted: false };

      // 3. Output "url": a URL on Node-RED at once; the stream starts when a speaker fetches it.
      if (plan.output === 'url' && audio) {
        const alltalk: Record<string, unknown> = { request, ...(cachePlan?.lookup ? { cached: wav !== undefined } : {}) };
        if (hit && wav) {
          const url = audio.urlFor(hit.entry);
          writeOutput(msg, { payload: url, url, contentType: 'audio/wav', audioFormat: wav.format, alltalk: { ...alltalk, bytes: hit.data.length, seconds: round(wav.seconds) } });
          send(msg);
          badge.done(Date.now() - received);
          return;
        }
        let live!: { start: (req: IncomingMessage, res: ServerResponse) => void; expire: (err: AllTalkError) => void };
        const fetched = new Promise<StreamResult>((resolve, reject) => {
          live = {
            start: (_req, res) => void run(new LiveSink(res, connection.client.maxAudioBytes), cachePlan).then((r) => resolve(r.result), reject),
            expire: reject,
          };
        });
        const url = audio.addLive(live, node);
        writeOutput(msg, { payload: url, url, contentType: 'audio/wav', alltalk });
        send(msg);
        badge.set({ fill: 'blue', shape: 'ring', text: WAITING_TEXT });
        const result = await fetched;
        if (result.stopped) badge.stopped();
        else badge.done(Date.now() - received);
        return;
      }

      // 4. Stream (or replay), holding one place in the server's queue for the whole stream.
      const maxBytes = connection.client.maxAudioBytes;
      const sink = plan.output === 'chunks'
        ? new ChunkSink((m) => send(m), base as Record<string, unknown>, RED.util.generateId(), maxBytes)
        : plan.output === 'buffer' ? new BufferSink(maxBytes) : new FileSink(targetFile(target as FileTarget, 'alltalk_stream.wav'), maxBytes, (target as FileTarget).createFolders);
      let outcome: { result: StreamResult; startedAt: number };
      if (hit && wav) {
        try {
          await replay(hit.data, wav, sink);
        } catch (err) {
          if (sink instanceof FileSink) await sink.discard();
          throw err;
        }
        outcome = { result: { stopped: false, seconds: wav.seconds, format: wav.format, firstAudioAt: received }, startedAt: received };
      } else {
        outcome = await run(sink, cachePlan);
      }
      const { result, startedAt } = outcome;

      // 5. The finishing message: the last chunk, or the incoming message with the whole audio.
      const finished = Date.now();
      const alltalk: Record<string, unknown> = {
        request,
        bytes: 0,
        seconds: round(result.seconds),
        timing: { queuedMs: startedAt - received, firstAudioMs: result.firstAudioAt ? result.firstAudioAt - startedAt : null, totalMs: finished - received },
        stopped: result.stopped,
        ...(cachePlan?.lookup ? { cached: wav !== undefined } : {}),
        ...routeOf(route),
      };
      if (sink instanceof ChunkSink) {
        sink.finish(alltalk);
      } else if (sink instanceof BufferSink) {
        const payload = sink.finish();
        alltalk.bytes = payload.length;
        writeOutput(msg, { payload, contentType: 'audio/wav', audioFormat: result.format, alltalk });
        send(msg);
      } else if (sink instanceof FileSink) {
        const written = await sink.finish();
        alltalk.bytes = sink.bytes;
        writeOutput(msg, { payload: written, filename: written, contentType: 'audio/wav', audioFormat: result.format, alltalk });
        send(msg);
      }
      if (result.stopped) badge.stopped();
      else badge.done(finished - received, route.rerouted ? `via ${route.server.name}` : undefined);

      /** Runs the stream through the queue into `into` (copied into the cache when it keeps streams). */
      async function run(into: StreamSink, keep: CachePlan | undefined): Promise<{ result: StreamResult; startedAt: number }> {
        const job: Job = { cancel: new Cancellation(), started: false, stopped: false };
        const unlink = job.cancel.follow(lifetime);
        jobs.add(job);
        const tracker = badge.job();
        const tee = keep?.lookup ? new CacheTee(into, keep.audio.cache.writer(keep.id, {})) : undefined;
        const live = into instanceof LiveSink ? into : undefined;
        // A speaker that hangs up ends its stream, as a stop would.
        const hangUp = () => {
          if (!live?.gone || job.stopped) return;
          job.stopped = true;
          job.cancel.abort(new AllTalkError('aborted', 'The speaker closed the connection.'));
        };
        live?.onClose(hangUp);
        let startedAt = 0;
        try {
          badge.progress(STREAMING_TEXT);
          // On its own server, or on a fallback that streams (its stand-in voice when it lacks the voice).
          const routed = await runRouted(servers, (attempt, signal) => {
            job.started = true;
            startedAt = Date.now();
            const target = attempt.member.connection;
            const here = attempt.rerouted ? { ...plan, requests: plan.requests.map((r) => ({ ...r, voice: voiceOn(attempt.member, r.voice) })) } : plan;
            // A stop of the server it runs on ends it too.
            const unhook = attempt.rerouted ? target.addStreamStopper(stopStreams) : undefined;
            return streamAll(target, here, tee ?? into, job, signal, limits.maxCharacters, (seconds) => badge.progress(streamingText(seconds * 1000)),
              attempt.delivered).finally(() => unhook?.());
          }, { signal: job.cancel, onPosition: (p) => tracker.onPosition(p), capable: (m) => engineStreams(m.connection), ...turn });
          const result = routed.value;
          route = routed;
          // Kept only when finished, unstopped, on its own server, and made by the model the key names.
          if (tee && keep && !result.stopped && !routed.rerouted && (await idNow(keep)) === keep.id) {
            await tee.keep().catch((err: Error) => node.warn(`The stream could not be kept in the cache: ${err.message}`));
          } else {
            await tee?.drop();
          }
          live?.finish();
          return { result, startedAt };
        } catch (err) {
          await tee?.drop();
          live?.fail(err as Error);
          if (into instanceof FileSink) await into.discard();
          if (job.stopped && !job.started) {
            if (job.stopReason) throw job.stopReason;
            const why = live?.gone ? 'The speaker closed the connection' : 'Stopped by a stop message';
            throw new AllTalkError('aborted', `${why} before it started streaming; nothing was sent to AllTalk at ${c.origin}.`);
          }
          throw err;
        } finally {
          tracker.finish();
          jobs.delete(job);
          unlink();
        }
      }
    }, (err) => badge.error(isAllTalkError(err) ? err.shortReason : safeText(err.message) || 'failed'));

    closeWorker(node, lifetime, badge, () => {
      unregister?.();
      audio?.dropLive(new AllTalkError('aborted', 'The node was stopped (flow redeployed or Node-RED stopping) before a speaker fetched the stream URL.'), node);
    });
  }

  RED.nodes.registerType('alltalk-stream', AllTalkStream as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The incoming message's own properties (read once), for the chunk messages. */
function copyOf(msg: NodeMessageInFlow): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(msg)) {
    if (!OWN_KEYS.has(key)) copy[key] = (msg as unknown as Record<string, unknown>)[key];
  }
  return copy;
}
