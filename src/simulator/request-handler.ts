/**
 * One HTTP request from arrival to reply, as the simulated server handles it: the path decoded as
 * uvicorn does, control requests under /__sim/ handed to the control API, every other request
 * recorded in the request log (with 'request' and 'response' events), then delayed by injected
 * latency, held while a blocking engine is busy, and answered by an injected fault or its route;
 * a route that throws gets a 500 (or a cut connection once its headers are out) and a
 * 'route-error' event.
 */
import type { EventEmitter } from 'events';
import type * as http from 'http';
import type { ControlApi } from './control';
import { now } from './engine';
import { sendFaultReply, type FaultPlan } from './faults';
import { sendInternalServerError, sendNotFound } from './replies';
import { parseBody, queryForLog, readBody } from './request-body';
import type { Exchange, RecordedRequest, SimulatorHost } from './route-context';
import { dispatch } from './router';

export class RequestHandler {
  /** Every request received (control requests excluded), in arrival order. */
  readonly log: RecordedRequest[] = [];
  private nextRequestId = 1;

  constructor(
    private readonly host: SimulatorHost,
    private readonly faults: FaultPlan,
    private readonly control: ControlApi,
    private readonly events: EventEmitter,
  ) {}

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const receivedAt = now();
    res.setHeader('server', 'uvicorn');
    // Like uvicorn: the path is percent-decoded but dot segments are not resolved.
    const target = req.url ?? '/';
    const queryStart = target.indexOf('?');
    const rawPath = queryStart >= 0 ? target.slice(0, queryStart) : target;
    const searchParams = new URLSearchParams(queryStart >= 0 ? target.slice(queryStart + 1) : '');
    if (!rawPath.startsWith('/')) {
      sendNotFound(res);
      return;
    }
    let routePath = rawPath;
    try {
      routePath = decodeURIComponent(rawPath);
    } catch {
      // keep the raw path
    }
    if (routePath === '/__sim' || routePath.startsWith('/__sim/')) {
      await this.control.handle(req, res, routePath);
      return;
    }
    let rawBody: Buffer;
    try {
      rawBody = await readBody(req);
    } catch {
      return;
    }
    const body = parseBody(req.headers['content-type'], rawBody);
    const record: RecordedRequest = {
      id: this.nextRequestId++,
      method: req.method ?? 'GET',
      path: routePath,
      query: queryForLog(searchParams),
      rawBody: rawBody.toString('utf8'),
      headers: { ...req.headers },
      receivedAt,
    };
    if (body.isForm) record.form = { ...body.form };
    if (body.jsonParsed) record.json = body.json;
    this.log.push(record);
    const finished = (): void => {
      if (record.finishedAt !== undefined) return;
      record.finishedAt = now();
      record.status = res.statusCode;
      this.events.emit('response', record);
    };
    res.once('finish', finished);
    res.once('close', finished);
    this.events.emit('request', record);

    const exchange: Exchange = {
      req,
      res,
      method: record.method,
      path: routePath,
      query: searchParams,
      rawBody,
      body,
      record,
    };
    try {
      const latency = this.faults.latencyFor(routePath);
      if (latency > 0) await this.host.sleep(latency);
      // Documented mode: /api/ready answers `Unloaded` during a model load instead of waiting.
      const readyWhileLoading =
        this.host.mode === 'documented' &&
        routePath === '/api/ready' &&
        record.method === 'GET' &&
        this.host.engine.loadingModel > 0;
      // A request whose client went away meanwhile is still handled, as on the real server.
      if (!readyWhileLoading) await this.host.engine.gate.pass();
      record.startedAt = now();
      const fault = this.faults.takeFailure(routePath);
      if (fault) {
        sendFaultReply(res, fault);
        return;
      }
      await dispatch(this.host, exchange);
    } catch (err) {
      this.events.emit('route-error', err instanceof Error ? err : new Error(String(err)));
      if (!res.headersSent) sendInternalServerError(res);
      else res.destroy();
    }
  }
}
