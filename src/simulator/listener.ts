/**
 * The simulator's listening socket, which can stop and listen again on the same port: a real
 * AllTalk server refuses connections while it loads its model at start-up, and tests make it go
 * away and come back. Closing destroys every open connection; listening again after a delay
 * keeps trying for a while when someone else holds the port for a moment.
 */
import * as http from 'http';
import type { AddressInfo, Socket } from 'net';

/** What the listener tells the simulator it serves. */
export interface ListenerEvents {
  /** Listening (again); the port is known. */
  listening(): void;
  /** No longer listening. */
  refusing(): void;
  /** Listening again after a delay failed for good. */
  relistenFailed(err: Error): void;
}

export class Listener {
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private relistenTimer: NodeJS.Timeout | undefined;
  private listeningNow = false;
  private boundPort = 0;
  private shutDown = false;

  constructor(
    private readonly host: string,
    private readonly onRequest: http.RequestListener,
    private readonly events: ListenerEvents,
  ) {}

  /** Whether start() succeeded and shutdown() has not been called since. */
  get started(): boolean {
    return this.server !== undefined;
  }

  /** Whether connections are accepted right now. */
  get listening(): boolean {
    return this.listeningNow;
  }

  /** The port bound by the first listen (0 before it). */
  get port(): number {
    return this.boundPort;
  }

  /** Creates the HTTP server and listens on `port` (0: a free one). */
  async start(port: number): Promise<void> {
    this.shutDown = false;
    const server = http.createServer(this.onRequest);
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    try {
      await this.listen(port);
    } catch (err) {
      this.server = undefined;
      throw err;
    }
  }

  /** Closes the listener and forgets the server: nothing listens again until start(). */
  async shutdown(): Promise<void> {
    this.shutDown = true;
    this.cancelRelisten();
    await this.close();
    this.server = undefined;
  }

  listen(port: number): Promise<void> {
    const server = this.server;
    if (!server) return Promise.reject(new Error('the simulator is not started'));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        server.off('error', onError);
        this.boundPort = (server.address() as AddressInfo).port;
        this.listeningNow = true;
        this.events.listening();
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, this.host);
    });
  }

  /** Listens again on the same port after `ms` (replacing any earlier plan to). */
  relistenAfter(ms: number, attempt = 0): void {
    this.cancelRelisten();
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = undefined;
      if (this.shutDown || !this.server || this.listeningNow) return;
      this.listen(this.boundPort).catch((err: NodeJS.ErrnoException) => {
        // Someone else took the port for a moment: try again for a while.
        if (err.code === 'EADDRINUSE' && attempt < 100) this.relistenAfter(50, attempt + 1);
        else this.events.relistenFailed(err);
      });
    }, ms);
  }

  cancelRelisten(): void {
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    this.relistenTimer = undefined;
  }

  /** Destroys the open connections and stops listening (the server stays, to listen again). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (!this.listeningNow) return;
    this.listeningNow = false;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.events.refusing();
  }
}
