/** Status routes: /api/ready, /api/voices, /api/rvcvoices, /api/currentsettings, /api/reload_config. */
import { documentedRvcVoiceName } from './documented-mode';
import { orderedSettings } from './profiles';
import { sendJson, sendUntyped } from './replies';
import type { RouteHandler } from './route-context';

/** `Ready` (no Content-Type). Documented mode: `Unloaded` while a model loads. */
export const getReady: RouteHandler = (host, ex) => {
  const unloaded = host.mode === 'documented' && host.engine.loadingModel > 0;
  sendUntyped(ex.res, 200, unloaded ? 'Unloaded' : 'Ready');
};

export const getVoices: RouteHandler = (host, ex) => {
  const { engine } = host;
  if (!engine.settings.multivoice_capable && host.mode === 'real') {
    sendJson(ex.res, 200, {
      status: 'error',
      message: `The currently loaded TTS engine '${engine.settings.current_engine_loaded}' does not support multiple voices.`,
    });
    return;
  }
  const voices = engine.listedVoices();
  sendJson(ex.res, 200, { status: 'success', voices: voices.length > 0 ? voices : ['No Voices Found'] });
};

/** Real: key `rvcvoices`, the host separator. Documented: key `voices`, `folder\voice.pth` entries. */
export const getRvcVoices: RouteHandler = (host, ex) => {
  const list = host.engine.rvcVoices;
  if (host.mode === 'documented') {
    sendJson(ex.res, 200, { status: 'success', voices: list.map(documentedRvcVoiceName) });
  } else {
    sendJson(ex.res, 200, { status: 'success', rvcvoices: [...list] });
  }
};

export const getCurrentSettings: RouteHandler = (host, ex) => {
  sendJson(ex.res, 200, orderedSettings(host.engine.settings));
};

export const getReloadConfig: RouteHandler = (_host, ex) => {
  sendUntyped(ex.res, 200, 'Config file reloaded successfully');
};

/** Always 200; sets the stop flag only while a generation runs (only XTTS streaming reads it). */
export const putStopGeneration: RouteHandler = (host, ex) => {
  host.engine.requestStop();
  sendJson(ex.res, 200, { message: 'Cancelling current TTS generation' });
};
