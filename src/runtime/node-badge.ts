/**
 * The status badge every alltalk node shows. The same words everywhere:
 * yellow ring "connecting", green dot "ready", blue ring "busy", blue ring "loading model…"
 * (a model, DeepSpeed or LowVRAM change), red ring "offline",
 * yellow ring "queued (n)", blue dot "generating…" (a stream: "streaming 3.4 s"), green dot
 * "done 1.8 s", yellow dot "stopped", red dot "error: <short reason>".
 *
 * A node's own activity (queued, generating, done, error) shows until the server's state
 * changes; then the server's state shows, so all badges of one server agree.
 *
 * The words are English on purpose and are a contract: Status nodes pass them on and flows
 * compare them. The editor shows them translated (resources/alltalk-editor.js matches these
 * exact forms against the alltalk-config catalogue), so every badge word is made here.
 */
import type { ServerConnection, StateInfo } from './server-connection';

export interface Badge {
  fill: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape: 'ring' | 'dot';
  text: string;
}

export type SetStatus = (badge: Badge | Record<string, never>) => void;

export function stateBadge(info: StateInfo): Badge {
  switch (info.state) {
    case 'ready':
      return { fill: 'green', shape: 'dot', text: 'ready' };
    case 'busy':
      return { fill: 'blue', shape: 'ring', text: 'busy' };
    case 'loading':
      return { fill: 'blue', shape: 'ring', text: LOADING_MODEL_TEXT };
    case 'offline':
      return { fill: 'red', shape: 'ring', text: 'offline' };
    default:
      return { fill: 'yellow', shape: 'ring', text: 'connecting' };
  }
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** The running words of a stream, a control node's model change, and a control node's stop. */
export const STREAMING_TEXT = 'streaming…';
export const LOADING_MODEL_TEXT = 'loading model…';
export const STOPPING_TEXT = 'stopping';
/** A stream URL handed out, waiting for its speaker to fetch it. */
export const WAITING_TEXT = 'waiting for a speaker';

/** A stream's progress: the audio received so far ("streaming 3.4 s"). */
export function streamingText(ms: number): string {
  return `streaming ${formatSeconds(ms)}`;
}

/**
 * alltalk-wyoming: where it listens, with the requests served and failed so far ("listening
 * 0.0.0.0:10200 · 12 served · 1 failed"), the requests it is speaking now ("speaking (2)"), and a
 * port another program holds ("port 10200 in use · retrying").
 */
export function listeningText(address: string, served: number, failed: number): string {
  if (served === 0 && failed === 0) return `listening ${address}`;
  return `listening ${address} · ${served} served${failed ? ` · ${failed} failed` : ''}`;
}

/** alltalk-stream without a voice in its dialog (streaming has no server default to fall back on). */
export const NO_VOICE_TEXT = 'no voice chosen';

export function speakingText(n: number): string {
  return `speaking (${n})`;
}

export function portInUseText(port: number): string {
  return `port ${port} in use · retrying`;
}

/** Badge texts stay short (the editor cuts long ones). */
export function shortText(text: string, max = 32): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** A badge changes at most this often: the last change always shows, the ones between may not. */
export const BADGE_INTERVAL_MS = 100;

export class NodeBadge {
  private running = 0;
  /** What was last shown, and what should show next (sent at the next allowed moment). */
  private shown: Badge | undefined;
  private wanted: Badge | (() => Badge | undefined) | undefined;
  private shownAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private waitingPositions = new Map<number, number>();
  private nextJob = 1;
  private readonly onState = (info: StateInfo) => this.set(stateBadge(info));

  constructor(
    private readonly setStatus: SetStatus,
    private readonly connection?: ServerConnection,
    /** The words shown while this node's work runs. */
    private runningText = 'generating…',
    /** false: the node shows the server's state changes itself (the badge only starts with it). */
    followState = true,
  ) {
    if (connection) {
      if (followState) connection.on('state', this.onState);
      this.set(stateBadge(connection.state));
    } else {
      this.set({ fill: 'red', shape: 'ring', text: 'no server configured' });
    }
  }

  /** Tracks one job of this node through the queue; call the returned functions as it moves. */
  job(): { onPosition: (position: number) => void; finish: () => void } {
    const id = this.nextJob++;
    let started = false;
    return {
      onPosition: (position) => {
        if (position === 0) {
          this.waitingPositions.delete(id);
          if (!started) {
            started = true;
            this.running++;
          }
        } else {
          this.waitingPositions.set(id, position);
        }
        this.showActivity();
      },
      finish: () => {
        this.waitingPositions.delete(id);
        if (started) this.running--;
        started = false;
      },
    };
  }

  /** Shows what this node is doing; the badge is worked out when it is sent, not on every move. */
  private showActivity(): void {
    this.set(this.activityBadge);
  }

  private readonly activityBadge = (): Badge | undefined => {
    if (this.running > 0) return { fill: 'blue', shape: 'dot', text: this.runningText };
    if (this.waitingPositions.size === 0) return undefined;
    let first = Infinity;
    for (const p of this.waitingPositions.values()) if (p < first) first = p;
    return { fill: 'yellow', shape: 'ring', text: `queued (${first})` };
  };

  get busy(): boolean {
    return this.running > 0 || this.waitingPositions.size > 0;
  }

  done(ms: number, detail?: string): void {
    if (this.busy) return this.showActivity();
    // Worded when it is sent: in a burst, most are replaced before they show.
    this.set(() => ({ fill: 'green', shape: 'dot', text: `done ${formatSeconds(ms)}${detail ? ` ${detail}` : ''}` }));
  }

  /** New words for the running work ("streaming 3.4 s"); shown within the badge interval. */
  progress(text: string): void {
    this.runningText = text;
    if (this.running > 0) this.showActivity();
  }

  /** The work was stopped on request (not an error). */
  stopped(): void {
    if (this.busy) return this.showActivity();
    this.set({ fill: 'yellow', shape: 'dot', text: 'stopped' });
  }

  error(reason: string): void {
    this.set({ fill: 'red', shape: 'dot', text: shortText(`error: ${reason}`) });
  }

  /**
   * Shows `badge`: at once when the last change is older than BADGE_INTERVAL_MS, else at the end
   * of the interval (the latest badge wins). The same badge twice is sent once. A burst of
   * messages, each moving every waiting one up the queue, would otherwise send thousands of
   * status updates a second to every open editor.
   */
  set(badge: Badge | (() => Badge | undefined)): void {
    if (this.closed) return;
    this.wanted = badge;
    if (this.timer) return;
    const wait = this.shownAt + BADGE_INTERVAL_MS - performance.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = undefined;
    const wanted = this.wanted;
    this.wanted = undefined;
    const b = typeof wanted === 'function' ? wanted() : wanted;
    if (!b || this.closed) return;
    const s = this.shown;
    if (s && s.fill === b.fill && s.shape === b.shape && s.text === b.text) return;
    this.shown = b;
    this.shownAt = performance.now();
    this.setStatus(b);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.connection?.off('state', this.onState);
    this.setStatus({});
  }
}
