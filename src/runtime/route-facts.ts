/** Where a message ran, as every output message says it (msg.alltalk.server, .rerouted, .reroutedBecause). */
import type { ServerRef } from './server-member';

export interface RouteFacts {
  server: ServerRef;
  rerouted: boolean;
  /** Why it did not run on its own server. */
  because?: string;
}

/** msg.alltalk.server ({id, name, url}), .rerouted, and .reroutedBecause when it was rerouted. */
export function routeOf(r: RouteFacts | undefined): Record<string, unknown> {
  if (!r) return {};
  return { server: { ...r.server }, rerouted: r.rerouted, ...(r.rerouted && r.because ? { reroutedBecause: r.because } : {}) };
}
