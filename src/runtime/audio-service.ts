/**
 * What one server configuration offers the nodes besides the connection: its audio cache, the
 * URLs under which Node-RED serves cached audio to speakers (when "address of Node-RED for
 * speakers" is set), and the live streams waiting for a speaker to fetch them.
 *
 * Speaker URLs: <address><httpNodeRoot>alltalk-audio/<config id>/<entry id>.<ext> for cached
 * audio, and .../live-<token>.wav for a stream that starts when it is fetched (once; an unfetched
 * one expires). Both names are unguessable: entry ids are keyed with the cache's secret, tokens
 * are random.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AllTalkError } from '../api/errors';
import type { AudioCache, CacheEntry } from './audio-cache';

/** The path segment the routes live under (below httpNodeRoot). */
export const AUDIO_ROUTE = 'alltalk-audio';
export const LIVE_NAME = /^live-([0-9a-f]{32})\.wav$/;
export const ENTRY_NAME = /^([0-9a-f]{40})\.([a-z0-9]{1,8})$/;

/** A stream that starts when a speaker fetches its URL. */
export interface LiveStream {
  /** Runs the stream into the response; called once, when a speaker fetches the URL. */
  start(req: IncomingMessage, res: ServerResponse): void;
  /** Nobody fetched it in time (or the node stopped): told once, instead of `start`. */
  expire(err: AllTalkError): void;
}

interface Pending {
  stream: LiveStream;
  timer: NodeJS.Timeout;
  owner: unknown;
}

export interface AudioServiceOptions {
  configId: string;
  cache: AudioCache;
  /** The address speakers reach Node-RED at (http://192.168.1.10:1880), or '' when not set. */
  speakerAddress: string;
  /** Node-RED's httpNodeRoot ('/' by default), or false when its HTTP nodes are turned off. */
  httpNodeRoot: string | false;
  /** How long a live stream URL waits for its speaker, ms (default 60 s). */
  liveTtlMs?: number;
  /** Live stream URLs waiting at most at once (default 50). */
  maxLive?: number;
}

export class AudioService {
  readonly cache: AudioCache;
  readonly configId: string;
  private readonly base: string | undefined;
  /** Why the speaker address cannot be used (told on the configuration node), if it cannot. */
  readonly problem: string | undefined;
  private readonly live = new Map<string, Pending>();
  private readonly liveTtlMs: number;
  private readonly maxLive: number;

  constructor(options: AudioServiceOptions) {
    this.cache = options.cache;
    this.configId = options.configId;
    this.liveTtlMs = options.liveTtlMs ?? 60_000;
    this.maxLive = options.maxLive ?? 50;
    const address = options.speakerAddress.trim();
    if (!address) return;
    let url: URL | undefined;
    try {
      url = new URL(address);
    } catch {
      // told below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
      this.problem = `The address of Node-RED for speakers, "${address}", is not an http(s) address such as http://192.168.1.10:1880.`;
    } else if (options.cache.stats().maxBytes === 0) {
      this.problem = 'Audio URLs on Node-RED are served from the audio cache, whose size is 0 MB: give the cache a size in the server configuration.';
    } else if (options.httpNodeRoot === false) {
      this.problem = 'Node-RED serves no HTTP nodes (httpNodeRoot is false in its settings), so it cannot serve audio to speakers.';
    } else {
      const root = `/${String(options.httpNodeRoot).replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');
      this.base = `${url.origin}${url.pathname.replace(/\/+$/, '')}${root}${AUDIO_ROUTE}/${encodeURIComponent(this.configId)}/`;
    }
  }

  /** Whether audio URLs on Node-RED can be given (the speaker address is set and usable). */
  get serving(): boolean {
    return this.base !== undefined;
  }

  /** Refuses (before anything is sent) a URL output that needs the speaker address. */
  requireServing(what: string): void {
    if (this.base) return;
    throw new AllTalkError('validation', this.problem ?? `${what} needs the address of Node-RED for speakers: set it in the server ` +
      'configuration (e.g. http://192.168.1.10:1880), so Node-RED can serve the audio. Nothing was sent to AllTalk.',
    { field: 'output', value: 'url', allowed: 'url with the address of Node-RED for speakers set' });
  }

  /** The speaker URL of a cached entry. */
  urlFor(entry: Pick<CacheEntry, 'id' | 'ext'>): string {
    this.requireServing('A Node-RED audio URL');
    return `${this.base}${entry.id}.${entry.ext}`;
  }

  /**
   * Registers a stream that starts when its URL is fetched; returns the URL. `owner` groups a
   * node's streams (for `dropLive`). Refused when too many are waiting.
   */
  addLive(stream: LiveStream, owner: unknown): string {
    this.requireServing('Output "url"');
    if (this.live.size >= this.maxLive) {
      throw new AllTalkError('queue-full', `${this.maxLive} stream URLs are already waiting for a speaker to fetch them. ` +
        'Fetch them, or wait until they expire.');
    }
    const token = randomBytes(16).toString('hex');
    const timer = setTimeout(() => {
      if (this.live.delete(token)) {
        stream.expire(new AllTalkError('aborted', `Nobody fetched the stream URL within ${Math.round(this.liveTtlMs / 1000)} s, ` +
          'so nothing was generated. Hand the URL to the speaker right away.'));
      }
    }, this.liveTtlMs);
    timer.unref?.();
    this.live.set(token, { stream, timer, owner });
    return `${this.base}live-${token}.wav`;
  }

  /** Whether a live URL is still waiting (a HEAD request looks without taking it). */
  hasLive(token: string): boolean {
    return this.live.has(token);
  }

  /** The stream behind a live URL, taken (it can be fetched once). */
  takeLive(token: string): LiveStream | undefined {
    const pending = this.live.get(token);
    if (!pending) return undefined;
    this.live.delete(token);
    clearTimeout(pending.timer);
    return pending.stream;
  }

  /** Ends the waiting streams of `owner` (all when undefined) with `err`; returns how many. */
  dropLive(err: AllTalkError, owner?: unknown): number {
    let n = 0;
    for (const [token, pending] of [...this.live]) {
      if (owner !== undefined && pending.owner !== owner) continue;
      this.live.delete(token);
      clearTimeout(pending.timer);
      pending.stream.expire(err);
      n++;
    }
    return n;
  }

  get liveWaiting(): number {
    return this.live.size;
  }

  /** The configuration stops: waiting streams end, the cache is closed (and removed when the configuration was deleted). */
  async close(removed: boolean): Promise<void> {
    this.dropLive(new AllTalkError('aborted', 'The server configuration was stopped (flow redeployed or Node-RED stopping).'));
    await this.cache.close(removed);
  }
}
