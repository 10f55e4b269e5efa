/**
 * alltalk-status: reports the server's state, engine, model, settings and voices, on every input
 * message and optionally on a schedule, or only when something changed.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { isAllTalkError } from '../../api/errors';
import { checkWritable, handleInput, readMessage, safeText, writeOutput } from '../../runtime/input-handler';
import { NodeBadge } from '../../runtime/node-badge';
import type { ServerConnection } from '../../runtime/server-connection';
import { requireConnection, serverConnection, serverGroup } from '../../runtime/worker-node';
import { type StatusPayload, statusPayload } from './status-payload';

interface StatusDef extends NodeDef {
  server: string;
  interval: string | number;
  onlyChanges: boolean;
}

/** What "something changed" means for report-by-exception. */
function fingerprint(p: StatusPayload): string {
  return JSON.stringify([p.state, p.engine, p.model, p.voices, p.fallbacks.map((f) => [f.id, f.up])]);
}

/** Offline and busy are states to report, not failures. */
function isStateError(err: unknown): boolean {
  return isAllTalkError(err) && (err.kind === 'offline' || err.kind === 'busy');
}

export = function register(RED: NodeAPI): void {
  function AllTalkStatus(this: Node, def: StatusDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const group = serverGroup(RED, def.server);
    const badge = new NodeBadge((s) => node.status(s), connection);
    const onlyChanges = def.onlyChanges === true || (def.onlyChanges as unknown) === 'true';
    const intervalSec = Number(def.interval);
    let last: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let pending: NodeJS.Immediate | undefined;
    let closed = false;

    /** Builds the report; returns undefined when nothing changed and only changes are reported. */
    function report(): StatusPayload | undefined {
      const payload = statusPayload(connection as ServerConnection, group);
      const fp = fingerprint(payload);
      if (onlyChanges && fp === last) return undefined;
      last = fp;
      return payload;
    }

    async function check(refresh: boolean): Promise<void> {
      const c = connection as ServerConnection;
      try {
        if (refresh) await c.refresh();
        else await c.checkNow();
      } catch (err) {
        if (!isStateError(err)) throw err;
        // The refresh could not reach the server: find out its state.
        if (refresh) await c.checkNow();
      }
    }

    handleInput(node, async (msg, send) => {
      requireConnection(connection);
      const refresh = readMessage(() => msg.topic === 'refresh');
      checkWritable(msg, ['payload'], 'alltalk-status');
      await check(refresh);
      const payload = report();
      if (!payload) return;
      writeOutput(msg, { payload });
      send(msg);
    }, (err) => badge.error(isAllTalkError(err) ? err.shortReason : safeText(err.message) || 'failed'));

    if (connection) {
      if (Number.isFinite(intervalSec) && intervalSec > 0) {
        // At least one second: a smaller interval would only flood the server and the flow.
        timer = setInterval(() => {
          const msg = { topic: 'status', payload: undefined as unknown, _msgid: RED.util.generateId() };
          check(false)
            .then(() => {
              if (closed) return;
              const payload = report();
              if (payload) {
                msg.payload = payload;
                node.send(msg);
              }
            })
            .catch((err: unknown) => {
              if (closed) return;
              badge.error(isAllTalkError(err) ? err.shortReason : safeText((err as Error)?.message) || 'failed');
              node.error(err, msg);
            });
        }, Math.max(1, intervalSec) * 1000);
      }
      if (onlyChanges) {
        // Report by exception also reports what the config node notices on its own.
        const onChange = () => {
          if (pending || closed) return;
          pending = setImmediate(() => {
            pending = undefined;
            if (closed) return;
            try {
              const payload = report();
              if (payload) node.send({ topic: 'status', payload, _msgid: RED.util.generateId() });
            } catch (err) {
              node.error(err);
            }
          });
        };
        connection.on('state', onChange);
        connection.on('cache', onChange);
        node.on('close', () => {
          connection.off('state', onChange);
          connection.off('cache', onChange);
        });
      }
    }

    node.on('close', () => {
      closed = true;
      if (timer) clearInterval(timer);
      if (pending) clearImmediate(pending);
      badge.close();
    });
  }

  RED.nodes.registerType('alltalk-status', AllTalkStatus as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
