/** The report alltalk-status sends. */
import { CAPABILITY_FLAGS } from '../../api/types';
import type { ServerConnection } from '../../runtime/server-connection';
import type { ServerGroup } from '../../runtime/server-group';

export interface StatusPayload {
  ready: boolean;
  state: string;
  reason: string | null;
  engine: string | null;
  model: string | null;
  settings: Record<string, unknown> | null;
  voices: string[];
  rvcVoices: string[];
  capabilities: Record<string, boolean>;
  /** Each fallback server (those that exist): name, address, state, and whether messages can be routed to it. */
  fallbacks: FallbackState[];
  checkedAt: string;
}

export interface FallbackState {
  id: string;
  name: string;
  url: string;
  state: string;
  up: boolean;
}

export function statusPayload(connection: ServerConnection, group?: ServerGroup): StatusPayload {
  const { state, reason } = connection.state;
  const { settings, rvcVoices } = connection.cache;
  const capabilities: Record<string, boolean> = {};
  for (const flag of CAPABILITY_FLAGS) capabilities[flag] = settings?.[flag] === true;
  return {
    ready: state === 'ready',
    state,
    reason: reason ?? null,
    engine: settings?.current_engine_loaded ?? null,
    model: settings?.current_model_loaded ?? null,
    settings: settings ? { ...settings } : null,
    voices: connection.voices,
    rvcVoices: [...rvcVoices],
    capabilities,
    fallbacks: group ? group.members().slice(1).map((m) => ({ ...m.ref, state: m.connection.state.state, up: m.up })) : [],
    checkedAt: new Date().toISOString(),
  };
}

