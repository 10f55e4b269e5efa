/**
 * The audio format of a server file, from its extension: the server's own Content-Type depends
 * on its platform (/audio) or is always audio/wav (/audiocache), so the extension is the truth.
 * And a check that bytes claimed to be audio really are, before they are passed on as audio.
 */
import { parseWav, WavFormatError } from './wav';

const TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  flac: 'audio/flac',
  aac: 'audio/aac',
  m4a: 'audio/mp4',
};

export function audioExtension(url: string): string {
  const path = url.split(/[?#]/)[0];
  const m = /\.([a-z0-9]+)$/i.exec(path);
  return m ? m[1].toLowerCase() : '';
}

export function contentTypeFor(url: string, fallback = 'application/octet-stream'): string {
  return TYPES[audioExtension(url)] ?? fallback;
}

/** The extension of an audio content type (audio/mpeg → mp3), or undefined for one not listed. */
export function extensionOfType(contentType: string): string | undefined {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return Object.keys(TYPES).find((ext) => TYPES[ext] === type);
}

const isAdts = (b: Buffer) => b.length >= 2 && b[0] === 0xff && (b[1] & 0xf6) === 0xf0;
/** ID3, or an MPEG audio frame sync with a layer (ADTS has layer 0). */
const isMp3 = (b: Buffer) => b.toString('latin1', 0, 3) === 'ID3' || (b.length >= 2 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0);
const isOgg = (b: Buffer) => b.toString('latin1', 0, 4) === 'OggS';
const isFlac = (b: Buffer) => b.toString('latin1', 0, 4) === 'fLaC';
const isMp4 = (b: Buffer) => b.toString('latin1', 4, 8) === 'ftyp';

const SIGNATURES: Record<string, (b: Buffer) => boolean> = {
  mp3: isMp3,
  aac: isAdts,
  // AllTalk's "m4a" is raw ADTS AAC; a real MP4 container is accepted too.
  m4a: (b) => isAdts(b) || isMp4(b),
  ogg: isOgg,
  opus: isOgg,
  vorbis: isOgg,
  flac: isFlac,
};

/**
 * Why `data` is not audio of `format` (a file extension such as wav or mp3), or undefined when
 * it is. An unknown format must still look like one of the known ones.
 */
export function notAudioReason(data: Buffer, format: string, redact: (text: string) => string = (t) => t): string | undefined {
  const startOf = (d: Buffer) => quoteStart(d, redact);
  if (data.length === 0) return 'the body is empty';
  const f = format.toLowerCase();
  if (f === 'wav') {
    try {
      parseWav(data);
      return undefined;
    } catch (err) {
      return err instanceof WavFormatError ? `not a WAV file (${err.message}; it starts with ${startOf(data)})` : String(err);
    }
  }
  const check = SIGNATURES[f];
  if (check) return check(data) ? undefined : `not ${f} audio (it starts with ${startOf(data)})`;
  // Any other name (a URL ending in .html, say): the bytes must be audio of a known type, a WAV whole.
  return audioTypeOf(data) ? undefined : `not audio in a known format (it starts with ${startOf(data)})`;
}

/**
 * What audio `data` is, when notAudioReason(data, format) finds nothing wrong with it; else why not:
 * that reason, or that it is audio of no type the package knows. The same answer as calling
 * notAudioReason and then audioTypeOf, with a WAV parsed once, not twice.
 */
export function audioOfFormat(data: Buffer, format: string, redact?: (text: string) => string): AudioType | string {
  const type = audioTypeOf(data);
  const f = format.toLowerCase();
  // Where notAudioReason asks no more than audioTypeOf did: a whole WAV for "wav"; audio of a known
  // type for a name it has no signature for.
  if (type && (f === 'wav' ? type.ext === 'wav' : !SIGNATURES[f])) return type;
  return notAudioReason(data, format, redact) ?? type ?? 'not audio of a type this package knows';
}

/** An audio type the package keeps, serves and hands on: the content type and the file extension. */
export interface AudioType {
  contentType: string;
  ext: string;
}

/**
 * Every content type that audio is kept and served under, with the extensions each may have. Nothing
 * else is ever kept in the cache or served by Node-RED (an HTML page is not audio, whatever its URL).
 */
export const AUDIO_TYPES: Readonly<Record<string, readonly string[]>> = {
  'audio/wav': ['wav'],
  'audio/mpeg': ['mp3'],
  'audio/ogg': ['opus', 'ogg'],
  'audio/aac': ['aac'],
  'audio/flac': ['flac'],
  'audio/mp4': ['m4a'],
  'audio/pcm': ['pcm'],
};

/** Whether `contentType` with `ext` is one of AUDIO_TYPES. */
export function isAudioType(contentType: unknown, ext: unknown): boolean {
  return typeof contentType === 'string' && typeof ext === 'string' && Object.hasOwn(AUDIO_TYPES, contentType) &&
    AUDIO_TYPES[contentType].includes(ext);
}

/**
 * What audio `data` is, from its bytes alone (never from a server's header or a URL), or undefined
 * when it is none the package knows. A WAV must have a readable header up to its data. Raw pcm has
 * no signature: only the one who made it can say so (`declared`).
 */
export function audioTypeOf(data: Buffer, declared?: 'pcm'): AudioType | undefined {
  if (declared === 'pcm') return data.length > 0 ? { contentType: 'audio/pcm', ext: 'pcm' } : undefined;
  if (isWavHead(data)) {
    try {
      parseWav(data);
      return { contentType: 'audio/wav', ext: 'wav' };
    } catch {
      return undefined;
    }
  }
  if (isOgg(data)) {
    // The first page holds the codec's identification header.
    const first = data.subarray(0, 512).toString('latin1');
    return { contentType: 'audio/ogg', ext: first.includes('OpusHead') ? 'opus' : 'ogg' };
  }
  if (isFlac(data)) return { contentType: 'audio/flac', ext: 'flac' };
  if (isAdts(data)) return { contentType: 'audio/aac', ext: 'aac' };
  if (isMp3(data)) return { contentType: 'audio/mpeg', ext: 'mp3' };
  if (isMp4(data)) return { contentType: 'audio/mp4', ext: 'm4a' };
  return undefined;
}

function isWavHead(b: Buffer): boolean {
  return b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE';
}

/** The first bytes, shown as text when they are text (an HTML or JSON page), else as hex. */
function quoteStart(data: Buffer, redact: (text: string) => string): string {
  // Redacted before it is cut: a secret across the cut would otherwise show in part.
  const text = redact(data.subarray(0, 256).toString('latin1')).slice(0, 24);
  if (/^[\t\n\r\x20-\x7e]+$/.test(text)) return JSON.stringify(text.replace(/\s+/g, ' '));
  return `bytes ${data.subarray(0, 8).toString('hex')}`;
}
