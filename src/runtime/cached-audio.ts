/**
 * How the generating nodes use their server's audio cache: whether a message may be answered
 * from it, the key of what it asks for, and keeping what was generated. A hit answers without
 * calling AllTalk; keeping audio never fails a message (a warning says why it was not kept),
 * except when Node-RED must serve the audio by URL and cannot.
 */
import { AllTalkError, describeValue } from '../api/errors';
import type { CacheEntry, CacheMeta } from './audio-cache';
import type { AudioService } from './audio-service';
import type { ServerConnection } from './server-connection';

/** What one message does with the cache. */
export interface CachePlan {
  audio: AudioService;
  /** The entry's id: the key of everything that changes the sound. */
  id: string;
  /** Answer from the cache when the entry is there. */
  lookup: boolean;
  /** Node-RED serves the audio by URL: what is generated must be kept. */
  serve: boolean;
  /** What the key was made of: the engine and model may change before the audio is made. */
  parts: KeyParts;
  connection: ServerConnection;
}

interface KeyParts {
  v: 1;
  node: string;
  origin: string;
  engine: string | null;
  model: string | null;
  sound: unknown;
}

/** The key parts with the engine and model the server has loaded now. */
function partsNow(connection: ServerConnection, parts: Omit<KeyParts, 'engine' | 'model'>): KeyParts {
  const settings = connection.cache.settings;
  return { ...parts, engine: settings?.current_engine_loaded ?? null, model: settings?.current_model_loaded ?? null };
}

/**
 * The id the audio just made belongs under: the plan's, unless the server that made it (`maker`: a
 * fallback, for a rerouted message) has another engine or model loaded (also after a model change
 * that waited in the queue ran first); undefined when that model is not known (nothing is kept then
 * that a later lookup could take for another model's). `sound`: what was sent, when it is not what
 * the plan was made of (a fallback spoke it with a stand-in voice, without what its engine lacks).
 */
export async function idNow(plan: CachePlan, maker: ServerConnection = plan.connection, sound?: unknown): Promise<string | undefined> {
  const now = partsNow(maker, sound === undefined ? plan.parts : { ...plan.parts, sound });
  if (now.engine === null && now.model === null && !plan.serve) return undefined;
  if (sound === undefined && now.engine === plan.parts.engine && now.model === plan.parts.model) return plan.id;
  return plan.audio.cache.idFor(now);
}

export interface CacheRequest {
  audio: AudioService | undefined;
  connection: ServerConnection;
  /** The node type: each keeps its own entries (their outputs differ). */
  node: string;
  /** Every effective request field that changes the sound (not file names, not autoplay). */
  sound: unknown;
  /** The node's "use the cache" option. */
  enabled: boolean;
  /** msg.alltalk (read safely), for msg.alltalk.cache. */
  alltalk: unknown;
  /** The output is a URL that Node-RED must serve. */
  serve: boolean;
  /** Something in the request makes a cached answer wrong (autoplay on the AllTalk machine). */
  bypass?: boolean;
}

/** msg.alltalk.cache: false skips the cache for this message, true uses it even where the node does not. */
export function cacheOverride(alltalk: unknown): boolean | undefined {
  if (!alltalk || typeof alltalk !== 'object') return undefined;
  const value = (alltalk as Record<string, unknown>).cache;
  if (value === undefined || value === null) return undefined;
  if (value === true || value === false) return value;
  // As msg.alltalk.interrupt: the strings "true" and "false" too (from a form or a query string).
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === '') return undefined;
  throw new AllTalkError('validation', `msg.alltalk.cache must be true or false, not ${describeValue(value)}. Nothing was sent to AllTalk.`,
    { field: 'cache', value, allowed: 'true or false' });
}

/**
 * Whether a message looks in the cache (true), only keeps its audio there (false: Node-RED serves
 * it), or neither (undefined: planCache resolves no plan, and a caller that knows need not await it).
 * Throws for a msg.alltalk.cache that is neither true nor false.
 */
export function cacheUse(req: Omit<CacheRequest, 'sound'>): boolean | undefined {
  const override = cacheOverride(req.alltalk);
  const audio = req.audio;
  if (!audio) return undefined;
  // Before the server's model is known, nothing is looked up: an entry is only ever for one model.
  const known = req.connection.cache.settings !== undefined;
  const lookup = (override ?? req.enabled) && !req.bypass && audio.cache.enabled && known;
  return lookup || req.serve ? lookup : undefined;
}

/** The message's cache plan, or undefined when it neither looks in the cache nor keeps anything. */
export async function planCache(req: CacheRequest): Promise<CachePlan | undefined> {
  const lookup = cacheUse(req);
  const audio = req.audio;
  if (lookup === undefined || !audio) return undefined;
  const parts = partsNow(req.connection, { v: 1, node: req.node, origin: req.connection.origin, sound: req.sound });
  const id = await audio.cache.idFor(parts);
  // Served by URL needs the folder: refused before anything is sent when it cannot be used.
  if (req.serve && audio.cache.failure) {
    throw new AllTalkError('validation', `Node-RED cannot serve audio by URL: ${audio.cache.failure}. Nothing was sent to AllTalk.`,
      { field: 'output', value: 'url', allowed: 'a usable audio cache folder' });
  }
  return { audio, id, lookup, serve: req.serve, parts, connection: req.connection };
}

/**
 * Keeps generated audio (a Buffer, or a file written already) as the plan's entry. Resolves the
 * entry, or undefined when it was not kept; `warn` is told why, unless it was simply too large.
 * When Node-RED must serve it, not keeping it is an error. Its type is taken from the bytes: what
 * is not audio of a known type is never kept (nor served).
 */
export async function keepAudio(
  plan: CachePlan,
  meta: CacheMeta,
  audio: Buffer | { file: string },
  warn: (text: string) => void,
  made?: { by: ServerConnection; sound?: unknown },
): Promise<CacheEntry | undefined> {
  let kept = false;
  let problem: string | undefined;
  const id = await idNow(plan, made?.by, made?.sound);
  if (id === undefined) return undefined;
  // A generation that skipped the cache replaces the entry; concurrent misses keep the first.
  const opts = { replace: !plan.lookup };
  try {
    kept = Buffer.isBuffer(audio) ? await plan.audio.cache.put(id, meta, audio, opts) : await plan.audio.cache.putFile(id, meta, audio.file, opts);
  } catch (err) {
    problem = (err as Error).message;
    warn(`The audio could not be kept in the cache: ${problem}`);
  }
  const entry = kept ? plan.audio.cache.lookup(id) : undefined;
  problem ??= plan.audio.cache.failure;
  if (!entry && plan.serve) {
    throw new AllTalkError('too-large', `The audio was generated, but Node-RED could not keep it to serve it by URL: ${problem ??
      'it is larger than the audio cache (raise the cache size in the server configuration)'}.`);
  }
  return entry;
}

/** A generation in progress that identical messages wait for, in their order of arrival. */
interface Flight {
  waiters: ((outcome: 'look' | 'lead') => void)[];
}

/** Generations in progress, per cache and entry id. */
const flights = new WeakMap<object, Map<string, Flight>>();

const NOTHING = () => undefined;

/** What answerOrLead resolves for a message that does not use the cache (no need to await it). */
export const NO_CACHE: { hit?: undefined; release: () => void } = Object.freeze({ release: NOTHING });

/**
 * Single flight: identical requests that meet share one generation. Looks in the cache (`answer`);
 * on a miss while an identical message is generating the same entry, waits for that one to end:
 * when it kept the audio, every waiter looks again; when it failed, the first waiter generates
 * instead, the others wait for it (so they are answered in their order of arrival). Resolves the
 * hit, or `release` for a message that generates the audio itself: it must call `release()` when
 * it is done, always (after keeping the audio, or failing). `answer(known)` looks among the entries
 * the cache knows only when `known` is true. A message that interrupts (`urgent`) looks there once
 * and never waits: its interrupt must not wait on the disk.
 */
export async function answerOrLead<T>(
  plan: CachePlan | undefined,
  answer: (known: boolean) => Promise<T | undefined>,
  urgent = false,
): Promise<{ hit?: T; release: () => void }> {
  if (!plan?.lookup) return { release: NOTHING };
  const wait = !urgent;
  for (;;) {
    const hit = await answer(urgent);
    if (hit) return { hit, release: NOTHING };
    // Checked and taken in one turn of the event loop: two misses never both lead.
    const byId = flights.get(plan.audio.cache) ?? new Map<string, Flight>();
    flights.set(plan.audio.cache, byId);
    const flight = byId.get(plan.id);
    if (!flight || !wait) return { release: lead(plan, byId, { waiters: [] }) };
    const outcome = await new Promise<'look' | 'lead'>((resolve) => flight.waiters.push(resolve));
    if (outcome === 'lead') return { release: lead(plan, byId, flight) };
  }
}

/** Makes this message the one generating `flight`; its release tells the waiters how it went. */
function lead(plan: CachePlan, byId: Map<string, Flight>, flight: Flight): () => void {
  byId.set(plan.id, flight);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const mine = byId.get(plan.id) === flight;
    // Kept: everyone looks in the cache. Failed: the first in line generates, the rest wait for it.
    if (flight.waiters.length && !plan.audio.cache.lookup(plan.id)) {
      (flight.waiters.shift() as (o: 'lead') => void)('lead');
      return;
    }
    if (mine) byId.delete(plan.id);
    for (const waiter of flight.waiters.splice(0)) waiter('look');
  };
}
