/**
 * The routes Node-RED serves speakers from (on its HTTP-node server, below httpNodeRoot, without
 * the editor's login: speakers cannot log in): GET/HEAD /alltalk-audio/<config id>/<name>.
 * - <entry id>.<ext>: a cached audio file, with its content type and length, HTTP range requests
 *   (speakers seek) and conditional requests;
 * - live-<token>.wav: a stream that starts now and is passed on as it arrives (once).
 * Anything else is 404: only audio this package generated, only by its unguessable name, never a
 * listing or a path of the request's choosing.
 */
import type { NodeAPI } from 'node-red';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheEntry } from '../../runtime/audio-cache';
import { AUDIO_ROUTE, type AudioService, ENTRY_NAME, LIVE_NAME } from '../../runtime/audio-service';

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
        res.writeHead(200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store', 'Accept-Ranges': 'none' }).end();
        return;
      }
      const stream = service.takeLive(live[1]);
      if (!stream) return notFound(res);
      return stream.start(req, res);
    }
    const m = ENTRY_NAME.exec(name);
    if (!m) return notFound(res);
    service.cache.file(m[1]).then((found) => {
      if (!found || found.entry.ext !== m[2]) return notFound(res);
      serveFile(found, res);
    }).catch(() => notFound(res));
  }

  /** A cached file, with validators of the entry, ranges and conditional requests. */
  function serveFile(found: { entry: CacheEntry; path: string }, res: ExpressResponse): void {
    const { entry } = found;
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
