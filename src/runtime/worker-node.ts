/** How a worker node finds the ServerConnection of the alltalk-config node it uses. */
import type { NodeAPI } from 'node-red';
import type { AudioService } from './audio-service';
import type { ServerConnection } from './server-connection';

interface ConfigNodeLike {
  type: string;
  connection?: ServerConnection;
}

/** The connection of config node `id`, or undefined when none is configured or deployed. */
export function serverConnection(RED: NodeAPI, id: string | undefined): ServerConnection | undefined {
  if (!id) return undefined;
  const n = RED.nodes.getNode(id) as unknown as ConfigNodeLike | null;
  return n && n.type === 'alltalk-config' ? n.connection : undefined;
}

/** The audio cache and speaker URLs of config node `id`, or undefined. */
export function serverAudio(RED: NodeAPI, id: string | undefined): AudioService | undefined {
  if (!id) return undefined;
  const n = RED.nodes.getNode(id) as unknown as (ConfigNodeLike & { audio?: AudioService }) | null;
  return n && n.type === 'alltalk-config' ? n.audio : undefined;
}
