/**
 * alltalk-config: one AllTalk server. Owns the ServerConnection (client, start-up procedure,
 * state machine, cache, health check, generation queue), its audio cache and speaker URLs, and its
 * place among servers (fallbacks, shared load, stand-in voice: the ServerMember and ServerGroup the
 * worker nodes route their messages with). Registers the admin routes the editor uses.
 */
import type { NodeAPI } from 'node-red';
import { packageVersion } from '../../api/version';
import { ServerConnection, type ServerConnectionOptions, type StateInfo } from '../../runtime/server-connection';
import { ServerGroup } from '../../runtime/server-group';
import { ServerMember } from '../../runtime/server-member';
import { type AllTalkConfigDef, type AllTalkConfigNode, clientOptions, num, routingSettings } from './config-options';
import { createAudioService } from './audio-setup';
import { registerAudioRoutes } from './audio-routes';
import { registerAdminRoutes } from './admin-routes';

export = function register(RED: NodeAPI): void {
  function AllTalkConfig(this: AllTalkConfigNode, def: AllTalkConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const options: ServerConnectionOptions = {
      ...clientOptions(RED, def, node.credentials ?? {}),
      concurrency: num(def.concurrency, 1, 1, 64),
      // Room beyond the generations for status calls, which never wait in the queue.
      connections: num(def.concurrency, 1, 1, 64) + 4,
      queueLimit: num(def.queueLimit, 50, 0),
      healthIntervalMs: num(def.healthInterval, 30, 0) * 1000,
    };
    let connection: ServerConnection;
    try {
      connection = new ServerConnection(options);
    } catch (err) {
      // A bad host, port or proxy header: worker nodes show offline with the reason; nothing is polled.
      const reason = `The AllTalk server configuration is invalid: ${(err as Error).message}`;
      node.error(reason);
      // Without the credentials it may be valid (a bad header name, say): it then shows its own address.
      try {
        connection = new ServerConnection({ ...options, headers: {}, basicAuth: undefined });
      } catch {
        connection = new ServerConnection({ host: '127.0.0.1', port: 7851 });
      }
      connection.disable(reason);
    }
    node.server = { protocol: options.protocol, host: options.host, port: options.port };
    node.connection = connection;
    const { audio, removable, temporary, release } = createAudioService(RED, node.id, def);
    node.audio = audio;
    if (audio.problem) node.error(audio.problem);
    void audio.cache.ready.then(() => {
      if (audio.cache.failure) node.warn(`The audio cache is off: ${audio.cache.failure}`);
    });

    // Its place among servers: messages of its nodes may run on its fallbacks (resolved per message).
    const member = new ServerMember(connection, routingSettings(node.id, def, connection.origin), audio);
    node.member = member;
    node.group = new ServerGroup(member, (id) => {
      const n = RED.nodes.getNode(id) as AllTalkConfigNode | null;
      return n && n.type === 'alltalk-config' ? n.member : undefined;
    });
    // A fallback that does not exist is a warning, not a crash (all configurations exist once the flows started).
    const check = setImmediate(() => {
      for (const id of member.settings.fallbacks) {
        const n = RED.nodes.getNode(id) as AllTalkConfigNode | null;
        if (!n || n.type !== 'alltalk-config') node.warn(`The fallback server "${id}" does not exist (it was deleted?): it is left out.`);
      }
    });

    let lastLogged: string | undefined;
    connection.on('state', (info: StateInfo) => {
      // The reason goes to the log once per change, not on every poll.
      const line = `${info.state}${info.reason ? `: ${info.reason}` : ''}`;
      if (line === lastLogged) return;
      lastLogged = line;
      if (info.state === 'offline') node.warn(`AllTalk at ${connection.origin} is offline: ${info.reason ?? 'no answer'}`);
      else node.log(`AllTalk at ${connection.origin} is ${line}`);
    });
    connection.start();

    node.on('close', (removed: boolean, done: () => void) => {
      // A deleted configuration takes its own cached audio with it (never a folder chosen in the
      // dialog, which others may share); a redeployed one keeps it.
      release();
      clearImmediate(check);
      member.close();
      Promise.all([connection.close(), audio.close((removed && removable) || temporary)]).then(() => done(), () => done());
    });
  }

  RED.nodes.registerType('alltalk-config', AllTalkConfig as unknown as Parameters<NodeAPI['nodes']['registerType']>[1], {
    credentials: {
      apiKey: { type: 'password' },
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });

  registerAdminRoutes(RED);
  registerAudioRoutes(RED, (id) => {
    const n = RED.nodes.getNode(id) as AllTalkConfigNode | null;
    return n && n.type === 'alltalk-config' ? n.audio : undefined;
  });
  RED.log.info(`node-red-contrib-alltalk ${packageVersion()}`);
};

