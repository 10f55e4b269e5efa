/**
 * One Wyoming client connection of alltalk-wyoming: `describe` → `info`, `ping` → `pong`,
 * `synthesize` → one audio group (a long text split at sentences, spoken in order), and the streaming
 * sequence Home Assistant sends for LLM answers — `synthesize-start`, `synthesize-chunk`s, the whole
 * `synthesize` again (ignored while streaming), `synthesize-stop` — → one audio group per sentence as
 * soon as it is complete, all in one format, then `synthesize-stopped`. Streaming events are taken
 * whether streaming is advertised or not. Unknown events are ignored; a request that fails gets an
 * `error` event naming the cause and the connection is closed. Requests on one connection run in
 * order; a client that hangs up cancels its work.
 */
import { Cancellation } from '../api/cancellation';
import { AllTalkError, isAllTalkError } from '../api/errors';
import { AudioOut } from '../wyoming/audio-out';
import { EVENT, requestedVoice, textOf, type AudioFormat } from '../wyoming/events';
import type { WyomingEvent } from '../wyoming/framing';
import { SentenceSplitter } from '../wyoming/sentences';
import type { ConnectionHandler, WyomingConnection } from '../wyoming/server';
import { splitText } from './text-splitter';
import type { RouteFacts } from './route-facts';
import { speak, type SpeechSettings } from './wyoming-speech';
import { resolveVoice, type VoiceChoice, type VoiceSource } from './wyoming-voices';

export interface SessionSettings extends SpeechSettings {
  /** The node's voice ('' = the server's first) and language (used when a request names none). */
  voice: string;
  language: string;
  /** The server's text limit: longer text is split at sentences. */
  maxCharacters: number;
  /** The longest text one request may have in all. */
  maxTotal: number;
}

/** What the node's output says of one finished request. */
export interface RequestReport {
  payload: string;
  voice?: string;
  language?: string;
  cached: boolean;
  firstAudioMs?: number;
  durationMs: number;
  client: string;
  streaming: boolean;
  error?: AllTalkError;
  /** Where it ran last (a fallback, while the node's server was down); absent: its own server. */
  route?: RouteFacts;
}

export interface SessionHooks {
  /** The `info` event, from what the server configuration last read (never waiting on AllTalk). */
  info(): WyomingEvent;
  /** The voices and settings as the server configuration last read them. */
  source(): VoiceSource;
  /** A request began (+1) or ended (-1). */
  busy(delta: number): void;
  report(report: RequestReport): void;
}

interface Stream {
  route?: RouteFacts;
  choice: VoiceChoice;
  splitter: SentenceSplitter;
  text: string;
  format?: AudioFormat;
  cached: boolean;
  firstAudioAt?: number;
  startedAt: number;
}

export class WyomingSession implements ConnectionHandler {
  private chain: Promise<void> = Promise.resolve();
  private stream: Stream | undefined;
  private failed = false;
  /** The stream's end is on its way (synthesize-stop came, or the client left). */
  private stopping = false;
  /** The work of this connection: aborted when the client hangs up. */
  private readonly lifetime = new Cancellation();
  /** The request speaking now, which a stop ends. */
  private current: Cancellation | undefined;

  constructor(
    private readonly conn: WyomingConnection,
    private readonly settings: SessionSettings,
    private readonly hooks: SessionHooks,
  ) {}

  event(event: WyomingEvent): void {
    switch (event.type) {
      case EVENT.describe:
        void this.conn.send(this.hooks.info());
        return;
      case EVENT.ping:
        void this.conn.send({ type: EVENT.pong, data: typeof event.data.text === 'string' ? { text: event.data.text } : {} });
        return;
      case EVENT.synthesize:
        // Sent again at the end of a stream, for servers that do not stream: ignored then.
        if (!this.stream) this.enqueue(() => this.oneShot(event.data));
        return;
      case EVENT.synthesizeStart:
        if (!this.stream) this.startStream(event.data);
        return;
      case EVENT.synthesizeChunk:
        if (this.stream && !this.stopping) this.addText(textOf(event.data) ?? '');
        return;
      case EVENT.synthesizeStop:
        if (this.stream) this.stopStream();
        return;
      default:
        // Unknown events are ignored, as the protocol asks.
    }
  }

  closed(): void {
    const reason = new AllTalkError('aborted', `The Wyoming client ${this.conn.remote} closed the connection.`);
    this.lifetime.abort(reason);
    this.lastError ??= reason;
    this.failed = true;
    // A stream the client left before its end: reported once what it was doing has stopped.
    const stream = this.stream;
    if (stream && !this.stopping) {
      this.stopping = true;
      this.chain = this.chain.catch(() => undefined).then(() => {
        this.stream = undefined;
        this.hooks.busy(-1);
        this.hooks.report({ payload: stream.text, ...stream.choice, cached: stream.cached, durationMs: Date.now() - stream.startedAt,
          client: this.conn.remote, streaming: true, error: this.lastError });
      });
    }
  }

  /** Ends what this connection is speaking now (a stop); returns whether it was speaking. */
  stop(reason: Error): boolean {
    if (!this.current || this.current.aborted) return false;
    this.current.abort(reason);
    return true;
  }

  private enqueue(work: () => Promise<void>): void {
    const release = this.conn.hold();
    this.chain = this.chain.then(() => (this.failed || this.conn.closed ? undefined : work())).catch(() => undefined).finally(release);
  }

  /** `synthesize` outside a stream: one audio group for the whole text. */
  private async oneShot(data: Record<string, unknown>): Promise<void> {
    const startedAt = Date.now();
    const text = textOf(data);
    const report: RequestReport = { payload: text ?? '', cached: true, durationMs: 0, client: this.conn.remote, streaming: false };
    this.hooks.busy(1);
    try {
      if (text === undefined) throw new AllTalkError('validation', 'A synthesize event came without text.', { field: 'text' });
      const choice = resolveVoice(this.hooks.source(), requestedVoice(data), this.settings);
      Object.assign(report, choice);
      const out = new AudioOut((e) => this.conn.send(e));
      for (const part of this.parts(text)) report.cached = (await this.say(part, choice, out, report)) && report.cached;
      await out.end();
      report.firstAudioMs = out.firstChunkAt === undefined ? undefined : out.firstChunkAt - startedAt;
    } catch (err) {
      report.error = this.fail(err);
    } finally {
      this.hooks.busy(-1);
      report.durationMs = Date.now() - startedAt;
      this.hooks.report(report);
    }
  }

  private startStream(data: Record<string, unknown>): void {
    let choice: VoiceChoice;
    try {
      choice = resolveVoice(this.hooks.source(), requestedVoice(data), this.settings);
    } catch (err) {
      const error = this.fail(err);
      this.hooks.report({ payload: '', cached: false, durationMs: 0, client: this.conn.remote, streaming: true, error });
      return;
    }
    this.stream = { choice, splitter: new SentenceSplitter(), text: '', cached: true, startedAt: Date.now() };
    this.stopping = false;
    this.hooks.busy(1);
  }

  private addText(text: string): void {
    const stream = this.stream as Stream;
    stream.text += text;
    if (stream.text.length > this.settings.maxTotal) {
      this.enqueue(async () => {
        throw this.fail(new AllTalkError('validation', `The streamed text is over ${this.settings.maxTotal} characters in all.`, { field: 'text' }));
      });
      return;
    }
    for (const sentence of stream.splitter.add(text)) this.enqueue(() => this.group(sentence));
  }

  private stopStream(): void {
    if (this.stopping) return;
    this.stopping = true;
    const stream = this.stream as Stream;
    const rest = stream.splitter.finish();
    if (rest) this.enqueue(() => this.group(rest));
    const release = this.conn.hold();
    this.chain = this.chain.catch(() => undefined).then(async () => {
      this.stream = undefined;
      this.stopping = false;
      const report: RequestReport = { payload: stream.text, ...stream.choice, cached: stream.cached, durationMs: 0, client: this.conn.remote, streaming: true, route: stream.route };
      if (!this.failed) {
        try {
          await this.conn.send({ type: EVENT.synthesizeStopped, data: {} });
        } catch (err) {
          report.error = this.fail(err);
        }
      } else {
        report.error = this.lastError;
      }
      report.firstAudioMs = stream.firstAudioAt === undefined ? undefined : stream.firstAudioAt - stream.startedAt;
      report.durationMs = Date.now() - stream.startedAt;
      this.hooks.busy(-1);
      this.hooks.report(report);
    }).finally(release);
  }

  /** One sentence of a stream: its own audio group, in the stream's format. */
  private async group(sentence: string): Promise<void> {
    const stream = this.stream as Stream;
    try {
      const out = new AudioOut((e) => this.conn.send(e), stream.format);
      for (const part of this.parts(sentence)) stream.cached = (await this.say(part, stream.choice, out, stream)) && stream.cached;
      await out.end();
      stream.format ??= out.audioFormat;
      stream.firstAudioAt ??= out.firstChunkAt;
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  /** Speaks one part; resolves whether it came from the cache (`into` learns where it ran). */
  private async say(text: string, choice: VoiceChoice, out: AudioOut, into: { route?: RouteFacts }): Promise<boolean> {
    const cancel = new Cancellation();
    const unlink = cancel.follow(this.lifetime);
    this.current = cancel;
    try {
      const spoken = await speak(this.settings, text, choice, out, cancel);
      if (spoken.route) into.route = spoken.route;
      return spoken.cached;
    } finally {
      unlink();
      if (this.current === cancel) this.current = undefined;
    }
  }

  /** A text in parts the server accepts (at sentence ends), within the total limit. */
  private parts(text: string): string[] {
    const length = [...text].length;
    if (length > this.settings.maxTotal) {
      throw new AllTalkError('validation', `The text is ${length} characters long; this node speaks at most ${this.settings.maxTotal} in one request.`,
        { field: 'text' });
    }
    const trimmed = text.trim();
    if (!trimmed) return [];
    return length > this.settings.maxCharacters ? splitText(trimmed, this.settings.maxCharacters) : [trimmed];
  }

  private lastError: AllTalkError | undefined;

  /** Tells the client what failed (an error event) and closes the connection; once. */
  private fail(err: unknown): AllTalkError {
    const error = isAllTalkError(err) ? err : new AllTalkError('invalid-response', (err as Error)?.message ?? String(err));
    if (!this.failed) {
      this.failed = true;
      this.lastError = error;
      this.conn.close({ text: error.message, code: error.code });
    }
    return this.lastError ?? error;
  }
}
