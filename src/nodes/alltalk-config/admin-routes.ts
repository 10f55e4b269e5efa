/**
 * The admin HTTP routes of alltalk-config, for the editor: the rules, a deployed server's state and
 * voices (with its fallbacks' states), its audio cache, refresh, a probe of a server typed in a dialog
 * (not deployed yet), and a voice preview. Guarded by Node-RED's permissions (read / write).
 */
import type { NodeAPI } from 'node-red';
import { AllTalkClient } from '../../api/client';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import { rulesForEditor } from '../../api/rules';
import { isPlaceholderVoice } from '../../api/validation';
import type { AudioService } from '../../runtime/audio-service';
import { readServerData, type ServerConnection } from '../../runtime/server-connection';
import type { ServerGroup } from '../../runtime/server-group';
import { type AllTalkConfigCredentials, type AllTalkConfigDef, type AllTalkConfigNode, clientOptions, HIDDEN_PASSWORD } from './config-options';
import { markNotAPage } from './audio-routes';

/** What the editor gets for a server: state, settings and voice lists (placeholders hidden), and its fallbacks' states. */
function describe(connection: ServerConnection, audio?: AudioService, group?: ServerGroup) {
  const { settings, rvcVoices, updatedAt } = connection.cache;
  return {
    fallbacks: group ? fallbackStates(group) : [],
    cache: audio ? { ...audio.cache.stats(), speakerUrls: audio.serving, speakerProblem: audio.problem } : undefined,
    origin: connection.origin,
    ...connection.state,
    settings: settings ?? null,
    voices: connection.voices,
    rvcVoices,
    updatedAt,
  };
}

export function registerAdminRoutes(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('alltalk-config.read');
  const write = RED.auth.needsPermission('alltalk-config.write');
  const configNode = (id: string): AllTalkConfigNode | undefined => {
    const n = RED.nodes.getNode(id) as AllTalkConfigNode | null;
    return n && n.type === 'alltalk-config' && n.connection ? n : undefined;
  };

  RED.httpAdmin.get('/alltalk/rules', read, (_req, res) => {
    res.json(rulesForEditor());
  });

  // The cached state, settings and voices of a deployed server. A server configuration that is not
  // deployed is an answer ({ deployed: false }), not a 404 the browser would log as an error.
  RED.httpAdmin.get('/alltalk/server/:id', read, (req, res) => {
    const n = configNode(String(req.params.id));
    if (!n) return void res.json({ deployed: false });
    res.json({ deployed: true, ...describe(n.connection, n.audio, n.group) });
  });

  // Empties the server's audio cache (the config dialog's button).
  RED.httpAdmin.post('/alltalk/server/:id/cache/clear', write, (req, res) => {
    const n = configNode(String(req.params.id));
    if (!n?.audio) return void res.json({ deployed: false });
    n.audio.cache.clear().then(
      (removed) => res.json({ deployed: true, removed, cache: n.audio.cache.stats() }),
      (err: unknown) => res.status(500).json({ error: (err as Error).message }),
    );
  });

  // Refresh: /api/reload_config on the server, then the cache is pulled again.
  RED.httpAdmin.post('/alltalk/server/:id/refresh', write, (req, res) => {
    const n = configNode(String(req.params.id));
    if (!n) return void res.json({ deployed: false });
    n.connection.refresh().then(
      () => res.json(describe(n.connection, n.audio, n.group)),
      (err: unknown) => res.status(502).json({ error: (err as Error).message, kind: isAllTalkError(err) ? err.kind : undefined }),
    );
  });

  // A client for the connection typed in a dialog that may not be deployed: protocol/host/port
  // and credentials come from the dialog; credentials of a deployed node are read here and never
  // sent back to the browser.
  /** Whether the dialog's address is the one the deployed node with the same id talks to. */
  function isDeployedServer(body: DialogServer): boolean {
    const deployed = body.id ? configNode(body.id) : undefined;
    if (!deployed?.server) return false;
    const probe = clientOptions(RED, body, {});
    return deployed.server.protocol === probe.protocol && deployed.server.host === probe.host && deployed.server.port === probe.port;
  }

  function dialogClient(body: DialogServer): AllTalkClient {
    if (!body.host) throw new AllTalkError('validation', 'No server address was sent, and no deployed server configuration has this id: choose a server.');
    const sent = body.credentials ?? {};
    // Stored credentials go only to the server they were stored for, never to another host.
    const stored = (isDeployedServer(body) && body.id ? (RED.nodes.getCredentials(body.id) as AllTalkConfigCredentials | undefined) : undefined) ?? {};
    const pick = (k: keyof AllTalkConfigCredentials) =>
      sent[k] !== undefined && sent[k] !== HIDDEN_PASSWORD ? sent[k] : stored[k];
    return new AllTalkClient({
      ...clientOptions(RED, body, { apiKey: pick('apiKey'), username: pick('username'), password: pick('password') }),
      retry: { retries: 0 },
    });
  }

  const failure = (err: unknown, origin?: string) =>
    ({ ok: false, origin, kind: isAllTalkError(err) ? err.kind : undefined, error: (err as Error).message });

  RED.httpAdmin.post('/alltalk/probe', write, (req, res) => {
    let client: AllTalkClient;
    try {
      client = dialogClient((req.body ?? {}) as DialogServer);
    } catch (err) {
      return void res.json(failure(err));
    }
    (async () => {
      const ready = await client.ready();
      const { settings, voices, rvcVoices } = await readServerData(client, {});
      return { ok: true, origin: client.origin, state: ready === 'Ready' ? 'ready' : 'unloaded', settings, voices: voices.filter((v) => !isPlaceholderVoice(v)), rvcVoices };
    })().then(
      (result) => res.json(result),
      (err: unknown) => res.json(failure(err, client.origin)),
    ).finally(() => void client.close());
  });

  // Preview a voice from a dialog: /api/previewvoice/ on the server, the audio handed back to the
  // browser to play. A deployed server (the same id, the same address) runs it through its queue.
  RED.httpAdmin.post('/alltalk/preview', write, (req, res) => {
    const body = (req.body ?? {}) as { server?: DialogServer; voice?: string; rvccharacter_voice_gen?: string; rvccharacter_pitch?: number };
    const server = body.server ?? {};
    const deployed = server.id && (!server.host || isDeployedServer(server)) ? configNode(server.id) : undefined;
    let client: AllTalkClient;
    try {
      client = deployed ? deployed.connection.client : dialogClient(server);
    } catch (err) {
      return void res.status(400).json(failure(err));
    }
    const params = { voice: String(body.voice ?? ''), rvccharacter_voice_gen: body.rvccharacter_voice_gen || undefined, rvccharacter_pitch: body.rvccharacter_pitch };
    const work = async () => {
      const preview = await client.previewVoice(params);
      return client.fetchAudio(preview.url);
    };
    (deployed && client === deployed.connection.client ? deployed.connection.runGeneration(() => work()) : work()).then(
      (audio) => {
        // The type is what the bytes are (fetchAudio refuses anything that is not audio), never the server's
        // header; and the editor's own origin never gets a page from it.
        markNotAPage(res, `preview.${audio.ext}`);
        res.set('content-type', audio.contentType);
        res.set('cache-control', 'no-store');
        res.send(audio.data);
      },
      (err: unknown) => res.status(isAllTalkError(err) && err.kind === 'validation' ? 400 : 502).json(failure(err)),
    ).finally(() => {
      if (!deployed || client !== deployed.connection.client) void client.close();
    });
  });
}

type DialogServer = Partial<AllTalkConfigDef> & { id?: string; credentials?: AllTalkConfigCredentials };

/** Each fallback (those that exist) with its name, address and whether routing takes it as up. */
export function fallbackStates(group: ServerGroup): { id: string; name: string; url: string; state: string; up: boolean; reason?: string }[] {
  return group.members().slice(1).map((m) => ({ ...m.ref, state: m.connection.state.state, up: m.up, reason: m.health.reason }));
}
