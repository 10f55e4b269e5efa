/**
 * Model and engine control: /api/reload, /api/enginereload, /api/deepspeed, /api/lowvramsetting.
 * A model load takes `modelLoadMs` and, with a blocking engine, holds every other request.
 */
import { lastValues } from './request-body';
import { sendInternalServerError, sendJson, sendPythonJson, sendValidationError } from './replies';
import type { Exchange, RouteHandler, SimulatorHost } from './route-context';
import { parseFields } from './validation';

const PLACEHOLDER_MODELS = ['No Models Available', 'No Models Found'];

/**
 * POST /api/reload?tts_method=<model>. A raw Starlette route: its JSON has spaces after colons.
 * Real: an unknown or missing model makes the handler return a dict Starlette cannot send (E3).
 */
export const postReload: RouteHandler = async (host, ex) => {
  const { engine } = host;
  const model = lastValues(ex.query).tts_method;
  const names = engine.settings.models_available.map((m) => m.name);
  const reply = (status: string): void => sendPythonJson(ex.res, 200, { status }, 'application/json');
  if (model === undefined || !names.includes(model)) {
    if (host.mode === 'documented') reply('model-failure');
    else sendInternalServerError(ex.res);
    return;
  }
  if (engine.modelChanging) {
    reply('model-is currently changing');
    return;
  }
  if (PLACEHOLDER_MODELS.includes(model)) {
    reply('model-failure');
    return;
  }
  const release = engine.beginModelWork();
  engine.modelChanging = true;
  try {
    if (engine.profileName === 'xtts' && !/^(xtts|apitts) - /.test(model)) {
      // XTTS cannot tell how to load a model without a known prefix: it ends up with none.
      await engine.loadModel(null);
      engine.modelLoaded = false;
      reply('model-failure');
      return;
    }
    await engine.loadModel(model);
    if (model.startsWith('apitts')) engine.settings.deepspeed_enabled = false;
    reply('model-success');
  } finally {
    engine.modelChanging = false;
    release();
  }
};

/** POST /api/enginereload?engine=<name>: invalid → E6 200; valid → E3 500 (broken in this release). */
export const postEngineReload: RouteHandler = (host, ex) => {
  const engineName = lastValues(ex.query).engine;
  if (engineName !== undefined && host.engine.settings.engines_available.includes(engineName)) {
    sendInternalServerError(ex.res);
    return;
  }
  sendJson(ex.res, 200, { status: 'error', message: 'Invalid TTS engine specified' });
};

function requiredQueryBool(ex: Exchange, name: string): boolean | undefined {
  const parsed = parseFields(lastValues(ex.query), [{ name, type: 'bool', required: true }], 'query');
  if (parsed.issues.length > 0) {
    sendValidationError(ex.res, parsed.issues);
    return undefined;
  }
  return parsed.values[name] as boolean;
}

/** Replies of /api/deepspeed and /api/lowvramsetting: no Content-Type in real mode. */
function toggleReply(host: SimulatorHost, ex: Exchange, body: Record<string, unknown>): void {
  sendPythonJson(ex.res, 200, body, host.mode === 'documented' ? 'application/json' : null);
}

export const postDeepSpeed: RouteHandler = async (host, ex) => {
  const value = requiredQueryBool(ex, 'new_deepspeed_value');
  if (value === undefined) return;
  const { engine } = host;
  const s = engine.settings;
  if (!s.deepspeed_capable || !s.deepspeed_available) {
    toggleReply(host, ex, {
      status: 'error',
      message: `The currently loaded TTS engine '${s.current_engine_loaded}' does not support DeepSpeed or DeepSpeed is not available on this system.`,
    });
    return;
  }
  if (!engine.modelLoaded) {
    // The engine's HTTPException "No model is currently loaded" hits the handler's broken except clause.
    sendInternalServerError(ex.res);
    return;
  }
  if (s.deepspeed_enabled === value) {
    toggleReply(
      host,
      ex,
      host.mode === 'documented'
        ? { status: 'deepspeed-success' }
        : { status: 'success', message: `DeepSpeed is already ${value ? 'enabled' : 'disabled'}` },
    );
    return;
  }
  const release = engine.beginModelWork();
  try {
    if ((s.current_model_loaded ?? '').startsWith('apitts')) {
      // The API TTS model refuses DeepSpeed and resets it, yet the route reports success.
      s.deepspeed_enabled = false;
    } else {
      s.deepspeed_enabled = value;
      await engine.loadModel(engine.startupModel());
    }
    toggleReply(host, ex, { status: 'deepspeed-success' });
  } finally {
    release();
  }
};

export const postLowVram: RouteHandler = async (host, ex) => {
  const value = requiredQueryBool(ex, 'new_low_vram_value');
  if (value === undefined) return;
  const { engine } = host;
  const s = engine.settings;
  if (!s.lowvram_capable) {
    toggleReply(host, ex, {
      status: 'error',
      message: `The currently loaded TTS engine '${s.current_engine_loaded}' does not support lowvram.`,
    });
    return;
  }
  if (s.lowvram_enabled === value) {
    toggleReply(
      host,
      ex,
      host.mode === 'documented'
        ? { status: 'lowvram-success' }
        : { status: 'success', message: `LowVRAM is already ${value ? 'enabled' : 'disabled'}` },
    );
    return;
  }
  const release = engine.beginModelWork();
  try {
    s.lowvram_enabled = value;
    if (engine.cuda) {
      await engine.loadModel(engine.startupModel());
    } else {
      // Without CUDA the model is unloaded and never loaded again; the route still reports success.
      engine.modelLoaded = false;
    }
    const documented = host.mode === 'documented';
    toggleReply(host, ex, documented ? { status: 'lowvram-success' } : { status: 'lowvram-success', message: '' });
  } finally {
    release();
  }
};
