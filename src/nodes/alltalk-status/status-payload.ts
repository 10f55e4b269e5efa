/** The report alltalk-status sends. */
import { CAPABILITY_FLAGS } from '../../api/types';
import type { ServerConnection } from '../../runtime/server-connection';

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
  checkedAt: string;
}

export function statusPayload(connection: ServerConnection): StatusPayload {
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
    checkedAt: new Date().toISOString(),
  };
}

