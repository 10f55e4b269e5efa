/**
 * alltalk-tts: text in, speech out through /api/tts-generate. The audio comes back as a Buffer,
 * as a URL for players that fetch it themselves, or written to a local file.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { contentTypeFor } from '../../api/audio-format';
import type { CancelSignal } from '../../api/cancellation';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import { DEFAULT_MAX_CHARACTERS, type TtsGenerateField } from '../../api/rules';
import { codePoints, type FormFields, validateText, validateTtsGenerate } from '../../api/validation';
import { type FileTarget, prepareTarget, targetFile, writeAudioFile } from '../../runtime/audio-file';
import { checkWritable, handleInput, nodeLifetime, messageView, safeText, writeOutput } from '../../runtime/input-handler';
import { NodeBadge } from '../../runtime/node-badge';
import { nodeLabel, queueTurn, readQueueOptions } from '../../runtime/queue-options';
import type { ServerConnection } from '../../runtime/server-connection';
import { splitText } from '../../runtime/text-splitter';
import { WavPartsBuffer, WavPartsFile } from '../../runtime/wav-parts';
import { isMessageInput, readInput, readMessageInput, wholeNumber } from '../../runtime/node-properties';
import { closeWorker, filePolicy, requireConnection, serverAudio, serverConnection, serverGroup } from '../../runtime/worker-node';
import { fromElsewhere, ownFields, readElsewhere } from '../../runtime/typed-fields';
import { type OutputMode, resolveRequest, type TtsDialog } from './tts-options';
import { defaultName, type OutputFacts, outputOf, type Part, soundOf, summarize, summaryFrom } from './tts-result';
import { answerOrLead, cacheUse, type CachePlan, keepAudio, NO_CACHE, planCache } from '../../runtime/cached-audio';
import { runRouted, type ServerGroup } from '../../runtime/server-group';
import { formOn } from '../../runtime/stand-in';

interface TtsDef extends NodeDef, Partial<Record<TtsGenerateField, string>> {
  /** Where voice, language and speed come from: str/num (the dialog's, also when absent), msg, flow, global, env, jsonata. */
  character_voice_genType?: string;
  languageType?: string;
  speedType?: string;
  server: string;
  property: string;
  propertyType: string;
  maxCharacters: string | number;
  splitLongText: boolean;
  /** With split long text: the longest text accepted in all, in characters (default 20000). */
  maxTotalCharacters?: string | number;
  output: string;
  filePath: string;
  /** Output file: missing folders are made (default off). */
  createFolders?: boolean | string;
  /** Answer repeated requests from the server's audio cache (default on). */
  cache?: boolean | string;
}

/** A split text up to this long is accepted unless the dialog says otherwise (about 10 parts). */
const DEFAULT_MAX_TOTAL_CHARACTERS = 20_000;

/** The properties alltalk-tts writes on the message (and msg.filename in file mode). */
const OUTPUT_KEYS = ['payload', 'url', 'urls', 'cacheUrl', 'filePath', 'contentType', 'alltalk'];
const FILE_OUTPUT_KEYS = [...OUTPUT_KEYS, 'filename'];
/** The properties alltalk-tts reads from the message besides its text. */
const MESSAGE_KEYS = ['alltalk', 'voice', 'language', 'speed', 'filename'];

export = function register(RED: NodeAPI): void {
  function AllTalkTts(this: Node, def: TtsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const group = serverGroup(RED, def.server);
    const audio = serverAudio(RED, def.server);
    const useCache = def.cache !== false && def.cache !== 'false';
    const badge = new NodeBadge((s) => node.status(s), connection);
    const lifetime = nodeLifetime();
    const maxCharacters = wholeNumber(def.maxCharacters, DEFAULT_MAX_CHARACTERS);
    const maxTotal = Math.max(maxCharacters, wholeNumber(def.maxTotalCharacters, DEFAULT_MAX_TOTAL_CHARACTERS));
    const split = def.splitLongText === true || (def.splitLongText as unknown) === 'true';
    // Voice, language and speed may come from the message, context, env or JSONata (read per message).
    const elsewhere = fromElsewhere(def, ['character_voice_gen', 'language', 'speed']);
    const dialog: TtsDialog = ownFields({ ...def }, elsewhere);
    const files = filePolicy(RED, def);
    const label = nodeLabel(node);
    const messageInput = isMessageInput(def.propertyType);

    handleInput(node, async (msg, send) => {
      const received = Date.now();
      requireConnection(connection);
      const servers = group as ServerGroup;

      // 1. Resolve and check everything before anything is sent.
      // A message property is read at once; nothing is awaited on the way to the queue unless needed.
      const raw = messageInput ? readMessageInput(RED, def.property, msg) : (await readInput(RED, node, def.property, def.propertyType, msg)).value;
      const view = messageView(msg, MESSAGE_KEYS);
      const here = elsewhere.length ? { ...dialog, ...(await readElsewhere(RED, node, elsewhere, msg)) } : dialog;
      const { forms, output, filePath } = prepare(connection, here, view, raw, { maxCharacters, maxTotal, split, serving: audio?.serving === true });
      const queue = readQueueOptions(msg);
      checkWritable(msg, output === 'file' ? FILE_OUTPUT_KEYS : OUTPUT_KEYS, 'alltalk-tts');
      const target = output === 'file' ? await prepareTarget(filePath as string, files) : undefined;

      // 2. The cache: a hit answers without calling AllTalk.
      const serve = output === 'url' && audio?.serving === true;
      const cache = {
        audio, connection, node: 'alltalk-tts', enabled: useCache, alltalk: view.alltalk, serve,
        // Playing on the AllTalk machine needs AllTalk; AllTalk's own URL needs its file.
        bypass: forms[0].autoplay === 'true' || (output === 'url' && !serve),
      };
      const plan = cacheUse(cache) === undefined ? undefined : await planCache({ ...cache, sound: soundOf(forms) });
      // Identical messages at the same moment share one generation (an interrupter never waits).
      const { hit, release } = plan?.lookup
        ? await answerOrLead(plan, (known) => answerFromCache(plan, forms, output, target, known), queue.interrupt)
        : NO_CACHE;
      let facts: OutputFacts;
      try {
        // An interrupt clears the server's queue now (also when the answer comes from the cache), and
        // nothing is awaited between it and this message's place in the queue.
        const turn = queueTurn(servers, queue, label);
        facts = hit ?? await generateAndKeep(turn);
      } finally {
        release();
      }
      facts.route ??= { server: servers.own.ref, rerouted: false };
      writeOutput(msg, outputOf(facts));
      badge.done(Date.now() - received, facts.route.rerouted ? `via ${facts.route.server.name}` : undefined);
      send(msg);

      // 3. Generate (and download) in the server's queue, and keep the audio.
      async function generateAndKeep(turn: ReturnType<typeof queueTurn>): Promise<OutputFacts> {
        const job = badge.job();
        try {
          // When the last try started, and what it sent (tries run one after the other).
          let startedAt = 0;
          let sent = forms;
          const timing = { generationMs: 0, downloadMs: 0 };
          // Served by Node-RED: the audio is fetched to be kept, and the URL given is Node-RED's.
          const fetchAs: OutputMode = serve ? 'buffer' : output;
          // On its own server, or on a fallback (what that engine cannot use is left out there).
          const routed = await runRouted(servers, (attempt, signal) => {
            startedAt = Date.now();
            sent = attempt.rerouted ? forms.map((f) => formOn(attempt.member, f)) : forms;
            return generate(attempt.member.connection, sent, fetchAs, target, signal, timing);
          }, { signal: lifetime, onPosition: job.onPosition, priority: turn.priority, first: turn.first });
          const result = routed.value;
          const summary = summarize(result.parts);
          const made: OutputFacts = { forms: sent, output, summary, audio: result.audio, written: result.written, bytes: result.bytes,
            timing: { queuedMs: startedAt - received, generationMs: timing.generationMs, downloadMs: timing.downloadMs },
            cached: plan?.lookup ? false : undefined, route: routed };
          if (plan && (result.audio || result.written)) {
            const kept = result.audio ?? { file: result.written as string };
            // Kept under the engine and model that made it (a stand-in's audio never answers for the own server's).
            const maker = routed.rerouted ? { by: routed.member.connection, sound: soundOf(sent) } : undefined;
            const entry = await keepAudio(plan, { extra: { summary } }, kept, (t) => node.warn(t), maker);
            if (serve && entry) made.servedUrl = plan.audio.urlFor(entry);
          }
          return made;
        } finally {
          job.finish();
        }
      }
    }, (err) => badge.error(isAllTalkError(err) ? err.shortReason : safeText(err.message) || 'failed'));

    closeWorker(node, lifetime, badge);
  }

  RED.nodes.registerType('alltalk-tts', AllTalkTts as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

interface Limits {
  maxCharacters: number;
  maxTotal: number;
  split: boolean;
  /** Node-RED serves URLs: a split text's joined audio can have one. */
  serving: boolean;
}

/** The checked requests for one message (nothing is sent when this throws). */
function prepare(connection: ServerConnection, dialog: TtsDialog, view: Record<string, unknown>, raw: unknown, limits: Limits) {
  const { maxCharacters, maxTotal, split, serving } = limits;
  const { params, sources, output, filePath } = resolveRequest(dialog, view);
  const text = validateText(raw, split ? Number.MAX_SAFE_INTEGER : maxCharacters);
  if (split && codePoints(text) > maxTotal) throw tooLong(codePoints(text), maxTotal);
  const texts = split && codePoints(text) > maxCharacters ? splitText(text, maxCharacters) : [text];
  const ctx = connection.validationContext();
  ctx.maxCharacters = maxCharacters;
  ctx.sources = sources;
  const forms = texts.map((t) => {
    params.text_input = t;
    return validateTtsGenerate(params, ctx);
  });
  if (forms.length > 1 && output === 'url' && !serving) {
    throw new AllTalkError('validation',
      `The text is longer than ${maxCharacters} characters and would be generated in ${forms.length} files, ` +
        'but output "url" gives one URL. Use output buffer or file (the parts are joined), set the address of Node-RED for ' +
        'speakers in the server configuration (Node-RED then serves the joined audio), or shorten the text. ' +
        'Nothing was sent to AllTalk.', { field: 'output', value: output, allowed: 'buffer or file for a split text' });
  }
  if (forms.length > 1 && forms[0].output_file_timestamp !== 'true') {
    // Without timestamps (ours or the server's default) every part would overwrite one file.
    const base = forms[0].output_file_name ?? 'alltalk';
    forms.forEach((f, i) => (f.output_file_name = `${base}_part${i + 1}`));
  }
  return { forms, output, filePath };
}

interface Generated {
  parts: Part[];
  audio?: Buffer;
  written?: string;
  bytes: number;
}

/**
 * Generates every part in order and fetches its audio: one part as it comes, several joined as
 * they arrive (in memory, or straight into the file), within the configured audio limit.
 */
async function generate(
  connection: ServerConnection,
  forms: FormFields[],
  output: OutputMode,
  target: FileTarget | undefined,
  signal: CancelSignal,
  timing: { generationMs: number; downloadMs: number },
): Promise<Generated> {
  const client = connection.client;
  const call = { signal };
  const parts: Part[] = [];
  let joined: WavPartsBuffer | WavPartsFile | undefined;
  let single: Buffer | undefined;
  try {
    for (const form of forms) {
      const t0 = Date.now();
      const result = await client.ttsGenerateForm(form, call);
      timing.generationMs += Date.now() - t0;
      if (output === 'url') {
        // Not downloaded: the type the file's name says.
        parts.push({ form, result, contentType: contentTypeFor(result.output_file_url, 'audio/wav') });
        continue;
      }
      const t1 = Date.now();
      const audio = await client.fetchAudio(result.output_file_url, call);
      timing.downloadMs += Date.now() - t1;
      // Downloaded: the type its bytes are.
      const part: Part = { form, result, contentType: audio.contentType };
      parts.push(part);
      if (forms.length === 1) {
        single = audio.data;
        break;
      }
      if (part.contentType !== 'audio/wav') throw notJoinable(forms.length, part.contentType);
      joined ??= target
        ? new WavPartsFile(targetFile(target, defaultName(result.url)), client.maxAudioBytes, forms.length, target.createFolders)
        : new WavPartsBuffer(client.maxAudioBytes, forms.length);
      await joined.add(audio.data);
    }
    if (output === 'url') return { parts, bytes: 0 };
    if (joined instanceof WavPartsFile) {
      const written = await joined.finish();
      return { parts, written, bytes: joined.bytes };
    }
    const audio = joined instanceof WavPartsBuffer ? joined.toBuffer() : (single as Buffer);
    if (target) return { parts, written: await writeAudioFile(target, audio, defaultName(parts[0].result.url)), bytes: audio.length };
    return { parts, audio, bytes: audio.length };
  } catch (err) {
    if (joined instanceof WavPartsFile) await joined.discard();
    throw err;
  }
}

function notJoinable(count: number, contentType: string): AllTalkError {
  return new AllTalkError('invalid-response',
    `The long text was generated in ${count} parts, but the server sends ${contentType} (it transcodes its output), ` +
      'which cannot be joined here. Use output "url", shorten the text, or turn transcoding off in AllTalk.');
}

function tooLong(length: number, max: number): AllTalkError {
  return new AllTalkError('validation', `The text is ${length} characters long; with "split long text" this node accepts at most ${max} ` +
    'in all (set "Longest text" in the node to change it). Nothing was sent to AllTalk.',
  { field: 'text', value: `${length} characters`, allowed: `at most ${max} characters` });
}


/** The output from the cache, or undefined (a miss: the file is gone or not whole, or was kept by an older version). */
async function answerFromCache(plan: CachePlan, forms: FormFields[], output: OutputMode, target: FileTarget | undefined, known: boolean):
Promise<OutputFacts | undefined> {
  const timing = { queuedMs: 0, generationMs: 0, downloadMs: 0 };
  if (output === 'url') {
    const found = await plan.audio.cache.file(plan.id, known);
    const summary = summaryFrom(found?.entry.extra);
    if (!found || !summary) return undefined;
    return { forms, output, summary, bytes: found.entry.bytes, timing, servedUrl: plan.audio.urlFor(found.entry), cached: true };
  }
  const found = await plan.audio.cache.read(plan.id, known);
  const summary = summaryFrom(found?.entry.extra);
  if (!found || !summary) return undefined;
  const facts: OutputFacts = { forms, output, summary, audio: found.data, bytes: found.data.length, timing, cached: true };
  if (target) {
    facts.written = await writeAudioFile(target, found.data, defaultName(summary.urls[0]));
    facts.audio = undefined;
  }
  return facts;
}
