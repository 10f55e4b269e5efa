/**
 * The audio cache of one server configuration: generated audio kept on disk so a repeated phrase
 * is answered without calling AllTalk, and so Node-RED can serve it to speakers.
 *
 * Content-addressed: an entry's id is an HMAC of everything that changes the sound (the caller
 * hands over those parts), keyed with a secret kept in the folder, so ids are stable across
 * restarts but cannot be guessed from a text (they are also the names in the speaker URLs).
 * Each entry is two files, `<id>.<ext>` (the audio) and `<id>.json` (its description, with the
 * audio's type and checksum), each written to a temporary file and renamed into place.
 *
 * Only audio is kept: the type is taken from the bytes, and bytes of no audio type the package
 * knows are refused. It heals itself: what is found half-written, corrupt (the checksum differs,
 * even at the same size) or missing is removed and counts as a miss, never as an error; a folder
 * deleted or replaced while it runs is made again at the next write; entries written by another
 * process (or configuration) sharing the folder are found on a miss. It touches no file in its
 * folder but its own. Limits on total size and age; the least recently used entries go first.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { audioTypeOf } from '../api/audio-format';
import {
  describe, hashFile, hashOf, ID, OWN_NAME, readEntry, readHead, readOrMakeSecret, stableJson, TEMP_PREFIX, writeAtomically,
} from './audio-cache-files';
import { scanFolder } from './audio-cache-scan';
import type { AudioCacheOptions, CacheEntry, CacheMeta, CacheStats, CacheWriter, WriteOptions } from './audio-cache-types';

export { stableJson };
export type { AudioCacheOptions, CacheEntry, CacheMeta, CacheStats, CacheWriter, WriteOptions } from './audio-cache-types';

/** Old entries are looked for at most this often (a put does it). */
const SWEEP_INTERVAL_MS = 60_000;
/** A file's time records its last use (the order after a restart), updated at most this often. */
const TOUCH_INTERVAL_MS = 3_600_000;
/** Enough of a file to tell what audio it is (a WAV's chunks up to its data). */
const HEAD_BYTES = 64 * 1024;

export class AudioCache {
  /** The folder and its secret are there: ids can be made and entries written (quick). */
  private readonly keyed: Promise<void>;
  /** Also every entry on disk is known (a large cache takes a moment; until then those are read one by one). */
  readonly ready: Promise<void>;
  /** In least-recently-used order: the first entry is the next to go. */
  private readonly entries = new Map<string, CacheEntry>();
  /** The file stamp (inode, size, times) at which each entry's checksum last matched. */
  private readonly verified = new Map<string, string>();
  private total = 0;
  /** The entry files read from disk on a miss, one after the other. */
  private diskReads: Promise<unknown> = Promise.resolve();
  private secret = '';
  private closed = false;
  private lastSweep = 0;
  /** Counts clear()s: a write begun before one is not kept. */
  private epoch = 0;
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
    // The first messages need not wait for a large folder to be read: what is on disk is read entry by entry until then.
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

  /** The entry with this id, if it is known and young enough (it becomes the most recently used). */
  lookup(id: string): CacheEntry | undefined {
    const entry = ID.test(id) ? this.entries.get(id) : undefined;
    if (!entry) return undefined;
    const now = Date.now();
    if (this.expired(entry, now)) {
      void this.remove(entry);
      return undefined;
    }
    const touched = entry.lastUsed;
    entry.lastUsed = now;
    this.entries.delete(id);
    this.entries.set(id, entry);
    if (now - touched >= TOUCH_INTERVAL_MS) {
      const t = new Date(now);
      fsp.utimes(this.audioPath(entry), t, t).catch(() => undefined);
    }
    return entry;
  }

  /**
   * The audio of an entry, or undefined (a miss) when it is not there or its bytes are not the ones
   * kept. `known`: only entries this cache knows (no look on disk for one written by another process).
   */
  async read(id: string, known = false): Promise<{ entry: CacheEntry; data: Buffer } | undefined> {
    await this.keyed;
    const entry = known ? this.lookup(id) : await this.find(id);
    if (!entry) return undefined;
    try {
      const data = await fsp.readFile(this.audioPath(entry));
      if (data.length === entry.bytes && hashOf(data) === entry.sha256) return { entry, data };
    } catch {
      // missing: a miss
    }
    await this.remove(entry);
    return undefined;
  }

  /** Where an entry's audio is, after checking the file holds the bytes kept; undefined (a miss) otherwise. */
  async file(id: string, known = false): Promise<{ entry: CacheEntry; path: string } | undefined> {
    await this.keyed;
    const entry = known ? this.lookup(id) : await this.find(id);
    if (!entry) return undefined;
    const file = this.audioPath(entry);
    try {
      const st = await fsp.stat(file);
      if (st.size === entry.bytes && (this.verified.get(id) === stamp(st) || (await this.verify(entry, file, st)))) {
        return { entry, path: file };
      }
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
    if (!ID.test(id)) throw new RangeError(`not a cache id: ${id}`);
    // A clear() after this writer began: what it writes is from before the clear, and is not kept.
    const epoch = this.epoch;
    const tempName = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
    const temp = path.join(this.options.dir, tempName);
    this.writing.add(tempName);
    const hash = createHash('sha256');
    let opening: Promise<fsp.FileHandle> | undefined;
    let bytes = 0;
    let ended = false;
    const open = async () => {
      await this.keyed;
      opening ??= this.openTemp(temp);
      return opening;
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
        hash.update(chunk);
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
          // A finished file (its WAV header fixed, say) is hashed as it is now.
          const sha256 = finish ? (await finish(temp), await hashFile(temp)) : hash.digest('hex');
          return await this.install(id, meta, opts, { temp, epoch, sha256 });
        } catch (err) {
          await discard();
          if (this.closed) return false;
          throw err;
        } finally {
          this.writing.delete(tempName);
        }
      },
      discard,
    };
  }

  /** Removes every entry, also those another process wrote into the folder; resolves what was removed. */
  async clear(): Promise<{ entries: number; bytes: number }> {
    await this.ready;
    this.epoch++;
    const removed = { entries: this.entries.size, bytes: this.total };
    for (const entry of [...this.entries.values()]) await this.remove(entry);
    const names = await fsp.readdir(this.options.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (/^[0-9a-f]{40}\./.test(name) && (OWN_NAME.test(name) || name.endsWith('.json'))) {
        await fsp.rm(path.join(this.options.dir, name), { force: true }).catch(() => undefined);
      }
    }
    return removed;
  }

  /** Stops using the cache; `removeFiles` deletes its folder (the server configuration was deleted). */
  async close(removeFiles = false): Promise<void> {
    await this.ready;
    this.closed = true;
    if (removeFiles) await fsp.rm(this.options.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Puts a written temporary file in place as entry `id`, once its bytes are known to be audio. */
  private async install(id: string, meta: CacheMeta, opts: WriteOptions, w: { temp: string; epoch: number; sha256: string }): Promise<boolean> {
    const bytes = (await fsp.stat(w.temp)).size;
    const type = audioTypeOf(await readHead(w.temp, Math.min(bytes, HEAD_BYTES)), meta.pcm ? 'pcm' : undefined);
    if (!type) throw new Error('it is not audio of a type Node-RED keeps and serves (wav, mp3, ogg/opus, aac, flac, m4a, pcm)');
    // A whole entry of the same request stays (a speaker may be playing it), unless this one replaces it.
    const existing = this.entries.get(id);
    if (existing && !opts.replace && existing.ext === type.ext && w.epoch === this.epoch && (await this.present(existing))) {
      await fsp.rm(w.temp, { force: true });
      return true;
    }
    if (w.epoch !== this.epoch) {
      await fsp.rm(w.temp, { force: true });
      return false;
    }
    const now = Date.now();
    const entry: CacheEntry = { ...type, id, extra: meta.extra, bytes, sha256: w.sha256, createdAt: now, lastUsed: now };
    await fsp.rename(w.temp, this.audioPath(entry));
    await writeAtomically(this.metaPath(id), JSON.stringify(describe(entry)), this.writing);
    const old = this.entries.get(id);
    if (old) {
      this.total -= old.bytes;
      this.entries.delete(id);
      if (old.ext !== entry.ext) await fsp.rm(this.audioPath(old), { force: true }).catch(() => undefined);
    }
    this.verified.delete(id);
    this.entries.set(id, entry);
    this.total += bytes;
    await this.enforceLimits();
    return this.entries.has(id);
  }

  /** Opens a temporary file; a folder deleted or replaced meanwhile is made again first. */
  private async openTemp(temp: string): Promise<fsp.FileHandle> {
    try {
      return await fsp.open(temp, 'wx', 0o600);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      await this.makeFolder();
      return fsp.open(temp, 'wx', 0o600);
    }
  }

  /** Whether an entry's audio file is still there, whole. */
  private async present(entry: CacheEntry): Promise<boolean> {
    const st = await fsp.stat(this.audioPath(entry)).catch(() => undefined);
    return st?.size === entry.bytes;
  }

  /** Whether a file's bytes are the entry's (its checksum); remembered for the file as it is now. */
  private async verify(entry: CacheEntry, file: string, st: Stats): Promise<boolean> {
    if ((await hashFile(file)) !== entry.sha256) return false;
    this.verified.set(entry.id, stamp(st));
    return true;
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
    this.verified.delete(entry.id);
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
   * `lookup`, and on a miss the entry's own files on disk: an entry kept before the folder was read
   * whole, or by another process or configuration sharing the folder, is found without regenerating.
   */
  private async find(id: string): Promise<CacheEntry | undefined> {
    if (!ID.test(id) || this.entries.has(id)) return this.lookup(id);
    // One at a time, in order: misses end in the order they were asked (messages keep their order).
    const reading = this.diskReads.then(() => readEntry(this.metaPath(id), id));
    this.diskReads = reading.catch(() => undefined);
    const entry = await reading;
    if (!entry || this.entries.has(id) || this.expired(entry, Date.now())) return this.lookup(id);
    try {
      if ((await fsp.stat(this.audioPath(entry))).size !== entry.bytes) return undefined;
    } catch {
      return undefined;
    }
    if (this.entries.has(id)) return this.lookup(id);
    this.entries.set(id, entry);
    this.total += entry.bytes;
    return this.lookup(id);
  }

  /** The folder and its secret. */
  private async prepare(): Promise<void> {
    await fsp.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    this.secret = await readOrMakeSecret(path.join(this.options.dir, 'secret'));
  }

  /** The folder again (deleted or replaced while running), with this cache's secret, so its ids stay valid. */
  private async makeFolder(): Promise<void> {
    await fsp.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.options.dir, 'secret');
    const there = await fsp.readFile(file, 'utf8').catch(() => '');
    if (!there.trim()) await writeAtomically(file, this.secret).catch(() => undefined);
  }

  /**
   * Reads the folder: every whole entry, in least-recently-used order (leftovers of its own go).
   * Entries kept meanwhile (this run's) are newer: they stay, and stay the most recently used.
   */
  private async load(): Promise<void> {
    const now = Date.now();
    const found = await scanFolder(this.options.dir, {
      now,
      known: (id) => this.entries.has(id),
      writing: this.writing,
      expired: (entry) => this.expired(entry, now),
    });
    const thisRun = [...this.entries.values()];
    this.entries.clear();
    for (const entry of found) this.entries.set(entry.id, entry);
    for (const entry of thisRun) {
      this.entries.delete(entry.id);
      this.entries.set(entry.id, entry);
    }
    this.total = 0;
    for (const entry of this.entries.values()) this.total += entry.bytes;
    this.lastSweep = now;
    for (const entry of this.entries.values()) {
      if (this.total <= this.options.maxBytes) break;
      await this.remove(entry);
    }
  }
}

/** What identifies a file's bytes as last seen: a change of content changes its times. */
function stamp(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
