/**
 * What every worker node does with its server configuration: find its connection and audio
 * service, refuse a message when there is none, and let go of its work when it closes.
 */
import type { Node, NodeAPI } from 'node-red';
import type { Cancellation } from '../api/cancellation';
import { AllTalkError } from '../api/errors';
import type { AudioService } from './audio-service';
import type { FilePolicy } from './file-policy';
import type { ServerConnection } from './server-connection';
import type { ServerGroup } from './server-group';

interface ConfigNodeLike {
  type: string;
  connection?: ServerConnection;
  group?: ServerGroup;
}

/** The connection of config node `id`, or undefined when none is configured or deployed. */
export function serverConnection(RED: NodeAPI, id: string | undefined): ServerConnection | undefined {
  if (!id) return undefined;
  const n = RED.nodes.getNode(id) as unknown as ConfigNodeLike | null;
  return n && n.type === 'alltalk-config' ? n.connection : undefined;
}

/** Config node `id`'s server and its fallbacks, which the node's messages are routed between, or undefined. */
export function serverGroup(RED: NodeAPI, id: string | undefined): ServerGroup | undefined {
  if (!id) return undefined;
  const n = RED.nodes.getNode(id) as unknown as ConfigNodeLike | null;
  return n && n.type === 'alltalk-config' ? n.group : undefined;
}

/** The audio cache and speaker URLs of config node `id`, or undefined. */
export function serverAudio(RED: NodeAPI, id: string | undefined): AudioService | undefined {
  if (!id) return undefined;
  const n = RED.nodes.getNode(id) as unknown as (ConfigNodeLike & { audio?: AudioService }) | null;
  return n && n.type === 'alltalk-config' ? n.audio : undefined;
}

/** A message to a node without a server configuration ends with this error (nothing is sent). */
export function requireConnection(connection: ServerConnection | undefined): asserts connection is ServerConnection {
  if (!connection) throw new AllTalkError('validation', 'No AllTalk server is configured: choose one in the node\'s settings.');
}

/**
 * When the node closes (redeploy, Node-RED stopping): `before` runs, then its work is aborted
 * (queued and running messages end with an error that says so) and its badge stops.
 */
export function closeWorker(node: Node, lifetime: Cancellation, badge: { close(): void }, before?: () => void): void {
  node.on('close', (_removed: boolean, done: () => void) => {
    before?.();
    lifetime.abort(new AllTalkError('aborted', 'The node was stopped (flow redeployed or Node-RED stopping).'));
    badge.close();
    done();
  });
}

/** Where the node may write files: Node-RED's settings and the node's "create folders" (default off). */
export function filePolicy(RED: NodeAPI, def: { createFolders?: unknown }): FilePolicy {
  const settings = RED.settings as { fileWorkingDirectory?: unknown; userDir?: unknown; settingsFile?: unknown; flowFile?: unknown };
  const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    workingDirectory: text(settings.fileWorkingDirectory),
    userDir: text(settings.userDir),
    settingsFile: text(settings.settingsFile),
    flowFile: text(settings.flowFile),
    createFolders: def.createFolders === true || def.createFolders === 'true',
  };
}
