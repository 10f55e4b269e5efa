/**
 * The routes Node-RED serves speakers from (on its HTTP-node server, below httpNodeRoot, without
 * the editor's login: speakers cannot log in): GET/HEAD /alltalk-audio/<config id>/<name>.
 * - <entry id>.<ext>: a cached audio file, with its content type and length, HTTP range requests
 *   (speakers seek) and conditional requests;
 * - live-<token>.wav: a stream that starts now and is passed on as it arrives (once).
 * Anything else is 404: only audio this package generated, only by its unguessable name, never a
 * listing or a path of the request's choosing. Every answer is audio or plain text, never a page:
 * it carries `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox` (these routes
 * share the editor's origin, so nothing they serve may run there), and audio comes inline with a
 * safe file name.
 */
import type { NodeAPI } from 'node-red';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAudioType } from '../../api/audio-format';
import type { CacheEntry } from '../../runtime/audio-cache';
import { AUDIO_ROUTE, type AudioService, ENTRY_NAME, LIVE_NAME } from '../../runtime/audio-service';

/** The headers every answer of a route on Node-RED's origin that hands out audio carries. */
export const NOT_A_PAGE: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': 'sandbox',
};

/** Sets NOT_A_PAGE and, for audio, an inline disposition with `fileName` (made of [A-Za-z0-9._-] only). */
export function markNotAPage(res: ServerResponse, fileName?: string): void {
  for (const [name, value] of Object.entries(NOT_A_PAGE)) res.setHeader(name, value);
  if (fileName) res.setHeader('Content-Disposition', `inline; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
}

interface ExpressRequest extends IncomingMessage {
  params: Record<string, string>;
}

interface ExpressResponse extends ServerResponse {
  status(code: number): ExpressResponse;
  set(name: string, value: string): ExpressResponse;
  send(body: string): ExpressResponse;
  sendFile(file: string, options: Record<string, unknown>, done: (err?: SendError) => void): void;
}

type SendError = Error & { status?: number; headers?: Record<string, unknown> };

interface ExpressApp {
  get(path: string, handler: (req: ExpressRequest, res: ExpressResponse) => void): void;
}

/** How long a speaker may keep a cached file: its name changes whenever its sound would. */
const CACHED_FOR_S = 24 * 3600;

export function registerAudioRoutes(RED: NodeAPI, audioOf: (configId: string) => AudioService | undefined): void {
  const app = (RED as unknown as { httpNode?: ExpressApp }).httpNode;
  if (!app) return;
  const notFound = (res: ExpressResponse) => {
    if (!res.headersSent) res.status(404).set('Content-Type', 'text/plain; charset=utf-8').send('Not found');
  };
  // Express answers HEAD with the GET route (without a body).
  app.get(`/${AUDIO_ROUTE}/:config/:name`, (req, res) => {
    try {
      markNotAPage(res);
      route(req, res);
    } catch {
      // Never an exception out of a speaker's request: it is simply not there.
      notFound(res);
    }
  });

  function route(req: ExpressRequest, res: ExpressResponse): void {
    const service = audioOf(String(req.params.config));
    const name = String(req.params.name);
    if (!service) return notFound(res);
    const live = LIVE_NAME.exec(name);
    if (live) {
      if (req.method === 'HEAD') {
        // A look does not use the URL up.
        if (!service.hasLive(live[1])) return notFound(res);
        markNotAPage(res, name);
        res.writeHead(200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store', 'Accept-Ranges': 'none' }).end();
        return;
      }
      const stream = service.takeLive(live[1]);
      if (!stream) return notFound(res);
      markNotAPage(res, name);
      return stream.start(req, res);
    }
    const m = ENTRY_NAME.exec(name);
    if (!m) return notFound(res);
    service.cache.file(m[1]).then((found) => {
      // Only audio of a type the package knows is ever served (the cache keeps nothing else).
      if (!found || found.entry.ext !== m[2] || !isAudioType(found.entry.contentType, found.entry.ext)) return notFound(res);
      serveFile(found, res);
    }).catch(() => notFound(res));
  }

  /** A cached file, with validators of the entry, ranges and conditional requests. */
  function serveFile(found: { entry: CacheEntry; path: string }, res: ExpressResponse): void {
    const { entry } = found;
    markNotAPage(res, `${entry.id}.${entry.ext}`);
    res.set('Content-Type', entry.contentType);
    res.set('Cache-Control', `private, max-age=${CACHED_FOR_S}`);
    // Validators of the entry, not of the file (whose time records its last use), so that
    // If-None-Match and If-Range hold from one request to the next.
    res.set('ETag', `"${entry.id.slice(0, 16)}-${entry.bytes.toString(36)}-${Math.floor(entry.createdAt).toString(36)}"`);
    res.set('Last-Modified', new Date(entry.createdAt).toUTCString());
    // The folder may sit below a dot folder (~/.node-red): the path is ours, not the request's.
    res.sendFile(found.path, { dotfiles: 'allow', acceptRanges: true, lastModified: false, etag: false }, (err?: SendError) => {
      if (!err || res.headersSent) return;
      // A range past the end (416, with the length it has) or a failed If-Match (412) is said as such; anything else is not there.
      if (err.status === 416 || err.status === 412) {
        for (const [name, value] of Object.entries(err.headers ?? {})) res.set(name, String(value));
        return void res.status(err.status).end();
      }
      notFound(res);
    });
  }
}
