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
  return addRoute({}, r);
}

/** Writes routeOf(r)'s properties onto `target` (no object in between); returns `target`. */
export function addRoute(target: Record<string, unknown>, r: RouteFacts | undefined): Record<string, unknown> {
  if (!r) return target;
  target.server = { ...r.server };
  target.rerouted = r.rerouted;
  if (r.rerouted && r.because) target.reroutedBecause = r.because;
  return target;
}
