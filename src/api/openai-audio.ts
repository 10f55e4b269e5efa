/**
 * Audio for the OpenAI-compatible route that AllTalk itself cannot give:
 * - `pcm` (OpenAI's raw 16-bit signed little-endian mono samples at 24 kHz), made from the WAV
 *   the server sends, whatever its rate and sample format;
 * - the parts of a split text joined into one file: WAV and PCM by their samples, MP3 by its
 *   frames (the first part's ID3 tag kept, the rest of the parts' tags and every Xing/Info frame
 *   dropped, since those describe one part's length only).
 */
import { convertWavData, joinWavs, WavFormatError } from './wav';

/** OpenAI's pcm: 24 kHz, mono, 16-bit little-endian, no header. */
export const PCM_FORMAT = { sampleRate: 24000, channels: 1, encoding: 's16' } as const;

/** The formats alltalk-openai offers (AllTalk's own, less ogg and m4a, plus pcm made here). */
export const OPENAI_NODE_FORMATS = ['wav', 'mp3', 'opus', 'aac', 'flac', 'pcm'] as const;
export type OpenAiNodeFormat = (typeof OPENAI_NODE_FORMATS)[number];

/** The formats whose parts can be joined into one file. */
export const JOINABLE_FORMATS: readonly OpenAiNodeFormat[] = ['wav', 'pcm', 'mp3'];

/** The standard MIME type of each format (the server says audio/mp3; browsers and players want audio/mpeg). */
export const OPENAI_CONTENT_TYPES: Record<OpenAiNodeFormat, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  pcm: 'audio/pcm',
};

/** OpenAI's pcm from any WAV the server sends: resampled to 24 kHz, mixed to mono, 16-bit. */
export function wavToPcm(wav: Buffer): Buffer {
  return convertWavData(wav, PCM_FORMAT);
}

/** Joins the parts of a split text, all in `format` (one of JOINABLE_FORMATS). */
export function joinOpenAiParts(format: OpenAiNodeFormat, parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0];
  switch (format) {
    case 'wav':
      return joinWavs(parts);
    case 'pcm':
      return Buffer.concat(parts);
    case 'mp3':
      return joinMp3(parts);
    default:
      throw new WavFormatError(`${format} parts cannot be joined`);
  }
}

/** The length of an ID3v2 tag at the start, 0 when there is none. */
function id3v2Length(b: Buffer): number {
  if (b.length < 10 || b.toString('latin1', 0, 3) !== 'ID3') return 0;
  const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
  const footer = b[5] & 0x10 ? 10 : 0;
  return Math.min(b.length, 10 + size + footer);
}

/** The length of an ID3v1 tag at the end, 0 when there is none. */
function id3v1Length(b: Buffer): number {
  return b.length >= 128 && b.toString('latin1', b.length - 128, b.length - 125) === 'TAG' ? 128 : 0;
}

const BITRATES: Record<string, number[]> = {
  // kbit/s by bitrate index, for MPEG-1 Layer III and MPEG-2/2.5 Layer III.
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
};
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

/** The frame at `o`: its length, and whether it is a Xing/Info (or VBRI) frame. Undefined if none. */
function mp3Frame(b: Buffer, o: number): { length: number; info: boolean } | undefined {
  if (o + 4 > b.length || b[o] !== 0xff || (b[o + 1] & 0xe0) !== 0xe0) return undefined;
  const version = (b[o + 1] >> 3) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
  const layer = (b[o + 1] >> 1) & 3; // 1 = Layer III
  if (version === 1 || layer !== 1) return undefined;
  const kbps = (version === 3 ? BITRATES.v1 : BITRATES.v2)[b[o + 2] >> 4];
  const rate = RATES[version][(b[o + 2] >> 2) & 3];
  if (!kbps || !rate) return undefined;
  const padding = (b[o + 2] >> 1) & 1;
  const length = Math.floor(((version === 3 ? 144 : 72) * kbps * 1000) / rate) + padding;
  const mono = (b[o + 3] >> 6) === 3;
  const side = version === 3 ? (mono ? 17 : 32) : mono ? 9 : 17;
  const tag = b.toString('latin1', o + 4 + side, o + 8 + side);
  const info = tag === 'Xing' || tag === 'Info' || b.toString('latin1', o + 36, o + 40) === 'VBRI';
  return { length, info };
}

/** The audio frames of one MP3 part, without its Xing/Info frame and its tags. */
function mp3Frames(b: Buffer, keepId3v2: boolean): Buffer[] {
  const start = id3v2Length(b);
  const end = b.length - id3v1Length(b);
  const out: Buffer[] = keepId3v2 && start ? [b.subarray(0, start)] : [];
  const first = mp3Frame(b, start);
  if (!first) throw new WavFormatError('an mp3 part does not start with an MPEG audio frame');
  // Only the first frame can be a Xing/Info frame; the rest is passed on as it is.
  out.push(b.subarray(first.info ? start + first.length : start, end));
  return out;
}

/** MP3 parts as one file: frames concatenated, the first part's ID3v2 tag kept. */
export function joinMp3(parts: Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((p, i) => mp3Frames(p, i === 0)));
}
