/**
 * The audio cache of one server configuration: generated audio kept on disk so a repeated phrase
 * is answered without calling AllTalk, and so Node-RED can serve it to speakers.
 *
 * Content-addressed: an entry's id is an HMAC of everything that changes the sound (the caller
 * hands over those parts), keyed with a secret kept in the folder, so ids are stable across
 * restarts but cannot be guessed from a text (they are also the names in the speaker URLs).
 * Each entry is two files, `<id>.<ext>` (the audio) and `<id>.json` (its description), each
 * written to a temporary file and renamed into place; what is found half-written, corrupt or
 * missing at start-up or on a read is removed and counts as a miss, never as an error. Limits on
 * total size and age; the least recently used entries go first.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { describe, EXT, ID, readEntry, readOrMakeSecret, TEMP_PREFIX, writeAtomically } from './audio-cache-files';
import type { AudioCacheOptions, CacheEntry, CacheMeta, CacheStats, CacheWriter, WriteOptions } from './audio-cache-types';

import { stableJson } from './audio-cache-files';

export { stableJson };

export type { AudioCacheOptions, CacheEntry, CacheMeta, CacheStats, CacheWriter, WriteOptions } from './audio-cache-types';

/** Old entries are looked for at most this often (a put does it). */
const SWEEP_INTERVAL_MS = 60_000;

export class AudioCache {
  /** The folder and its secret are there: ids can be made and entries written (quick). */
  private readonly keyed: Promise<void>;
  /** Also every entry on disk is known (a large cache takes a moment; until then those are misses). */
  readonly ready: Promise<void>;
  /** In least-recently-used order: the first entry is the next to go. */
  private readonly entries = new Map<string, CacheEntry>();
  private total = 0;
  private secret = '';
  private closed = false;
  private lastSweep = 0;
  /** Counts clear()s: a write begun before one is not kept. */
  private epoch = 0;
  /** Every entry on disk is known. */
  private loaded = false;
  /** Temporary files being written now (the folder's first read leaves them alone). */
  private readonly writing = new Set<string>();
  /** Why the folder could not be used, when it could not. */
  failure: string | undefined;

  constructor(private readonly options: AudioCacheOptions) {
    const unusable = (err: Error) => {
      // A folder that cannot be read or made: the cache stays empty and every put is discarded.
      this.failure ??= `the cache folder ${this.options.dir} cannot be used: ${err.message}`;
      this.closed = true;
    };
    this.keyed = this.prepare().catch(unusable);
    // The first messages need not wait for a large folder to be read: what is on disk is a miss until then.
    this.ready = this.keyed.then(() => (this.closed ? undefined : this.load())).catch(unusable);
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Whether anything can be kept at all. */
  get enabled(): boolean {
    return this.options.maxBytes > 0 && !this.closed;
  }

  /** The id of the entry for these parts (the same parts give the same id, in any key order). */
  async idFor(parts: unknown): Promise<string> {
    await this.keyed;
    return createHmac('sha256', this.secret).update(stableJson(parts)).digest('hex').slice(0, 40);
  }

  stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.total, maxBytes: this.options.maxBytes };
  }

  /** The entry with this id, if it is there and young enough (it becomes the most recently used). */
  lookup(id: string): CacheEntry | undefined {
    const entry = ID.test(id) ? this.entries.get(id) : undefined;
    if (!entry) return undefined;
    if (this.expired(entry, Date.now())) {
      void this.remove(entry);
      return undefined;
    }
    entry.lastUsed = Date.now();
    this.entries.delete(id);
    this.entries.set(id, entry);
    // The file's time is the last use, for the order after a restart.
    const t = new Date(entry.lastUsed);
    fsp.utimes(this.audioPath(entry), t, t).catch(() => undefined);
    return entry;
  }

  /** The audio of an entry, or undefined (a miss) when it is not there or its file is missing or cut short. */
  async read(id: string): Promise<{ entry: CacheEntry; data: Buffer } | undefined> {
    await this.keyed;
    const entry = await this.find(id);
    if (!entry) return undefined;
    try {
      const data = await fsp.readFile(this.audioPath(entry));
      if (data.length === entry.bytes) return { entry, data };
    } catch {
      // missing: a miss
    }
    await this.remove(entry);
    return undefined;
  }

  /** Where an entry's audio is, after checking the file is whole; undefined (a miss) otherwise. */
  async file(id: string): Promise<{ entry: CacheEntry; path: string } | undefined> {
    await this.keyed;
    const entry = await this.find(id);
    if (!entry) return undefined;
    const file = this.audioPath(entry);
    try {
      if ((await fsp.stat(file)).size === entry.bytes) return { entry, path: file };
    } catch {
      // missing: a miss
    }
    await this.remove(entry);
    return undefined;
  }

  /** Keeps `data` as the entry `id` (replacing an older one); resolves whether it was kept. */
  async put(id: string, meta: CacheMeta, data: Buffer, opts: WriteOptions = {}): Promise<boolean> {
    const writer = this.writer(id, meta, opts);
    try {
      await writer.write(data);
    } catch (err) {
      await writer.discard();
      throw err;
    }
    return writer.commit();
  }

  /** Keeps a copy of the audio file `file` as the entry `id`; resolves whether it was kept. */
  async putFile(id: string, meta: CacheMeta, file: string, opts: WriteOptions = {}): Promise<boolean> {
    const writer = this.writer(id, meta, opts);
    try {
      for await (const chunk of createReadStream(file)) await writer.write(chunk as Buffer);
    } catch (err) {
      await writer.discard();
      throw err;
    }
    return writer.commit();
  }

  /** Writes the entry `id` piece by piece (a stream as it arrives). */
  writer(id: string, meta: CacheMeta, opts: WriteOptions = {}): CacheWriter {
    if (!ID.test(id) || !EXT.test(meta.ext)) throw new RangeError(`not a cache id or extension: ${id}.${meta.ext}`);
    // A clear() after this writer began: what it writes is from before the clear, and is not kept.
    const epoch = this.epoch;
    const tempName = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
    const temp = path.join(this.options.dir, tempName);
    this.writing.add(tempName);
    let handle: fsp.FileHandle | undefined;
    let opening: Promise<fsp.FileHandle> | undefined;
    let bytes = 0;
    let ended = false;
    const open = async () => {
      await this.keyed;
      opening ??= fsp.open(temp, 'w', 0o600);
      handle = await opening;
      return handle;
    };
    const discard = async () => {
      ended = true;
      if (opening) await (await opening.catch(() => undefined))?.close().catch(() => undefined);
      await fsp.rm(temp, { force: true }).catch(() => undefined);
      this.writing.delete(tempName);
    };
    return {
      write: async (chunk) => {
        if (ended) return;
        bytes += chunk.length;
        // Past the whole cache's size it can never be kept: stop writing, keep counting.
        if (bytes > this.options.maxBytes || !this.enabled) return void (await discard());
        await (await open()).write(chunk);
      },
      commit: async (finish) => {
        if (ended || bytes === 0 || epoch !== this.epoch) {
          await discard();
          return false;
        }
        ended = true;
        try {
          await (await open()).close();
          if (finish) {
            await finish(temp);
            bytes = (await fsp.stat(temp)).size;
          }
          // A whole entry of the same request stays (a speaker may be playing it), unless this one replaces it.
          const existing = this.entries.get(id);
          if (existing && !opts.replace && existing.ext === meta.ext && epoch === this.epoch) {
            await discard();
            return true;
          }
          if (epoch !== this.epoch) {
            await discard();
            return false;
          }
          const entry: CacheEntry = { ...meta, id, bytes, createdAt: Date.now(), lastUsed: Date.now() };
          await fsp.rename(temp, this.audioPath(entry));
          await writeAtomically(this.metaPath(id), JSON.stringify(describe(entry)), this.writing);
          const old = this.entries.get(id);
          if (old) {
            this.total -= old.bytes;
            this.entries.delete(id);
            if (old.ext !== entry.ext) await fsp.rm(this.audioPath(old), { force: true }).catch(() => undefined);
          }
          this.entries.set(id, entry);
          this.total += bytes;
        } catch (err) {
          await discard();
          if (this.closed) return false;
          throw err;
        } finally {
          this.writing.delete(tempName);
        }
        await this.enforceLimits();
        return this.entries.has(id);
      },
      discard,
    };
  }

  /** Removes every entry; resolves what was removed. */
  async clear(): Promise<{ entries: number; bytes: number }> {
    await this.ready;
    this.epoch++;
    const removed = { entries: this.entries.size, bytes: this.total };
    for (const entry of [...this.entries.values()]) await this.remove(entry);
    return removed;
  }

  /** Stops using the cache; `removeFiles` deletes its folder (the server configuration was deleted). */
  async close(removeFiles = false): Promise<void> {
    await this.ready;
    this.closed = true;
    if (removeFiles) await fsp.rm(this.options.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private audioPath(entry: { id: string; ext: string }): string {
    return path.join(this.options.dir, `${entry.id}.${entry.ext}`);
  }

  private metaPath(id: string): string {
    return path.join(this.options.dir, `${id}.json`);
  }

  private expired(entry: CacheEntry, now: number): boolean {
    return this.options.maxAgeMs > 0 && now - entry.createdAt > this.options.maxAgeMs;
  }

  private async remove(entry: CacheEntry): Promise<void> {
    const current = this.entries.get(entry.id);
    // A newer entry of the same id owns the files now.
    if (current && current !== entry) return;
    if (current) {
      this.entries.delete(entry.id);
      this.total -= entry.bytes;
    }
    await fsp.rm(this.metaPath(entry.id), { force: true }).catch(() => undefined);
    await fsp.rm(this.audioPath(entry), { force: true }).catch(() => undefined);
  }

  /** Old entries out (at most once a minute), then the least recently used until the size fits. */
  private async enforceLimits(): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) {
      this.lastSweep = now;
      for (const entry of [...this.entries.values()]) if (this.expired(entry, now)) await this.remove(entry);
    }
    for (const entry of this.entries.values()) {
      if (this.total <= this.options.maxBytes) break;
      await this.remove(entry);
    }
  }

  /**
   * `lookup`, and while the folder is still being read, the entry's own files on disk: a large
   * cache answers its first messages without waiting for the whole folder.
   */
  private async find(id: string): Promise<CacheEntry | undefined> {
    if (this.loaded || !ID.test(id) || this.entries.has(id)) return this.lookup(id);
    const entry = await readEntry(this.metaPath(id), id);
    if (!entry || this.entries.has(id) || this.loaded || this.expired(entry, Date.now())) return this.lookup(id);
    try {
      if ((await fsp.stat(this.audioPath(entry))).size !== entry.bytes) return undefined;
    } catch {
      return undefined;
    }
    if (this.entries.has(id) || this.loaded) return this.lookup(id);
    this.entries.set(id, entry);
    this.total += entry.bytes;
    return this.lookup(id);
  }

  /** The folder and its secret. */
  private async prepare(): Promise<void> {
    await fsp.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    this.secret = await readOrMakeSecret(path.join(this.options.dir, 'secret'));
  }

  /**
   * Reads the folder: every whole entry, in least-recently-used order; leftovers go. Entries kept
   * meanwhile (this run's) are newer: they stay, and stay the most recently used.
   */
  private async load(): Promise<void> {
    const dir = this.options.dir;
    const names = await fsp.readdir(dir);
    const present = new Set(names);
    const found: CacheEntry[] = [];
    const keep = new Set(['secret']);
    const now = Date.now();
    for (const name of names) {
      const m = /^([0-9a-f]{40})\.json$/.exec(name);
      if (!m || this.entries.has(m[1])) continue;
      const entry = await readEntry(path.join(dir, name), m[1]);
      if (!entry || !present.has(`${entry.id}.${entry.ext}`)) continue;
      try {
        const stat = await fsp.stat(this.audioPath(entry));
        if (stat.size !== entry.bytes) continue;
        entry.lastUsed = stat.mtimeMs;
      } catch {
        continue;
      }
      if (this.expired(entry, now)) continue;
      found.push(entry);
      keep.add(name).add(`${entry.id}.${entry.ext}`);
    }
    // Half-written files, entries without their other half, old or corrupt ones; not this run's.
    const ours = (name: string) => this.writing.has(name) || this.entries.has(name.slice(0, 40));
    for (const name of names) {
      if (!keep.has(name) && !ours(name)) await fsp.rm(path.join(dir, name), { force: true, recursive: true }).catch(() => undefined);
    }
    found.sort((a, b) => a.lastUsed - b.lastUsed);
    const thisRun = [...this.entries.values()];
    this.entries.clear();
    for (const entry of found) this.entries.set(entry.id, entry);
    // This run's entries (kept or found meanwhile) are the most recently used.
    for (const entry of thisRun) {
      this.entries.delete(entry.id);
      this.entries.set(entry.id, entry);
    }
    this.total = 0;
    for (const entry of this.entries.values()) this.total += entry.bytes;
    this.lastSweep = now;
    this.loaded = true;
    for (const entry of this.entries.values()) {
      if (this.total <= this.options.maxBytes) break;
      await this.remove(entry);
    }
  }

}
