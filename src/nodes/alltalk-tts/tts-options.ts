/**
 * How alltalk-tts turns its dialog and a message into a /api/tts-generate request.
 * Precedence, as in Node-RED's core nodes: a value set in the dialog wins; a blank dialog field
 * takes `msg.alltalk.<api field>`, then the short forms `msg.voice`, `msg.language`, `msg.speed`
 * (and `msg.filename` for the output file name); still blank, it is not sent and the server
 * uses its own default.
 */
import * as path from 'node:path';
import { AllTalkError, describeValue } from '../../api/errors';
import { sanitizeOutputFileName, TTS_GENERATE_FIELDS, type TtsGenerateField } from '../../api/rules';
import { chooseOutput } from '../../runtime/output-choice';

export type OutputMode = 'buffer' | 'url' | 'file';
export const OUTPUT_MODES: readonly OutputMode[] = ['buffer', 'url', 'file'];

export type TtsDialog = Partial<Record<TtsGenerateField, unknown>> & {
  output?: string;
  filePath?: string;
};

export const SHORT_FORMS: Partial<Record<TtsGenerateField, string>> = {
  character_voice_gen: 'voice',
  language: 'language',
  speed: 'speed',
};

export function isBlank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

export interface ResolvedRequest {
  /** The /api/tts-generate fields, before validation (text_input not included). */
  params: Record<string, unknown>;
  /** Where each field came from: "dialog", "msg.alltalk.<field>" or "msg.<short form>". */
  sources: Record<string, string>;
  output: OutputMode;
  /** For output mode `file`: where to write. */
  filePath?: string;
}

/** What a message without msg.alltalk (or with one that is not an object) reads its fields from. */
const NO_ALLTALK: Record<string, unknown> = Object.freeze({});

function msgAlltalk(msg: Record<string, unknown>): Record<string, unknown> {
  const a = msg.alltalk;
  return a && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, unknown>) : NO_ALLTALK;
}

/** One request field, and the words for where its value came from (made once, not per message). */
interface FieldSources {
  field: TtsGenerateField;
  fromAlltalk: string;
  short: string | undefined;
  fromShort: string;
}

const FIELD_SOURCES: readonly FieldSources[] = TTS_GENERATE_FIELDS.map((field) => ({
  field,
  fromAlltalk: `msg.alltalk.${field}`,
  short: SHORT_FORMS[field],
  fromShort: `msg.${SHORT_FORMS[field]}`,
}));

export function resolveRequest(dialog: TtsDialog, msg: Record<string, unknown>): ResolvedRequest {
  const fromMsg = msgAlltalk(msg);
  const params: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const f of FIELD_SOURCES) {
    let value = dialog[f.field];
    let source = 'dialog';
    if (isBlank(value)) {
      value = fromMsg[f.field];
      source = f.fromAlltalk;
    }
    if (isBlank(value)) {
      value = f.short ? msg[f.short] : undefined;
      source = f.fromShort;
    }
    if (!isBlank(value)) {
      params[f.field] = value;
      sources[f.field] = source;
    }
  }

  const output = chooseOutput(dialog.output, fromMsg.output, OUTPUT_MODES, 'buffer');

  const msgFilename = typeof msg.filename === 'string' && msg.filename.trim() ? msg.filename.trim() : undefined;
  let filePath: string | undefined;
  if (output === 'file') {
    filePath = !isBlank(dialog.filePath) ? String(dialog.filePath).trim() : msgFilename;
    if (!filePath) {
      throw new AllTalkError('validation', 'Output "file" needs a path: set it in the node or in msg.filename. Nothing was sent to AllTalk.',
        { field: 'filename', allowed: 'a file or folder path' });
    }
  }
  // msg.filename also names the file on the server when no output file name is set.
  if (isBlank(params.output_file_name) && msgFilename) {
    params.output_file_name = output === 'file' ? path.basename(msgFilename) : msgFilename;
  }
  const name = params.output_file_name;
  if (!isBlank(name)) {
    if (typeof name !== 'string' && typeof name !== 'number') {
      throw new AllTalkError('validation', `output_file_name is ${describeValue(name)}: it must be a name (letters, digits and _). ` +
        'Nothing was sent to AllTalk.', { field: 'output_file_name', value: name, allowed: 'a file name' });
    }
    params.output_file_name = sanitizeOutputFileName(String(name));
  }
  return { params, sources, output, filePath };
}
