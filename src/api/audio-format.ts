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

const isMp3 = (b: Buffer) => b.toString('latin1', 0, 3) === 'ID3' || (b.length >= 2 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0);
const isAdts = (b: Buffer) => b.length >= 2 && b[0] === 0xff && (b[1] & 0xf6) === 0xf0;
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
  const any = [isWavHead, isMp3, isOgg, isFlac, isAdts, isMp4].some((test) => test(data));
  return any ? undefined : `not audio in a known format (it starts with ${startOf(data)})`;
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
