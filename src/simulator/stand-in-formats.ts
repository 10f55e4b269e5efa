/**
 * Stand-in bodies for the compressed formats of /v1/audio/speech.
 *
 * The real server transcodes with ffmpeg (mp3 192k/44.1 kHz stereo, opus in Ogg at 48 kHz, AAC as
 * raw ADTS for both `aac` and `m4a`, FLAC at 44.1 kHz, Vorbis in Ogg). The simulator has no
 * encoder, so it answers with a small body that has each container's real signature and header
 * fields, sized roughly like the audio would be, but carries no decodable speech:
 * - mp3: an empty ID3v2.4 tag, then silent MPEG-1 Layer III frames (frame sync 0xFFFB);
 * - opus / ogg: Ogg pages (`OggS`, valid CRCs) with the OpusHead/OpusTags or Vorbis
 *   identification/comment headers only;
 * - flac: `fLaC` and a STREAMINFO block giving the sample count, with no frames;
 * - aac / m4a: ADTS frames (sync 0xFFF1, AAC LC, 44.1 kHz, stereo) with zeroed payloads.
 */

export type OpenAiFormat = 'wav' | 'mp3' | 'opus' | 'aac' | 'flac' | 'ogg' | 'm4a';

export const OPENAI_FORMATS: readonly OpenAiFormat[] = ['m4a', 'ogg', 'aac', 'mp3', 'opus', 'flac', 'wav'];

export function isOpenAiFormat(value: string): value is OpenAiFormat {
  return (OPENAI_FORMATS as readonly string[]).includes(value);
}

/** The extension ffmpeg's output gets on disk (the codec name: ogg becomes .vorbis, m4a .aac). */
export function diskExtension(format: OpenAiFormat): string {
  switch (format) {
    case 'ogg':
      return 'vorbis';
    case 'm4a':
      return 'aac';
    default:
      return format;
  }
}

export function standInAudio(format: Exclude<OpenAiFormat, 'wav'>, seconds: number): Buffer {
  switch (format) {
    case 'mp3':
      return mp3StandIn(seconds);
    case 'opus':
      return oggStandIn('opus');
    case 'ogg':
      return oggStandIn('vorbis');
    case 'flac':
      return flacStandIn(seconds);
    case 'aac':
    case 'm4a':
      return adtsStandIn(seconds);
  }
}

function mp3StandIn(seconds: number): Buffer {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  // MPEG-1 Layer III, no CRC, 128 kbit/s, 44.1 kHz, joint stereo: 417-byte frames of 1152 samples.
  const frameLength = Math.floor((144 * 128000) / 44100);
  const frames = Math.max(1, Math.ceil((seconds * 44100) / 1152));
  const body = Buffer.alloc(frames * frameLength);
  for (let f = 0; f < frames; f++) {
    const o = f * frameLength;
    body[o] = 0xff;
    body[o + 1] = 0xfb;
    body[o + 2] = 0x90;
    body[o + 3] = 0x64;
  }
  return Buffer.concat([id3, body]);
}

let oggCrcTable: Uint32Array | undefined;

function oggCrc(data: Buffer): number {
  if (!oggCrcTable) {
    oggCrcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let r = i << 24;
      for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
      oggCrcTable[i] = r >>> 0;
    }
  }
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) ^ oggCrcTable[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  return crc >>> 0;
}

function oggPage(packet: Buffer, headerType: number, sequence: number, serial: number): Buffer {
  const segments: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    segments.push(255);
    left -= 255;
  }
  segments.push(left);
  const header = Buffer.alloc(27 + segments.length);
  header.write('OggS', 0, 'ascii');
  header[4] = 0;
  header[5] = headerType;
  header.writeBigUInt64LE(0n, 6);
  header.writeUInt32LE(serial, 14);
  header.writeUInt32LE(sequence, 18);
  header.writeUInt32LE(0, 22);
  header[26] = segments.length;
  segments.forEach((s, i) => (header[27 + i] = s));
  const page = Buffer.concat([header, packet]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

function oggStandIn(codec: 'opus' | 'vorbis'): Buffer {
  const serial = 0x416c6c54;
  const vendor = Buffer.from('alltalk-simulator', 'utf8');
  let ident: Buffer;
  let comment: Buffer;
  if (codec === 'opus') {
    ident = Buffer.alloc(19);
    ident.write('OpusHead', 0, 'ascii');
    ident[8] = 1;
    ident[9] = 2;
    ident.writeUInt16LE(312, 10);
    ident.writeUInt32LE(48000, 12);
    ident.writeInt16LE(0, 16);
    ident[18] = 0;
    comment = Buffer.alloc(8 + 4 + vendor.length + 4);
    comment.write('OpusTags', 0, 'ascii');
    comment.writeUInt32LE(vendor.length, 8);
    vendor.copy(comment, 12);
    comment.writeUInt32LE(0, 12 + vendor.length);
  } else {
    ident = Buffer.alloc(30);
    ident[0] = 1;
    ident.write('vorbis', 1, 'ascii');
    ident.writeUInt32LE(0, 7);
    ident[11] = 2;
    ident.writeUInt32LE(44100, 12);
    ident.writeInt32LE(0, 16);
    ident.writeInt32LE(192000, 20);
    ident.writeInt32LE(0, 24);
    ident[28] = 0xb8;
    ident[29] = 1;
    comment = Buffer.alloc(7 + 4 + vendor.length + 4 + 1);
    comment[0] = 3;
    comment.write('vorbis', 1, 'ascii');
    comment.writeUInt32LE(vendor.length, 7);
    vendor.copy(comment, 11);
    comment.writeUInt32LE(0, 11 + vendor.length);
    comment[comment.length - 1] = 1;
  }
  return Buffer.concat([oggPage(ident, 0x02, 0, serial), oggPage(comment, 0x04, 1, serial)]);
}

function flacStandIn(seconds: number): Buffer {
  const sampleRate = 44100;
  const channels = 2;
  const bitsPerSample = 16;
  const totalSamples = BigInt(Math.round(seconds * sampleRate));
  const block = Buffer.alloc(4 + 34);
  block[0] = 0x80; // last metadata block, type 0 = STREAMINFO
  block.writeUIntBE(34, 1, 3);
  block.writeUInt16BE(4096, 4);
  block.writeUInt16BE(4096, 6);
  block.writeUIntBE(0, 8, 3);
  block.writeUIntBE(0, 11, 3);
  const packed =
    (BigInt(sampleRate) << 44n) |
    (BigInt(channels - 1) << 41n) |
    (BigInt(bitsPerSample - 1) << 36n) |
    (totalSamples & 0xfffffffffn);
  block.writeBigUInt64BE(packed, 14);
  // 16 bytes of MD5 left as zero ("not computed").
  return Buffer.concat([Buffer.from('fLaC', 'ascii'), block]);
}

function adtsStandIn(seconds: number): Buffer {
  const payload = 6;
  const frameLength = 7 + payload;
  const frames = Math.max(1, Math.ceil((seconds * 44100) / 1024));
  const out = Buffer.alloc(frames * frameLength);
  for (let f = 0; f < frames; f++) {
    const o = f * frameLength;
    out[o] = 0xff;
    out[o + 1] = 0xf1; // MPEG-4, layer 0, no CRC
    out[o + 2] = (1 << 6) | (4 << 2); // AAC LC, 44.1 kHz, channel config high bit 0
    out[o + 3] = (2 << 6) | ((frameLength >> 11) & 0x03); // 2 channels
    out[o + 4] = (frameLength >> 3) & 0xff;
    out[o + 5] = ((frameLength & 0x07) << 5) | 0x1f; // buffer fullness 0x7FF (VBR)
    out[o + 6] = 0xfc;
  }
  return out;
}
