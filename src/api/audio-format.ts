/**
 * The audio format of a server file, from its extension: the server's own Content-Type depends
 * on its platform (/audio) or is always audio/wav (/audiocache), so the extension is the truth.
 */
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
