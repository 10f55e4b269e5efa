/**
 * The server's other routes, which the Node-RED client does not use: /settings-json,
 * /api/voice2rvc, the TTS Generator helpers, the HTML pages and FastAPI's own documentation routes.
 * Their bodies are approximations; their status codes and error shapes follow the API notes.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { errorText } from './engine';
import { API_ALLOWED_FILTER } from './text-processing';
import { sendDetail, sendHtml, sendJson, sendValidationError } from './replies';
import type { RouteHandler, SimulatorHost } from './route-context';
import { parseFields } from './validation';

/** The part of confignew.json a client could care about, reflecting the simulator's options. */
export function configJson(host: SimulatorHost): Record<string, unknown> {
  const cfg = host.apiConfig;
  const legacy = host.options.legacyApi;
  return {
    branding: 'AllTalk ',
    delete_output_wavs: 'Disabled',
    gradio_interface: true,
    output_folder: 'outputs',
    gradio_port_number: 7852,
    firstrun_model: false,
    firstrun_splash: false,
    launch_gradio: true,
    transcode_audio_format: 'Disabled',
    rvc_settings: {
      rvc_enabled: host.engine.rvcEnabledGlobally,
      rvc_char_model_file: cfg.rvc_char_model_file,
      rvc_narr_model_file: cfg.rvc_narr_model_file,
      split_audio: true,
      autotune: false,
      pitch: cfg.rvc_pitch,
      filter_radius: 3,
      index_rate: 0.75,
      rms_mix_rate: 1,
      protect: 0.5,
      hop_length: 130,
      f0method: 'fcpe',
      embedder_model: 'hubert',
      training_data_size: 45000,
    },
    api_def: {
      api_port_number: host.port,
      api_allowed_filter: API_ALLOWED_FILTER.source,
      api_length_stripping: cfg.api_length_stripping,
      api_max_characters: host.options.maxCharacters,
      api_use_legacy_api: legacy !== false,
      api_legacy_ip_address: legacy ? legacy.ip : '127.0.0.1',
      api_text_filtering: cfg.api_text_filtering,
      api_narrator_enabled: cfg.api_narrator_enabled,
      api_text_not_inside: cfg.api_text_not_inside,
      api_language: cfg.api_language,
      api_output_folder: '',
      api_output_file_name: cfg.api_output_file_name,
      api_output_file_timestamp: cfg.api_output_file_timestamp,
      api_autoplay: cfg.api_autoplay,
      api_autoplay_volume: cfg.api_autoplay_volume,
    },
  };
}

export const getSettingsJson: RouteHandler = (host, ex) => {
  sendJson(ex.res, 200, configJson(host));
};

export const postUpdateSettings: RouteHandler = (_host, ex) => {
  // The real route rewrites confignew.json; the simulator accepts and ignores the change.
  sendJson(ex.res, 200, { message: 'Settings updated successfully' });
};

const VOICE2RVC_FIELDS = [
  { name: 'input_tts_path', type: 'str', required: true },
  { name: 'output_rvc_path', type: 'str', required: true },
  { name: 'pth_name', type: 'str', required: true },
  { name: 'pitch', type: 'str', required: true },
  { name: 'method', type: 'str', required: true },
] as const;

function insideOutputs(host: SimulatorHost, file: string): string | undefined {
  const full = path.resolve(host.outputDir, file);
  return path.dirname(full) === path.resolve(host.outputDir) ? full : undefined;
}

/** POST /api/voice2rvc: RVC on a server-side file (the simulator copies it). Errors re-wrapped as 500 "400: …". */
export const postVoice2Rvc: RouteHandler = async (host, ex) => {
  const parsed = parseFields(ex.body.isForm ? ex.body.form : {}, VOICE2RVC_FIELDS, 'body');
  if (parsed.issues.length > 0) {
    sendValidationError(ex.res, parsed.issues);
    return;
  }
  const v = parsed.values as Record<string, string>;
  if (['disabled', 'disable'].includes(v.pth_name.toLowerCase())) {
    sendJson(ex.res, 200, { status: 'error', message: 'No voice was specified or the name was Disabled' });
    return;
  }
  const input = insideOutputs(host, v.input_tts_path);
  const inputStat = input ? await fsp.stat(input).catch(() => undefined) : undefined;
  if (!input || !inputStat?.isFile()) {
    sendDetail(ex.res, 500, `400: Input file ${v.input_tts_path} does not exist.`);
    return;
  }
  const wanted = v.pth_name.replace(/\\/g, '/');
  if (!host.engine.rvcVoices.some((r) => r.replace(/\\/g, '/') === wanted)) {
    sendDetail(ex.res, 500, `400: Model file ${path.join(host.alltalkDir, 'models', 'rvc_voices', v.pth_name)} does not exist.`);
    return;
  }
  const output = insideOutputs(host, v.output_rvc_path);
  if (!output) {
    sendDetail(ex.res, 500, `500: Could not write ${v.output_rvc_path}`);
    return;
  }
  const ticket = host.engine.beginGeneration(ex.record.id, '/api/voice2rvc', { ...v });
  try {
    await host.sleep(host.options.minGenerationMs);
    await fsp.copyFile(input, output);
    sendJson(ex.res, 200, { status: 'success', output_path: v.output_rvc_path });
    ticket.end('success', { outputFile: output });
  } catch (err) {
    sendDetail(ex.res, 500, `500: ${errorText(err)}`);
    ticket.end('error', { error: errorText(err) });
  }
};

export const postSaveTtsData: RouteHandler = (_host, ex) => {
  if (!ex.body.jsonParsed || !Array.isArray(ex.body.json)) {
    sendValidationError(ex.res, [
      { type: 'list_type', loc: ['body'], msg: 'Input should be a valid list', input: ex.body.json ?? null },
    ]);
    return;
  }
  sendJson(ex.res, 200, { status: 'success', message: 'TTS data saved successfully' });
};

/** The TTS Generator helpers: without a saved TTS list they fail as the real server does. */
export const getTtsListHelper: RouteHandler = (_host, ex) => {
  sendDetail(ex.res, 500, '404: TTS list file not found');
};

export const getHomePage: RouteHandler = (host, ex) => {
  const s = host.engine.settings;
  sendHtml(
    ex.res,
    200,
    `<!DOCTYPE html><html><head><title>AllTalk TTS</title></head><body><h1>AllTalk TTS</h1>` +
      `<p>Engine ${s.current_engine_loaded}, model ${s.current_model_loaded ?? 'none'} (simulated).</p></body></html>`,
  );
};

export const getSettingsPage: RouteHandler = (host, ex) => {
  const cfg = configJson(host);
  const pre = escapeHtml(JSON.stringify(cfg, null, 2));
  sendHtml(ex.res, 200, `<!DOCTYPE html><html><head><title>AllTalk Settings</title></head><body><pre>${pre}</pre></body></html>`);
};

function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><title>${title}</title></head><body>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const getSwaggerUi: RouteHandler = (_host, ex) => {
  sendHtml(ex.res, 200, htmlPage('FastAPI - Swagger UI', '<div id="swagger-ui"></div>'));
};

export const getSwaggerRedirect: RouteHandler = (_host, ex) => {
  sendHtml(ex.res, 200, htmlPage('Swagger UI: OAuth2 Redirect', ''));
};

export const getRedoc: RouteHandler = (_host, ex) => {
  sendHtml(ex.res, 200, htmlPage('FastAPI - ReDoc', '<redoc spec-url="/openapi.json"></redoc>'));
};

/** The OpenAPI schema lists every FastAPI route; /api/reload (a raw Starlette route) is missing. */
export function openApiDocument(
  paths: Array<{ path: string; methods: string[] }>,
  host: SimulatorHost,
): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const route of paths) {
    const operations = route.methods.map((m) => [m.toLowerCase(), { summary: route.path, responses: {} }]);
    out[route.path] = Object.fromEntries(operations);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'FastAPI', version: '0.1.0', description: `AllTalk simulator (${host.engine.profileName})` },
    paths: out,
  };
}
