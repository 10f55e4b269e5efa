/** The alltalk-config node's properties and how they become client options. */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { AllTalkClientOptions, TlsOptions } from '../../api/client';
import type { AudioService } from '../../runtime/audio-service';
import type { ServerConnection } from '../../runtime/server-connection';
import type { ServerGroup } from '../../runtime/server-group';
import type { MemberSettings, ServerMember } from '../../runtime/server-member';

export interface AllTalkConfigDef extends NodeDef {
  protocol: 'http' | 'https';
  host: string;
  port: string | number;
  timeout: string | number;
  generationTimeout: string | number;
  concurrency: string | number;
  queueLimit: string | number;
  healthInterval?: string | number;
  tls?: string;
  apiKeyHeader?: string;
  /** Largest audio download and largest joined audio of a split text, in MB (default 200). */
  maxAudioMb?: string | number;
  /** The address speakers reach Node-RED at, for audio URLs served by Node-RED ('' = none). */
  speakerUrl?: string;
  /** The audio cache's size limit in MB (default 200; 0 = no cache) and age limit in days (default 30; 0 = none). */
  cacheMaxMb?: string | number;
  cacheMaxDays?: string | number;
  /**
   * The audio cache's folder ('' = a folder of this configuration's own under the user directory);
   * relative to the user directory. Configurations (or Node-RED processes) naming one folder share it.
   */
  cacheFolder?: string;
  /**
   * Other server configurations, in order: where its nodes' messages go while it is down. The dialog
   * writes `[{ id }]`; plain ids are taken too. (Node-RED takes a property whose value is one config
   * node's id for a dependency: `['b']` on a and `['a']` on b would stop the flows from starting.)
   */
  fallbacks?: (string | { id?: unknown })[] | string;
  /** Use the fallbacks also to share load while it is up (default false). */
  share?: boolean | string;
  /** Its voice for a message rerouted here with a voice it does not have ('' = its first voice). */
  standInVoice?: string;
  /** Time between probes of a server that is down, in seconds (default 5). */
  probeInterval?: string | number;
}

export interface AllTalkConfigCredentials {
  apiKey?: string;
  username?: string;
  password?: string;
}

export interface AllTalkConfigNode extends Node<AllTalkConfigCredentials> {
  connection: ServerConnection;
  /** This server among servers (its health for routing, its routing settings). */
  member: ServerMember;
  /** This server and its fallbacks, as its nodes route messages. */
  group: ServerGroup;
  /** The audio cache and the speaker URLs of this server. */
  audio: AudioService;
  /** Where this node's connection goes: stored credentials are only ever sent there. */
  server?: { protocol?: string; host?: string; port?: number };
}

interface TlsConfigNode extends Node {
  addTLSOptions(opts: Record<string, unknown>): void;
}

/** The value the editor sends for a password it has not been shown. */
export const HIDDEN_PASSWORD = '__PWRD__';

export function num(value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= min && n <= max ? n : fallback;
}

/** Builds the client options from a config node's properties and credentials. */
export function clientOptions(
  RED: NodeAPI,
  def: Partial<AllTalkConfigDef>,
  creds: AllTalkConfigCredentials,
): AllTalkClientOptions {
  // Values may come from an edit dialog through the admin API: anything that is not text is
  // handed on as it is, for the client to refuse with a clear message.
  const headers: Record<string, string> = {};
  const apiKey = text(creds.apiKey)?.trim();
  if (apiKey) {
    const rawName = def.apiKeyHeader === undefined || def.apiKeyHeader === '' ? 'X-API-Key' : def.apiKeyHeader;
    const name = typeof rawName === 'string' ? rawName.trim() : (rawName as unknown as string);
    headers[name] = typeof name === 'string' && name.toLowerCase() === 'authorization' && !/\s/.test(apiKey) ? `Bearer ${apiKey}` : apiKey;
  }
  const host = def.host === undefined || def.host === '' ? '127.0.0.1' : typeof def.host === 'string' ? def.host.trim() : (def.host as unknown as string);
  const opts: AllTalkClientOptions = {
    protocol: def.protocol === 'https' ? 'https' : 'http',
    host,
    port: num(def.port, 7851, 1, 65535),
    timeoutMs: num(def.timeout, 5, 0.1) * 1000,
    generationTimeoutMs: num(def.generationTimeout, 300, 0.1) * 1000,
    maxAudioBytes: num(def.maxAudioMb, 200, 1, MAX_AUDIO_MB) * 1024 * 1024,
    headers,
  };
  const username = text(creds.username);
  const password = text(creds.password);
  if (username || password) opts.basicAuth = { username: username ?? '', password: password ?? '' };
  if (typeof def.tls === 'string' && def.tls) {
    const tlsNode = RED.nodes.getNode(def.tls) as TlsConfigNode | null;
    if (tlsNode && typeof tlsNode.addTLSOptions === 'function') {
      const tls: Record<string, unknown> = {};
      tlsNode.addTLSOptions(tls);
      opts.tls = tls as TlsOptions;
    }
  }
  return opts;
}

/** A WAV file's sizes are 32-bit: 4 GB is the most any audio can be. */
export const MAX_AUDIO_MB = 4000;

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The routing settings of a server configuration (fallbacks that are not itself, in order, once each). */
export function routingSettings(id: string, def: Partial<AllTalkConfigDef>, origin: string): MemberSettings {
  const raw = Array.isArray(def.fallbacks) ? def.fallbacks : typeof def.fallbacks === 'string' && def.fallbacks ? def.fallbacks.split(',') : [];
  const ids = raw.map((f) => (typeof f === 'string' ? f : f && typeof f === 'object' && typeof f.id === 'string' ? f.id : ''));
  const fallbacks = [...new Set(ids.map((f) => f.trim()).filter((f) => f && f !== id))];
  return {
    id,
    name: (typeof def.name === 'string' && def.name.trim()) || origin,
    fallbacks,
    share: def.share === true || def.share === 'true',
    standInVoice: typeof def.standInVoice === 'string' ? def.standInVoice.trim() : '',
    probeIntervalMs: num(def.probeInterval, 5, 0.05, 3600) * 1000,
  };
}
