/**
 * One AllTalk server as a member of a group that messages are routed between: its connection, its
 * health for routing (ServerHealth: down at once on a failure, up after two good probes), its name
 * and address for the messages that say where they ran, and the routing settings of its server
 * configuration (fallbacks, shared load, stand-in voice). No Node-RED imports.
 */
import { isAllTalkError } from '../api/errors';
import type { AudioService } from './audio-service';
import type { ServerConnection, StateInfo } from './server-connection';
import { ServerHealth } from './server-health';

export interface MemberSettings {
  /** The server configuration's id and name (its address when it has none). */
  id: string;
  name: string;
  /** Other server configurations (ids), in order: where messages go when this one is down. */
  fallbacks: string[];
  /** Use the fallbacks also to share load while this one is up. */
  share: boolean;
  /** This server's voice for a message rerouted here with a voice it does not have ('' = its first). */
  standInVoice: string;
  /** Time between probes while down, ms (default 5000). */
  probeIntervalMs?: number;
}

/** Where a message ran, as the output message says it. */
export interface ServerRef {
  id: string;
  name: string;
  url: string;
}

export class ServerMember {
  readonly health: ServerHealth;
  readonly ref: ServerRef;

  constructor(
    readonly connection: ServerConnection,
    readonly settings: MemberSettings,
    readonly audio?: AudioService,
  ) {
    this.ref = { id: settings.id, name: settings.name, url: connection.origin };
    this.health = new ServerHealth({
      intervalMs: settings.probeIntervalMs,
      probe: async () => {
        const ready = await connection.client.ready({ retries: 0 });
        if (ready !== 'Ready') throw new Error('the server says its engine is unloaded');
      },
    });
    connection.on('state', this.onState);
    connection.on('outcome', this.onOutcome);
  }

  get up(): boolean {
    return this.health.up;
  }

  /** Jobs queued and running on this server now. */
  get load(): number {
    return this.connection.queue.running + this.connection.queue.length;
  }

  /** Checks (the state machine) see the server: ready is up, offline or a silent server is down. */
  private readonly onState = (info: StateInfo) => {
    if (info.state === 'ready') this.health.succeeded();
    else if (info.state === 'offline') this.health.failed(info.reason ?? 'offline');
    // Busy while nothing of ours runs there: it does not answer its status calls.
    else if (info.state === 'busy' && this.connection.jobsRunning === 0) this.health.failed(info.reason ?? 'not answering');
  };

  /** Requests see the server too: refused, reset or timed out marks it down at once (passive). */
  private readonly onOutcome = (err?: unknown) => {
    if (err === undefined) return this.health.succeeded();
    if (isAllTalkError(err) && (err.kind === 'offline' || err.kind === 'timeout')) this.health.failed(err.message);
  };

  close(): void {
    this.connection.off('state', this.onState);
    this.connection.off('outcome', this.onOutcome);
    this.health.close();
  }
}

/** Whether the engine and model a server has loaded stream (XTTS with an `xtts - …` model). */
export function engineStreams(connection: ServerConnection): boolean {
  const s = connection.cache.settings;
  return s?.streaming_capable === true && !s.current_model_loaded?.startsWith('apitts');
}
