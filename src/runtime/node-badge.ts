/**
 * The status badge every alltalk node shows. The same words everywhere:
 * yellow ring "connecting", green dot "ready", blue ring "busy", red ring "offline",
 * yellow ring "queued (n)", blue dot "generating…", green dot "done 1.8 s",
 * red dot "error: <short reason>".
 *
 * A node's own activity (queued, generating, done, error) shows until the server's state
 * changes; then the server's state shows, so all badges of one server agree.
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
    case 'offline':
      return { fill: 'red', shape: 'ring', text: 'offline' };
    default:
      return { fill: 'yellow', shape: 'ring', text: 'connecting' };
  }
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Badge texts stay short (the editor cuts long ones). */
export function shortText(text: string, max = 32): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

export class NodeBadge {
  private running = 0;
  private waitingPositions = new Map<number, number>();
  private nextJob = 1;
  private readonly onState = (info: StateInfo) => this.set(stateBadge(info));

  constructor(
    private readonly setStatus: SetStatus,
    private readonly connection?: ServerConnection,
  ) {
    if (connection) {
      connection.on('state', this.onState);
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

  private showActivity(): void {
    if (this.running > 0) {
      this.set({ fill: 'blue', shape: 'dot', text: 'generating…' });
    } else if (this.waitingPositions.size > 0) {
      this.set({ fill: 'yellow', shape: 'ring', text: `queued (${Math.min(...this.waitingPositions.values())})` });
    }
  }

  get busy(): boolean {
    return this.running > 0 || this.waitingPositions.size > 0;
  }

  done(ms: number, detail?: string): void {
    if (this.busy) return this.showActivity();
    this.set({ fill: 'green', shape: 'dot', text: `done ${formatSeconds(ms)}${detail ? ` ${detail}` : ''}` });
  }

  error(reason: string): void {
    this.set({ fill: 'red', shape: 'dot', text: shortText(`error: ${reason}`) });
  }

  set(badge: Badge): void {
    this.setStatus(badge);
  }

  /** Shows the server's current state again. */
  showState(): void {
    if (this.connection) this.set(stateBadge(this.connection.state));
  }

  close(): void {
    this.connection?.off('state', this.onState);
    this.setStatus({});
  }
}
