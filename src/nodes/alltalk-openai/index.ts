/**
 * alltalk-openai: text to speech through AllTalk's OpenAI-compatible POST /v1/audio/speech, the
 * route Home Assistant and many tools use, for mp3, opus, aac, flac, wav, and pcm made here.
 * Everything is checked before sending: the server answers every mistake with a bare 500.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import { joinOpenAiParts, OPENAI_CONTENT_TYPES, wavToPcm } from '../../api/openai-audio';
import { megabytes } from '../../api/server-errors';
import { WavFormatError } from '../../api/wav';
import { prepareTarget, writeAudioFile } from '../../runtime/audio-file';
import { checkWritable, handleInput, messageView, nodeLifetime, safeText, writeOutput } from '../../runtime/input-handler';
import { NodeBadge } from '../../runtime/node-badge';
import { nodeLabel, queueTurn, readQueueOptions } from '../../runtime/queue-options';
import { readInput, wholeNumber } from '../../runtime/node-properties';
import { closeWorker, filePolicy, requireConnection, serverAudio, serverConnection, serverGroup } from '../../runtime/worker-node';
import { runRouted, type ServerGroup } from '../../runtime/server-group';
import { routeOf, type RouteFacts } from '../../runtime/route-facts';
import { answerOrLead, keepAudio, NO_CACHE, planCache } from '../../runtime/cached-audio';
import type { CacheEntry } from '../../runtime/audio-cache';
import type { CancelSignal } from '../../api/cancellation';
import type { ServerConnection } from '../../runtime/server-connection';
import { fromElsewhere, ownFields, readElsewhere } from '../../runtime/typed-fields';
import { type OpenAiDialog, planSpeech, type SpeechPlan } from './openai-options';

interface OpenAiDef extends NodeDef {
  server: string;
  property: string;
  propertyType: string;
  voice: string;
  /** Where the voice comes from: str (the dialog's, also when absent), msg, flow, global, env, jsonata. */
  voiceType?: string;
  format: string;
  speed: string | number;
  speedType?: string;
  model: string;
  output: string;
  filePath: string;
  /** Output file: missing folders are made (default off). */
  createFolders?: boolean | string;
  splitLongText: boolean | string;
  maxTotalCharacters?: string | number;
  /** Answer repeated requests from the server's audio cache (default on). */
  cache?: boolean | string;
}

const DEFAULT_MAX_TOTAL_CHARACTERS = 20_000;
/** The properties written on the message (and msg.filename in file mode). */
const OUTPUT_KEYS = ['payload', 'contentType', 'alltalk'];
/** The properties read from the message besides its text. */
const MESSAGE_KEYS = ['alltalk', 'voice', 'format', 'speed', 'filename'];

export = function register(RED: NodeAPI): void {
  function AllTalkOpenAi(this: Node, def: OpenAiDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const group = serverGroup(RED, def.server);
    const audioService = serverAudio(RED, def.server);
    const useCache = def.cache !== false && def.cache !== 'false';
    const badge = new NodeBadge((s) => node.status(s), connection);
    const lifetime = nodeLifetime();
    const limits = {
      split: def.splitLongText === true || def.splitLongText === 'true',
      maxTotal: wholeNumber(def.maxTotalCharacters, DEFAULT_MAX_TOTAL_CHARACTERS),
    };
    const elsewhere = fromElsewhere(def, ['voice', 'speed']);
    const dialog: OpenAiDialog = ownFields({ voice: def.voice, format: def.format, speed: def.speed, model: def.model, output: def.output, filePath: def.filePath }, elsewhere);
    const files = filePolicy(RED, def);

    handleInput(node, async (msg, send) => {
      const received = Date.now();
      requireConnection(connection);

      // 1. Resolve and check everything before anything is sent.
      const raw = (await readInput(RED, node, def.property, def.propertyType, msg)).value;
      const view = messageView(msg, MESSAGE_KEYS);
      const typed = elsewhere.length ? await readElsewhere(RED, node, elsewhere, msg) : undefined;
      const plan = planSpeech(typed ? { ...dialog, ...typed } : dialog, view, raw, limits);
      const queue = readQueueOptions(msg);
      // A URL needs Node-RED to serve the audio: refused before sending when it cannot.
      if (plan.output === 'url') audioService?.requireServing('Output "url" of alltalk-openai');
      checkWritable(msg, plan.output === 'file' ? [...OUTPUT_KEYS, 'filename'] : plan.output === 'url' ? [...OUTPUT_KEYS, 'url'] : OUTPUT_KEYS, 'alltalk-openai');
      const target = plan.output === 'file' ? await prepareTarget(plan.filePath as string, files) : undefined;

      // 2. The cache: a hit answers without calling AllTalk.
      const cachePlan = await planCache({
        audio: audioService, connection, node: 'alltalk-openai', sound: { requests: plan.requests, format: plan.format },
        enabled: useCache, alltalk: view.alltalk, serve: plan.output === 'url',
      });
      // Identical messages at the same moment share one generation (an interrupter never waits).
      const { hit: found, release } = cachePlan?.lookup
        ? await answerOrLead(cachePlan, (known) => cachePlan.audio.cache.read(cachePlan.id, known), queue.interrupt)
        : NO_CACHE;
      let startedAt = received;
      let audio: Buffer;
      let entry: CacheEntry | undefined;
      const servers = group as ServerGroup;
      let route: RouteFacts = { server: servers.own.ref, rerouted: false };
      let maker: { by: ServerConnection } | undefined;
      try {
        // An interrupt clears the queues now (also when the answer comes from the cache), and
        // nothing is awaited between it and this message's place in the queue.
        const turn = queueTurn(servers, queue, nodeLabel(node));
        // 3. Or generate every part in the queue of its server (or a fallback), in order, and keep the audio.
        if (found) {
          audio = found.data;
        } else {
          const job = badge.job();
          try {
            const routed = await runRouted(servers, async (attempt, signal) => {
              startedAt = Date.now();
              return speak(attempt.member.connection, plan, signal);
            }, { signal: lifetime, onPosition: (p) => job.onPosition(p), ...turn });
            audio = routed.value;
            route = routed;
            if (routed.rerouted) maker = { by: routed.member.connection };
          } finally {
            job.finish();
          }
        }
        entry = found?.entry ?? (cachePlan ? await keepAudio(cachePlan, { pcm: plan.format === 'pcm' }, audio, (t) => node.warn(t), maker) : undefined);
      } finally {
        release();
      }
      const contentType = OPENAI_CONTENT_TYPES[plan.format];

      // 4. The output: the incoming message, enriched.
      const out: Record<string, unknown> = {
        payload: audio,
        contentType,
        alltalk: {
          request: plan.requests.length === 1 ? plan.requests[0] : plan.requests,
          timing: { queuedMs: startedAt - received, generationMs: found ? 0 : Date.now() - startedAt },
          bytes: audio.length,
          format: plan.format,
          parts: plan.requests.length,
          ...(cachePlan?.lookup ? { cached: found !== undefined } : {}),
          ...routeOf(route),
        },
      };
      if (plan.output === 'url' && cachePlan && entry) {
        out.url = cachePlan.audio.urlFor(entry);
        out.payload = out.url;
      }
      if (target) {
        const written = await writeAudioFile(target, audio, `alltalk_speech.${plan.format}`);
        out.payload = written;
        out.filename = written;
      }
      writeOutput(msg, out);
      badge.done(Date.now() - received, route.rerouted ? `via ${route.server.name}` : undefined);
      send(msg);
    }, (err) => badge.error(isAllTalkError(err) ? err.shortReason : safeText(err.message) || 'failed'));

    closeWorker(node, lifetime, badge);
  }

  RED.nodes.registerType('alltalk-openai', AllTalkOpenAi as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

/** Every part of the speech from the server, joined into one file of the plan's format. */
async function speak(connection: ServerConnection, plan: SpeechPlan, signal: CancelSignal): Promise<Buffer> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for (const request of plan.requests) {
    const reply = await connection.client.openaiSpeech(request, { signal });
    const part = plan.format === 'pcm' ? toPcm(reply.audio) : reply.audio;
    bytes += part.length;
    if (bytes > connection.client.maxAudioBytes) {
      throw new AllTalkError('too-large', `The speech makes more than ${megabytes(connection.client.maxAudioBytes)} of audio ` +
        '(the "Max audio size" of the server configuration). Shorten the text, or raise the limit.');
    }
    parts.push(part);
  }
  return joinParts(plan.format, parts);
}

/** OpenAI's pcm from the WAV the server sent. */
function toPcm(wav: Buffer): Buffer {
  try {
    return wavToPcm(wav);
  } catch (err) {
    if (err instanceof WavFormatError) throw new AllTalkError('invalid-response', `The WAV from AllTalk could not be turned into pcm: ${err.message}.`);
    throw err;
  }
}

/** The parts of a split text as one file. */
function joinParts(format: Parameters<typeof joinOpenAiParts>[0], parts: Buffer[]): Buffer {
  try {
    return joinOpenAiParts(format, parts);
  } catch (err) {
    if (err instanceof WavFormatError) throw new AllTalkError('invalid-response', `The parts of the long text could not be joined: ${err.message}.`);
    throw err;
  }
}

