/** The shapes of the audio cache (src/runtime/audio-cache.ts). */

export interface AudioCacheOptions {
  /** The folder of this cache (created when needed). */
  dir: string;
  /** The most the audio files may take together, in bytes (0 = nothing is kept). */
  maxBytes: number;
  /** Entries older than this are removed, in ms (0 = no age limit). */
  maxAgeMs: number;
}

/** What the caller says of audio it keeps: its type is taken from the bytes, never from the caller. */
export interface CacheMeta {
  /** Whatever the node needs to rebuild its output on a hit (JSON). */
  extra?: Record<string, unknown>;
  /** Raw pcm made by the package itself (it has no signature to tell it by). */
  pcm?: boolean;
}

export interface CacheEntry {
  id: string;
  /** One of the audio types of AUDIO_TYPES (src/api/audio-format.ts), from what the bytes are. */
  contentType: string;
  /** The audio file's extension (wav, mp3…), of that type. */
  ext: string;
  extra?: Record<string, unknown>;
  bytes: number;
  /** SHA-256 of the audio file: a file whose bytes changed is a miss. */
  sha256: string;
  createdAt: number;
  lastUsed: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

export interface WriteOptions {
  /** Replace a whole entry of the same id (a generation that skipped the cache); else the one there stays. */
  replace?: boolean;
}

/** Audio being written into the cache: `write` pieces, then `commit` (or `discard`). */
export interface CacheWriter {
  write(chunk: Buffer): Promise<void>;
  /**
   * Puts the entry in place (after `finish`, given the written file, e.g. to fix a WAV header);
   * resolves false when it was not kept (nothing written, too large for the cache, or the cache
   * closed); rejects when it cannot be kept (not audio of a known type, a disk error).
   */
  commit(finish?: (file: string) => Promise<void>): Promise<boolean>;
  discard(): Promise<void>;
}
