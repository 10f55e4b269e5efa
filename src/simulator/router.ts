/**
 * The route table of the AllTalk v2 API server and Starlette's routing rules: 405 with an `allow`
 * header when only the method differs (GET routes do not accept HEAD), a 307 redirect when the
 * path matches with the trailing slash toggled, 404 otherwise, and the CORS middleware's preflight.
 */
import {
  getHomePage,
  getRedoc,
  getSettingsJson,
  getSettingsPage,
  getSwaggerRedirect,
  getSwaggerUi,
  getTtsListHelper,
  openApiDocument,
  postSaveTtsData,
  postUpdateSettings,
  postVoice2Rvc,
} from './extra-routes';
import { getAudioCacheFile, getAudioFile } from './file-routes';
import { postPreviewVoice, postTtsGenerate, postTtsGenerateStreaming } from './generation-routes';
import { postDeepSpeed, postEngineReload, postLowVram, postReload } from './model-routes';
import { postOpenAiSpeech, putOpenAiVoiceMap } from './openai-routes';
import { sendBody, sendJson, sendMethodNotAllowed, sendNotFound, sendRedirect } from './replies';
import type { Exchange, RouteHandler, SimulatorHost } from './route-context';
import {
  getCurrentSettings,
  getReady,
  getReloadConfig,
  getRvcVoices,
  getVoices,
  putStopGeneration,
} from './status-routes';
import { getTtsGenerateStreaming } from './streaming-routes';

export interface RouteDefinition {
  path: string;
  /** Matches a path parameter segment (`{filename}`) or a mounted folder. */
  pattern?: RegExp;
  methods: string[];
  handler: RouteHandler;
  /** Listed in /openapi.json (raw Starlette routes and mounts are not). */
  inSchema: boolean;
}

const notFoundMount: RouteHandler = (_host, ex) => sendNotFound(ex.res);

const getOpenApi: RouteHandler = (host, ex) => {
  const paths = ROUTES.filter((r) => r.inSchema).map((r) => ({ path: r.path, methods: r.methods }));
  sendJson(ex.res, 200, openApiDocument(paths, host));
};

export const ROUTES: RouteDefinition[] = [
  { path: '/api/reload', methods: ['POST'], handler: postReload, inSchema: false },
  { path: '/api/enginereload', methods: ['POST'], handler: postEngineReload, inSchema: true },
  { path: '/api/stop-generation', methods: ['PUT'], handler: putStopGeneration, inSchema: true },
  { path: '/audio/{filename}', pattern: /^\/audio\/[^/]+$/, methods: ['GET'], handler: getAudioFile, inSchema: true },
  {
    path: '/audiocache/{filename}',
    pattern: /^\/audiocache\/[^/]+$/,
    methods: ['GET'],
    handler: getAudioCacheFile,
    inSchema: true,
  },
  { path: '/api/voices', methods: ['GET'], handler: getVoices, inSchema: true },
  { path: '/api/rvcvoices', methods: ['GET'], handler: getRvcVoices, inSchema: true },
  { path: '/api/reload_config', methods: ['GET'], handler: getReloadConfig, inSchema: true },
  { path: '/api/ready', methods: ['GET'], handler: getReady, inSchema: true },
  { path: '/api/currentsettings', methods: ['GET'], handler: getCurrentSettings, inSchema: true },
  { path: '/api/lowvramsetting', methods: ['POST'], handler: postLowVram, inSchema: true },
  { path: '/api/deepspeed', methods: ['POST'], handler: postDeepSpeed, inSchema: true },
  { path: '/api/voice2rvc', methods: ['POST'], handler: postVoice2Rvc, inSchema: true },
  { path: '/api/tts-generate-streaming', methods: ['GET'], handler: getTtsGenerateStreaming, inSchema: true },
  { path: '/api/tts-generate-streaming', methods: ['POST'], handler: postTtsGenerateStreaming, inSchema: true },
  { path: '/api/previewvoice/', methods: ['POST'], handler: postPreviewVoice, inSchema: true },
  { path: '/v1/audio/speech', methods: ['POST'], handler: postOpenAiSpeech, inSchema: true },
  { path: '/api/openai-voicemap', methods: ['PUT'], handler: putOpenAiVoiceMap, inSchema: true },
  { path: '/api/tts-generate', methods: ['POST'], handler: postTtsGenerate, inSchema: true },
  {
    path: '/api/word_addin',
    pattern: /^\/api\/word_addin(\/.*)?$/,
    methods: ['GET', 'HEAD'],
    handler: notFoundMount,
    inSchema: false,
  },
  { path: '/api/save-tts-data', methods: ['POST'], handler: postSaveTtsData, inSchema: true },
  { path: '/api/trigger-analysis', methods: ['GET'], handler: getTtsListHelper, inSchema: true },
  { path: '/api/srt-generation', methods: ['GET'], handler: getTtsListHelper, inSchema: true },
  { path: '/static', pattern: /^\/static(\/.*)?$/, methods: ['GET', 'HEAD'], handler: notFoundMount, inSchema: false },
  { path: '/settings', methods: ['GET'], handler: getSettingsPage, inSchema: true },
  { path: '/settings-json', methods: ['GET'], handler: getSettingsJson, inSchema: true },
  { path: '/update-settings', methods: ['POST'], handler: postUpdateSettings, inSchema: true },
  { path: '/', methods: ['GET'], handler: getHomePage, inSchema: true },
  { path: '/openapi.json', methods: ['GET', 'HEAD'], handler: getOpenApi, inSchema: false },
  { path: '/docs', methods: ['GET', 'HEAD'], handler: getSwaggerUi, inSchema: false },
  { path: '/docs/oauth2-redirect', methods: ['GET', 'HEAD'], handler: getSwaggerRedirect, inSchema: false },
  { path: '/redoc', methods: ['GET', 'HEAD'], handler: getRedoc, inSchema: false },
];

function pathMatches(route: RouteDefinition, path: string): boolean {
  return route.pattern ? route.pattern.test(path) : route.path === path;
}

export type RouteMatch =
  | { kind: 'route'; route: RouteDefinition }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'redirect'; path: string }
  | { kind: 'not-found' };

export function matchRoute(method: string, path: string): RouteMatch {
  let partial: RouteDefinition | undefined;
  for (const route of ROUTES) {
    if (!pathMatches(route, path)) continue;
    if (route.methods.includes(method)) return { kind: 'route', route };
    partial ??= route;
  }
  if (partial) return { kind: 'method-not-allowed', allow: partial.methods };
  if (path !== '/') {
    const toggled = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
    if (ROUTES.some((r) => pathMatches(r, toggled))) return { kind: 'redirect', path: toggled };
  }
  return { kind: 'not-found' };
}

const ALL_METHODS = 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT';

/** The CORS middleware (allow every origin, method and header, with credentials). */
export function applyCors(ex: Exchange): boolean {
  const origin = ex.req.headers.origin;
  if (!origin) return false;
  const preflight = ex.method === 'OPTIONS' && ex.req.headers['access-control-request-method'] !== undefined;
  if (preflight) {
    const headers: Record<string, string> = {
      vary: 'Origin',
      'access-control-allow-methods': ALL_METHODS,
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
      'access-control-allow-origin': origin,
    };
    const requested = ex.req.headers['access-control-request-headers'];
    if (typeof requested === 'string') headers['access-control-allow-headers'] = requested;
    sendBody(ex.res, 200, 'OK', 'text/plain; charset=utf-8', headers);
    return true;
  }
  if (ex.req.headers.cookie !== undefined) {
    ex.res.setHeader('access-control-allow-origin', origin);
    ex.res.setHeader('vary', 'Origin');
  } else {
    ex.res.setHeader('access-control-allow-origin', '*');
  }
  ex.res.setHeader('access-control-allow-credentials', 'true');
  return false;
}

export async function dispatch(host: SimulatorHost, ex: Exchange): Promise<void> {
  if (applyCors(ex)) return;
  const match = matchRoute(ex.method, ex.path);
  switch (match.kind) {
    case 'route':
      await match.route.handler(host, ex);
      return;
    case 'method-not-allowed':
      sendMethodNotAllowed(ex.res, match.allow);
      return;
    case 'redirect': {
      const hostHeader = ex.req.headers.host ?? `127.0.0.1:${host.port}`;
      const query = ex.query.toString();
      sendRedirect(ex.res, `http://${hostHeader}${match.path}${query ? `?${query}` : ''}`);
      return;
    }
    case 'not-found':
      sendNotFound(ex.res);
      return;
  }
}
