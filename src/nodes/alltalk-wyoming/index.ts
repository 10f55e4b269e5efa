/**
 * alltalk-wyoming: a Wyoming text-to-speech server in Node-RED, so Home Assistant Assist speaks with
 * every AllTalk voice and language, through the server configuration's cache and queue. No input;
 * one output message per finished request (for logs and automations). The port is retried every
 * 10 s while another program holds it; a redeploy frees it and every connection at once.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AllTalkError } from '../../api/errors';
import { DEFAULT_MAX_CHARACTERS } from '../../api/rules';
import { packageVersion } from '../../api/version';
import { type Badge, listeningText, NodeBadge, portInUseText, shortText, speakingText } from '../../runtime/node-badge';
import { wholeNumber } from '../../runtime/node-properties';
import { type RequestReport, WyomingSession } from '../../runtime/wyoming-session';
import { ATTRIBUTION, wyomingVoices } from '../../runtime/wyoming-voices';
import { serverAudio, serverConnection, serverGroup } from '../../runtime/worker-node';
import type { ServerGroup } from '../../runtime/server-group';
import { routeOf } from '../../runtime/route-facts';
import { infoEvent } from '../../wyoming/events';
import type { WyomingEvent } from '../../wyoming/framing';
import { WyomingServer } from '../../wyoming/server';
import { type Advertised, advertise } from '../../wyoming/zeroconf';

interface WyomingDef extends NodeDef {
  server: string;
  host?: string;
  port?: string | number;
  zeroconf?: boolean | string;
  serviceName?: string;
  voice?: string;
  language?: string;
  priority?: string | number;
  cache?: boolean | string;
  streaming?: boolean | string;
}

/** A port another program holds is tried again this often. */
const RETRY_MS = 10_000;
/** A request's text in all (a long one is split at sentences and spoken in order). */
const MAX_TOTAL_CHARACTERS = 20_000;
/** Closing never waits longer than this for the zeroconf goodbye. */
const CLOSE_WAIT_MS = 700;

const flag = (v: unknown, fallback: boolean) => (v === undefined || v === '' ? fallback : v === true || v === 'true');

export = function register(RED: NodeAPI): void {
  function AllTalkWyoming(this: Node, def: WyomingDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const audio = serverAudio(RED, def.server);
    const host = (def.host ?? '').trim() || '0.0.0.0';
    const port = wholeNumber(def.port, 10200);
    const serviceName = (def.serviceName ?? '').trim() || 'AllTalk';
    const streaming = flag(def.streaming, true);
    const priority = Number.isFinite(Number(def.priority)) && String(def.priority ?? '').trim() !== '' ? Number(def.priority) : 5;
    // The badge follows the server's state through show(): a port problem stays on it until it is solved.
    const badge = new NodeBadge((s) => node.status(s), connection, undefined, false);
    const sessions = new Set<WyomingSession>();
    let server: WyomingServer | undefined;
    let advertised: Advertised | undefined;
    let retry: NodeJS.Timeout | undefined;
    let closing = false;
    let speaking = 0;
    let served = 0;
    let failed = 0;
    let address = `${host}:${port}`;
    /** Why it cannot listen now (the port is taken…), shown until it listens. */
    let portProblem: Badge | undefined;

    if (!connection) return void node.status({ fill: 'red', shape: 'ring', text: 'no server configured' });
    const conn = connection;

    /** The badge: speaking now, else where it listens (its colour follows the AllTalk server's state). */
    function show(): void {
      if (closing) return;
      if (!server) return portProblem ? badge.set(portProblem) : undefined;
      if (speaking > 0) return badge.set({ fill: 'blue', shape: 'dot', text: speakingText(speaking) });
      const state = conn.state.state;
      const fill = state === 'ready' ? 'green' : state === 'offline' ? 'red' : state === 'connecting' ? 'yellow' : 'blue';
      badge.set({ fill, shape: state === 'ready' ? 'dot' : 'ring', text: listeningText(address, served, failed) });
    }
    conn.on('state', show);

    let info: { at: number; event: WyomingEvent } | undefined;
    /** `info`, from what the server configuration last read: never waiting on AllTalk. */
    function describe(): WyomingEvent {
      const cache = conn.cache;
      if (info && info.at === cache.updatedAt) return info.event;
      const installed = cache.updatedAt > 0 && cache.settings !== undefined;
      const version = packageVersion();
      const s = cache.settings;
      const event = infoEvent([{
        name: serviceName,
        attribution: ATTRIBUTION,
        installed,
        description: installed ? `AllTalk (${s?.current_engine_loaded ?? 'engine'}${s?.current_model_loaded ? `, ${s.current_model_loaded}` : ''}) through Node-RED`
          : 'AllTalk through Node-RED (the AllTalk server has not been reached yet)',
        version,
        voices: installed ? wyomingVoices({ settings: s, voices: conn.voices }, version) : [],
        supports_synthesize_streaming: streaming,
      }]);
      info = { at: cache.updatedAt, event };
      return event;
    }

    function report(r: RequestReport): void {
      if (r.error) failed++;
      else served++;
      show();
      const msg: Record<string, unknown> = {
        payload: r.payload, voice: r.voice, language: r.language, cached: r.cached, firstAudioMs: r.firstAudioMs,
        durationMs: r.durationMs, client: r.client, streaming: r.streaming,
      };
      if (r.error) msg.error = { message: r.error.message, code: r.error.code };
      msg.alltalk = routeOf(r.route ?? { server: settings.group.own.ref, rerouted: false });
      node.send(msg);
    }

    const settings = {
      group: serverGroup(RED, def.server) as ServerGroup, audio, priority, cache: flag(def.cache, true), warn: (t: string) => node.warn(t),
      voice: (def.voice ?? '').trim(), language: (def.language ?? '').trim() || 'auto',
      maxCharacters: DEFAULT_MAX_CHARACTERS, maxTotal: MAX_TOTAL_CHARACTERS,
    };

    // alltalk-control's stop and an interrupt end what the connections are speaking.
    const unregister = conn.addStreamStopper((reason) => {
      let n = 0;
      for (const s of sessions) if (s.stop(reason ?? new AllTalkError('aborted', 'Stopped (alltalk-control stop).'))) n++;
      return n;
    });

    async function start(): Promise<void> {
      retry = undefined;
      const candidate = new WyomingServer({
        host, port,
        handler: (c) => {
          const session = new WyomingSession(c, settings, {
            info: describe,
            source: () => ({ settings: conn.cache.settings, voices: conn.voices }),
            busy: (d) => {
              speaking += d;
              show();
            },
            report,
          });
          sessions.add(session);
          return {
            event: (e) => session.event(e),
            closed: () => {
              sessions.delete(session);
              session.closed();
            },
          };
        },
      });
      candidate.on('problem', (err: Error) => node.warn(`Wyoming server: ${err.message}`));
      try {
        await candidate.listen();
      } catch (err) {
        if (closing) return;
        const code = (err as { code?: string }).code;
        const why = code === 'EADDRINUSE' ? portInUseText(port) : shortText(`error: ${(err as Error).message}`);
        portProblem = { fill: 'red', shape: 'ring', text: why };
        badge.set(portProblem);
        node.warn(code === 'EADDRINUSE' ? `Port ${port} is in use by another program: trying again every ${RETRY_MS / 1000} s.`
          : `The Wyoming server cannot listen on ${host}:${port}: ${(err as Error).message}. Trying again every ${RETRY_MS / 1000} s.`);
        retry = setTimeout(() => void start(), RETRY_MS);
        return;
      }
      if (closing) return void candidate.close();
      server = candidate;
      portProblem = undefined;
      const a = candidate.address;
      address = a ? `${a.address}:${a.port}` : address;
      node.log(`Wyoming server listening on ${address}`);
      show();
      if (flag(def.zeroconf, true)) {
        advertise({ name: serviceName, port: a?.port ?? port, host, onNote: (t) => node.warn(t) }).then((ad) => {
          if (closing) return void ad.end().catch(() => undefined);
          advertised = ad;
          node.log(`Advertised on the network (zeroconf) as "${ad.name}" (_wyoming._tcp)`);
        }, (err: Error) => node.warn(`Zeroconf: the server could not be advertised (${err.message}); add it in Home Assistant by host and port.`));
      }
    }
    void start();

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      if (retry) clearTimeout(retry);
      conn.off('state', show);
      unregister();
      badge.close();
      const stopped = [server?.close(), advertised?.end().catch(() => undefined)];
      server = undefined;
      const waited = new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      Promise.race([Promise.all(stopped), waited]).then(() => done(), () => done());
    });
  }

  RED.nodes.registerType('alltalk-wyoming', AllTalkWyoming as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
