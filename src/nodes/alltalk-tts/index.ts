/**
 * alltalk-tts: text in, speech out through /api/tts-generate. The audio comes back as a Buffer,
 * as a URL for players that fetch it themselves, or written to a local file.
 */
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { contentTypeFor } from '../../api/audio-format';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import { DEFAULT_MAX_CHARACTERS, type TtsGenerateField } from '../../api/rules';
import type { TtsGenerateResult } from '../../api/types';
import { codePoints, type FormFields, validateText, validateTtsGenerate } from '../../api/validation';
import { joinWavs, WavFormatError } from '../../api/wav';
import { writeAudioFile } from '../../runtime/audio-file';
import { NodeBadge } from '../../runtime/node-badge';
import { splitText } from '../../runtime/text-splitter';
import { serverConnection } from '../../runtime/worker-node';
import { resolveRequest, type TtsDialog } from './tts-options';

interface TtsDef extends NodeDef, Partial<Record<TtsGenerateField, string>> {
  server: string;
  property: string;
  propertyType: string;
  maxCharacters: string | number;
  splitLongText: boolean;
  output: string;
  filePath: string;
}

interface Part {
  form: FormFields;
  result: TtsGenerateResult;
  audio?: Buffer;
  contentType: string;
}

export = function register(RED: NodeAPI): void {
  function AllTalkTts(this: Node, def: TtsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const badge = new NodeBadge((s) => node.status(s), connection);
    const lifetime = new AbortController();
    const maxCharacters = Number(def.maxCharacters) >= 1 ? Math.floor(Number(def.maxCharacters)) : DEFAULT_MAX_CHARACTERS;
    const split = def.splitLongText === true || (def.splitLongText as unknown) === 'true';
    const dialog: TtsDialog = { ...def };

    node.on('input', (msg: NodeMessageInFlow, send, done) => {
      const received = Date.now();
      if (!connection) {
        badge.error('no server');
        done(new Error('No AllTalk server is configured: choose one in the node\'s settings.'));
        return;
      }
      let job: ReturnType<NodeBadge['job']> | undefined;
      (async () => {
        // 1. Resolve and check everything before anything is sent.
        const raw: unknown = def.propertyType === 'msg' || !def.propertyType
          ? RED.util.getMessageProperty(msg, def.property || 'payload')
          : await evaluate(RED, node, def.property, def.propertyType, msg);
        const { params, output, filePath } = resolveRequest(dialog, msg as unknown as Record<string, unknown>);
        const text = validateText(raw, split ? Number.MAX_SAFE_INTEGER : maxCharacters);
        const texts = split && codePoints(text) > maxCharacters ? splitText(text, maxCharacters) : [text];
        const ctx = { ...connection.validationContext(), maxCharacters };
        const forms = texts.map((t) => validateTtsGenerate({ ...params, text_input: t }, ctx));
        if (forms.length > 1 && output === 'url') {
          throw new AllTalkError('validation',
            `The text is longer than ${maxCharacters} characters and would be generated in ${forms.length} files, ` +
              'but output "url" gives one URL. Use output buffer or file (the parts are joined), or shorten the text. ' +
              'Nothing was sent to AllTalk.', { field: 'output', value: output, allowed: 'buffer or file for a split text' });
        }
        if (forms.length > 1 && forms[0].output_file_timestamp !== 'true') {
          // Without timestamps (ours or the server's default) every part would overwrite one file.
          const base = forms[0].output_file_name ?? 'alltalk';
          forms.forEach((f, i) => (f.output_file_name = `${base}_part${i + 1}`));
        }

        // 2. Generate (and download) in the server's queue.
        job = badge.job();
        let startedAt = 0;
        let generationMs = 0;
        let downloadMs = 0;
        const parts = await connection.runGeneration(async (signal) => {
          startedAt = Date.now();
          const done: Part[] = [];
          for (const form of forms) {
            const t0 = Date.now();
            const result = await connection.client.ttsGenerateForm(form, { signal });
            generationMs += Date.now() - t0;
            const part: Part = { form, result, contentType: contentTypeFor(result.output_file_url, 'audio/wav') };
            if (output !== 'url') {
              const t1 = Date.now();
              const audio = await connection.client.fetchAudio(result.output_file_url, { signal });
              downloadMs += Date.now() - t1;
              part.audio = audio.data;
              part.contentType = contentTypeFor(result.output_file_url, audio.contentType);
            }
            done.push(part);
          }
          return done;
        }, { signal: lifetime.signal, onPosition: (p) => job?.onPosition(p) });

        // 3. Build the output message.
        const first = parts[0];
        let audio: Buffer | undefined;
        if (output !== 'url') {
          audio = parts.length === 1 ? first.audio : joinParts(parts);
        }
        const out = msg as NodeMessageInFlow & Record<string, unknown>;
        out.url = first.result.url;
        out.urls = parts.map((p) => p.result.url);
        out.cacheUrl = first.result.cacheUrl;
        out.filePath = first.result.output_file_path;
        out.contentType = first.contentType;
        if (output === 'buffer') {
          out.payload = audio;
        } else if (output === 'url') {
          out.payload = first.result.url;
        } else {
          const name = path.basename(new URL(first.result.url).pathname) || 'alltalk.wav';
          const written = await writeAudioFile(filePath as string, audio as Buffer, name);
          out.payload = written;
          out.filename = written;
        }
        out.alltalk = {
          request: forms.length === 1 ? forms[0] : forms,
          response: parts.length === 1 ? responseOf(first) : parts.map(responseOf),
          timing: { queuedMs: startedAt - received, generationMs, downloadMs },
          bytes: audio ? audio.length : 0,
          parts: parts.length,
        };
        job.finish();
        badge.done(Date.now() - received);
        send(out);
        done();
      })().catch((err: unknown) => {
        job?.finish();
        const e = err as Error;
        badge.error(isAllTalkError(e) ? e.shortReason : e.message || 'failed');
        done(e);
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      lifetime.abort(new AllTalkError('aborted', 'The node was stopped (flow redeployed or Node-RED stopping).'));
      badge.close();
      done();
    });
  }

  RED.nodes.registerType('alltalk-tts', AllTalkTts as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

function responseOf(p: Part): Record<string, unknown> {
  const { status, output_file_path, output_file_url, output_cache_url } = p.result;
  return { status, output_file_path, output_file_url, output_cache_url };
}

function joinParts(parts: Part[]): Buffer {
  const nonWav = parts.find((p) => p.contentType !== 'audio/wav');
  if (nonWav) {
    throw new AllTalkError('invalid-response',
      `The long text was generated in ${parts.length} parts, but the server sends ${nonWav.contentType} (it transcodes its output), ` +
        'which cannot be joined here. Use output "url", shorten the text, or turn transcoding off in AllTalk.');
  }
  try {
    return joinWavs(parts.map((p) => p.audio as Buffer));
  } catch (err) {
    if (err instanceof WavFormatError) {
      throw new AllTalkError('invalid-response', `The parts of the long text could not be joined: ${err.message}.`);
    }
    throw err;
  }
}

function evaluate(RED: NodeAPI, node: Node, value: string, type: string, msg: NodeMessageInFlow): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err: Error | null, result: unknown) => (err ? reject(err) : resolve(result)));
  });
}
