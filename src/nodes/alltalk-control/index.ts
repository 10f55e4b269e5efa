/**
 * alltalk-control: lets a flow manage the server: stop (and clear the queue), refresh, load another
 * model, DeepSpeed, low VRAM and the OpenAI voice map. Model changes wait their turn in the queue
 * and every node of the server shows "loading model…" meanwhile.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { CancelSignal } from '../../api/cancellation';
import { AllTalkError, isAllTalkError } from '../../api/errors';
import type { CurrentSettings } from '../../api/types';
import { checkWritable, handleInput, messageView, nodeLifetime, safeText, writeOutput } from '../../runtime/input-handler';
import { LOADING_MODEL_TEXT, NodeBadge, STOPPING_TEXT } from '../../runtime/node-badge';
import { nodeLabel, type QueueOptions, queueTurn, readQueueOptions } from '../../runtime/queue-options';
import type { ServerConnection } from '../../runtime/server-connection';
import { stopServer } from '../../runtime/server-stop';
import { closeWorker, requireConnection, serverAudio, serverConnection, serverGroup } from '../../runtime/worker-node';
import { type ControlDialog, type ControlPlan, planCommand, resolveCommand } from './control-commands';

interface ControlDef extends NodeDef {
  server: string;
  command: string;
  model: string;
  deepspeed: string;
  lowvram: string;
  clearQueue: boolean | string;
  keepModel: boolean | string;
  alloy: string;
  echo: string;
  fable: string;
  nova: string;
  onyx: string;
  shimmer: string;
}

interface Outcome {
  response: unknown;
  /** Settings read after the command (null when that read failed: see settingsError). */
  settings: CurrentSettings | null;
  extra: Record<string, unknown>;
}

export = function register(RED: NodeAPI): void {
  function AllTalkControl(this: Node, def: ControlDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = serverConnection(RED, def.server);
    const group = serverGroup(RED, def.server);
    const audio = serverAudio(RED, def.server);
    const badge = new NodeBadge((s) => node.status(s), connection, LOADING_MODEL_TEXT);
    const lifetime = nodeLifetime();
    const keepModel = def.keepModel !== false && def.keepModel !== 'false';
    const dialog: ControlDialog = {
      command: def.command,
      model: def.model,
      deepspeed: def.deepspeed,
      lowvram: def.lowvram,
      clearQueue: def.clearQueue,
      voicemap: { alloy: def.alloy, echo: def.echo, fable: def.fable, nova: def.nova, onyx: def.onyx, shimmer: def.shimmer },
    };
    const who = `alltalk-control${def.name ? ` "${def.name}"` : ''}`;

    handleInput(node, async (msg, send) => {
      const received = Date.now();
      requireConnection(connection);
      const view = messageView(msg, ['topic', 'payload']);
      const command = resolveCommand(dialog.command, view.topic);
      const plan = planCommand(command, dialog, view.payload, { settings: connection.cache.settings, voices: connection.voices });
      checkWritable(msg, ['payload'], 'alltalk-control');
      const queue = readQueueOptions(msg);

      const outcome = await execute(plan, connection, queue);
      writeOutput(msg, { payload: { ok: true, command, response: outcome.response, settings: outcome.settings, ...outcome.extra } });
      badge.done(Date.now() - received);
      send(msg);
    }, (err) => badge.error(isAllTalkError(err) ? err.shortReason : safeText(err.message) || 'failed'));

    /** msg.priority places the queued commands (model changes); msg.alltalk.interrupt clears the queue before any command. */
    async function execute(plan: ControlPlan, c: ServerConnection, queue: QueueOptions): Promise<Outcome> {
      if (plan.command === 'stop') return stop(plan.clearQueue || queue.interrupt, c);
      // An interrupt clears every server its messages can run on; the command itself goes to its own.
      const turn = queueTurn(group ?? c, queue, nodeLabel(node));
      switch (plan.command) {
        case 'refresh': {
          const response = await c.refresh();
          return { response, settings: c.cache.settings ?? null, extra: {} };
        }
        case 'voicemap': {
          const response = await c.client.setOpenAiVoiceMap(plan.map, { voices: c.cache.voices });
          // Cached OpenAI speech was made with the old map: it goes.
          const cacheCleared = audio ? await audio.cache.clear() : undefined;
          return { response, ...(await freshSettings(c, { voicemap: plan.map, cacheCleared })) };
        }
        case 'clear-cache': {
          const response = audio ? await audio.cache.clear() : { entries: 0, bytes: 0 };
          return { response, ...(await freshSettings(c, {})) };
        }
        case 'load-model':
          return modelChange(c, turn, async (signal) => {
            const response = await c.client.reloadModel(plan.model, { signal, models: modelNames(c) });
            return { response, extra: {} };
          }, (settings) => {
            // Verified: the server must now report the model asked for.
            if (settings?.current_model_loaded !== plan.model) {
              throw new AllTalkError('rejected', `AllTalk at ${c.origin} answered model-success, but reports ` +
                `"${settings?.current_model_loaded ?? 'no model'}" loaded instead of "${plan.model}". Check AllTalk's console.`, { server: c.origin });
            }
          });
        case 'deepspeed':
        case 'lowvram': {
          const before = c.cache.settings?.current_model_loaded;
          return modelChange(c, turn, async (signal) => {
            const response = plan.command === 'deepspeed'
              ? await c.client.setDeepSpeed(plan.enabled, { signal })
              : await c.client.setLowVram(plan.enabled, { signal });
            const extra: Record<string, unknown> = {};
            // The server reloads its start-up model after the change: the model that was loaded comes back.
            if (keepModel && before) {
              const now = await c.settle(signal);
              if (now.current_model_loaded !== before) {
                await c.client.reloadModel(before, { signal, models: modelNames(c) });
                extra.modelRestored = { startupModel: now.current_model_loaded, reloaded: before };
              }
            }
            return { response, extra };
          });
        }
      }
    }

    /** A model change in the queue; the settings come from the re-read that follows it. */
    async function modelChange(
      c: ServerConnection,
      turn: { priority: number; first: boolean },
      work: (signal: CancelSignal) => Promise<{ response: unknown; extra: Record<string, unknown> }>,
      verify?: (settings: CurrentSettings | undefined) => void,
    ): Promise<Outcome> {
      const job = badge.job();
      try {
        const { response, extra } = await c.changeModel(work, { signal: lifetime, onPosition: (p) => job.onPosition(p), ...turn });
        verify?.(c.cache.settings);
        return { response, settings: c.cache.settings ?? null, extra };
      } finally {
        job.finish();
      }
    }

    /**
     * Ends every stream on the server at once (the real server does not stop a stream its client
     * keeps reading), cancels the queue when asked, and sends the server's own stop.
     */
    async function stop(clearQueue: boolean, c: ServerConnection): Promise<Outcome> {
      badge.set({ fill: 'yellow', shape: 'dot', text: STOPPING_TEXT });
      const stopOne = (on: ServerConnection) => stopServer(on, {
        clearQueue,
        reason: new AllTalkError('aborted', `Cancelled by ${who} stop: the queue of AllTalk at ${on.origin} was cleared.`, { server: on.origin }),
      });
      const { streamsStopped, cancelled, server } = stopOne(c);
      // Every server its messages can run on: its fallbacks too (each once).
      const others = (group?.members() ?? []).filter((m) => m.connection !== c).map((m) => ({ ref: m.ref, outcome: stopOne(m.connection) }));
      // Ours is done: a server that is busy (a generation it cannot stop) or gone only misses its own stop.
      const { response, serverError } = await server;
      const extra: Record<string, unknown> = { streamsStopped, cancelled };
      if (serverError !== undefined) extra.serverError = serverError;
      if (others.length) {
        extra.fallbacks = await Promise.all(others.map(async ({ ref, outcome }) => {
          const reply = await outcome.server.catch((err: Error) => ({ response: null, serverError: err.message }));
          return { server: ref, streamsStopped: outcome.streamsStopped, cancelled: outcome.cancelled,
            ...(reply.serverError !== undefined ? { serverError: reply.serverError } : {}) };
        }));
      }
      return { response, ...(await freshSettings(c, extra)) };
    }

    closeWorker(node, lifetime, badge);
  }

  RED.nodes.registerType('alltalk-control', AllTalkControl as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

function modelNames(c: ServerConnection): string[] {
  return (c.cache.settings?.models_available ?? []).map((m) => m.name);
}

/** A fresh /api/currentsettings read after a command; its failure does not undo the command (it is told in settingsError). */
async function freshSettings(c: ServerConnection, extra: Record<string, unknown>): Promise<{ settings: CurrentSettings | null; extra: Record<string, unknown> }> {
  try {
    return { settings: await c.client.currentSettings({ retries: 0 }), extra };
  } catch (err) {
    return { settings: null, extra: { ...extra, settingsError: (err as Error).message } };
  }
}
