/** Reading an AllTalk server: what the connection caches, and waiting for it to be ready. */
import type { CancelSignal } from '../api/cancellation';
import type { AllTalkClient, CallOptions } from '../api/client';
import { AllTalkError, isAllTalkError } from '../api/errors';
import type { CurrentSettings } from '../api/types';

/**
 * Reads the settings and both voice lists. An engine without voices answers HTTP 200 with
 * status "error": that is "no voices", not a failure; an unreadable RVC list means RVC is off.
 */
export async function readServerData(
  client: AllTalkClient,
  opts: CallOptions,
): Promise<{ settings: CurrentSettings; voices: string[]; rvcVoices: string[] }> {
  const settings = await client.currentSettings(opts);
  const voices = await client.voices(opts).catch((err: unknown) => {
    if (isAllTalkError(err) && err.kind === 'rejected') return [];
    throw err;
  });
  const rvcVoices = await client.rvcVoices(opts).catch((err: unknown) => {
    if (isAllTalkError(err) && (err.kind === 'http' || err.kind === 'rejected')) return ['Disabled'];
    throw err;
  });
  return { settings, voices, rvcVoices };
}

/** Polls /api/ready until the server says Ready, for at most the generation timeout. */
export async function waitReady(client: AllTalkClient, signal: CancelSignal, pollIntervalMs: number): Promise<void> {
  const deadline = Date.now() + client.generationTimeoutMs;
  for (;;) {
    try {
      if ((await client.ready({ signal, retries: 0 })) === 'Ready') return;
    } catch (err) {
      if (!isAllTalkError(err) || (err.kind !== 'offline' && err.kind !== 'busy')) throw err;
    }
    if (Date.now() > deadline) {
      throw new AllTalkError('timeout', `AllTalk at ${client.origin} did not answer "Ready" within the generation timeout after the model change. ` +
        'It may still be loading: raise the generation timeout for large models.', { server: client.origin });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, pollIntervalMs);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    if (signal.aborted) throw new AllTalkError('aborted', `The wait for AllTalk at ${client.origin} to be ready was cancelled.`, { server: client.origin });
  }
}
