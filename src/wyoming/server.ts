/**
 * A Wyoming server over TCP: connections, framing and their limits. Each connection gets a handler
 * for its events; the server keeps every connection bounded: at most `maxConnections` served at once
 * (a burst beyond it waits, as many again, up to `waitMs` for a free place; one more, or one still
 * waiting then, is told so with an error event and closed), a header line over 64 KB, a data block or payload
 * over 1 MB or a malformed event gets an error event and the connection is closed, and a connection
 * with no traffic and no work in progress for `idleMs` is closed. `close()` frees the port and every
 * connection at once. No Node-RED imports.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { DEFAULT_LIMITS, encodeEvent, EventReader, type FrameLimits, type WyomingEvent, WyomingProtocolError } from './framing';
import { errorEvent } from './events';

/** One client connection, as a handler sees it. */
export interface WyomingConnection {
  /** The client's address ("192.168.1.5"). */
  readonly remote: string;
  readonly closed: boolean;
  /** Sends an event; resolves once the socket takes more (backpressure), at once when closed. */
  send(event: WyomingEvent): Promise<void>;
  /** Sends what is queued, then closes (an error event first, when given). */
  close(error?: { text: string; code: string }): void;
  /** Keeps the connection from counting as idle until the returned function is called. */
  hold(): () => void;
}

/** What handles one connection's events, in the order they arrive. */
export interface ConnectionHandler {
  event(event: WyomingEvent): void;
  /** The connection is gone (the client left, it was closed, or the server stopped). */
  closed(): void;
}

export interface WyomingServerOptions {
  host: string;
  port: number;
  /** Connections at once (default 16). */
  maxConnections?: number;
  /** No traffic and no work for this long closes a connection, ms (default 60 s). */
  idleMs?: number;
  /** How long a connection beyond maxConnections waits for a free place, ms (default 5 s). */
  waitMs?: number;
  limits?: FrameLimits;
  handler(connection: WyomingConnection): ConnectionHandler;
}

/** Events: `connections` (count) when one opens or closes. */
export class WyomingServer extends EventEmitter {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Connections being told there is no room, until they are gone. */
  private readonly refused = new Set<net.Socket>();
  /** Connections waiting for a free place, first come first served. */
  private readonly waiting: { socket: net.Socket; timer: NodeJS.Timeout }[] = [];
  private readonly waitMs: number;
  private readonly maxConnections: number;
  private readonly idleMs: number;
  private readonly limits: FrameLimits;

  constructor(private readonly options: WyomingServerOptions) {
    super();
    this.maxConnections = options.maxConnections ?? 16;
    this.idleMs = options.idleMs ?? 60_000;
    this.waitMs = options.waitMs ?? 5000;
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  /** Connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  /** The address it listens on, once listening. */
  get address(): net.AddressInfo | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  /** Starts listening; rejects (and leaves nothing open) when the port cannot be used. */
  listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        server.close();
        reject(err);
      });
      server.listen({ host: this.options.host, port: this.options.port, exclusive: true }, () => {
        server.removeAllListeners('error');
        // A server error after listening (rare: the OS) must not take Node-RED down.
        server.on('error', (err) => this.emit('problem', err));
        this.server = server;
        resolve();
      });
    });
  }

  /** Stops listening and drops every connection; resolves when the port is free. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const waiting = this.waiting.splice(0);
    for (const w of waiting) clearTimeout(w.timer);
    for (const socket of [...this.sockets, ...this.refused, ...waiting.map((w) => w.socket)]) socket.destroy();
    this.sockets.clear();
    this.refused.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    if (!this.server) return this.refuse(socket, 'The server is stopping.');
    if (this.sockets.size < this.maxConnections) return this.admit(socket);
    if (this.waiting.length >= this.maxConnections) return this.refuse(socket, this.noRoom());
    // A burst: it waits for a free place (what it sends meanwhile stays in the socket).
    const entry = {
      socket,
      timer: setTimeout(() => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        this.refuse(socket, this.noRoom());
      }, this.waitMs),
    };
    this.waiting.push(entry);
    socket.once('close', () => {
      const at = this.waiting.indexOf(entry);
      if (at < 0) return;
      this.waiting.splice(at, 1);
      clearTimeout(entry.timer);
    });
  }

  private noRoom(): string {
    return `This server takes at most ${this.maxConnections} connections at once; try again shortly.`;
  }

  private refuse(socket: net.Socket, text: string): void {
    this.refused.add(socket);
    socket.once('close', () => this.refused.delete(socket));
    socket.end(encodeEvent(errorEvent(text, 'too-many-connections')));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private admit(socket: net.Socket): void {
    this.sockets.add(socket);
    this.emit('connections', this.sockets.size);
    this.serve(socket);
  }

  /** A place came free: the first connection waiting for one takes it. */
  private admitWaiting(): void {
    while (this.server && this.sockets.size < this.maxConnections && this.waiting.length) {
      const { socket, timer } = this.waiting.shift() as { socket: net.Socket; timer: NodeJS.Timeout };
      clearTimeout(timer);
      if (!socket.destroyed) this.admit(socket);
    }
  }

  private serve(socket: net.Socket): void {
    const reader = new EventReader(this.limits);
    let closed = false;
    let holds = 0;
    let handler: ConnectionHandler | undefined;
    // Idle: no traffic either way for idleMs while no work holds the connection (a held one is
    // looked at again idleMs after its work ends).
    const idle = () => {
      if (holds === 0) connection.close({ text: `No event for ${Math.round(this.idleMs / 1000)} s: closing the connection.`, code: 'idle' });
    };
    socket.setTimeout(this.idleMs);
    socket.on('timeout', idle);
    const connection: WyomingConnection = {
      remote: socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
      get closed() {
        return closed;
      },
      send: (event) => {
        if (closed || socket.destroyed) return Promise.resolve();
        if (socket.write(encodeEvent(event))) return Promise.resolve();
        return new Promise((resolve) => {
          const done = () => {
            socket.off('drain', done);
            socket.off('close', done);
            resolve();
          };
          socket.once('drain', done);
          socket.once('close', done);
        });
      },
      close: (error) => {
        if (closed) return;
        finish();
        if (socket.destroyed) return;
        if (error) socket.end(encodeEvent(errorEvent(error.text, error.code)));
        else socket.end();
        // A client that does not read what is left is dropped.
        setTimeout(() => socket.destroy(), 1000).unref();
      },
      hold: () => {
        holds++;
        let released = false;
        return () => {
          if (released) return;
          released = true;
          holds--;
          if (holds === 0 && !closed) socket.setTimeout(this.idleMs);
        };
      },
    };
    const finish = () => {
      if (closed) return;
      closed = true;
      this.sockets.delete(socket);
      this.emit('connections', this.sockets.size);
      this.admitWaiting();
      try {
        handler?.closed();
      } catch (err) {
        this.emit('problem', err);
      }
    };
    socket.once('close', finish);
    try {
      handler = this.options.handler(connection);
    } catch (err) {
      this.emit('problem', err);
      connection.close({ text: 'The server could not take the connection.', code: 'internal' });
      return;
    }
    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      let events: WyomingEvent[];
      let fault: WyomingProtocolError | undefined;
      try {
        events = reader.push(chunk);
      } catch (err) {
        fault = err instanceof WyomingProtocolError ? err : new WyomingProtocolError(String(err), 'malformed-header');
        // What came whole before the fault is handled (a ping and garbage in one packet: pong, then the error).
        events = fault.events;
      }
      for (const event of events) {
        if (closed) return;
        try {
          handler?.event(event);
        } catch (err) {
          this.emit('problem', err);
          connection.close({ text: 'The server could not handle an event.', code: 'internal' });
          return;
        }
      }
      if (fault) connection.close({ text: fault.message, code: fault.code });
    });
  }
}
