/**
 * Zeroconf (mDNS / DNS-SD) for a Wyoming server, so Home Assistant discovers it: the service type
 * `_wyoming._tcp`, an instance name and the port, no TXT entries, as the reference servers
 * advertise. Done by bonjour-service (a responder on multicast-dns: the name is probed first, the
 * records announced, and withdrawn with goodbye records when the service stops); it changes nothing
 * global in the process. No Node-RED imports.
 */
import { Bonjour } from 'bonjour-service';

export const SERVICE_TYPE = 'wyoming';

export interface Advertised {
  readonly name: string;
  /** Withdraws it (goodbye records, TTL 0) and closes the responder's socket. */
  end(): Promise<void>;
}

export interface AdvertiseOptions {
  name: string;
  port: number;
  /**
   * The address the server listens on: a specific one is advertised on its interface only (a
   * loopback one on loopback only: nothing leaves the machine); 0.0.0.0 on every interface.
   */
  host: string;
  /** Told what went wrong (the name is taken on the network, the mDNS socket cannot be opened). */
  onNote?: (text: string) => void;
  /** How long to wait for the announcement before telling that it did not happen, ms (default 5000). */
  waitMs?: number;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** Advertises a Wyoming server; resolves once it is announced, or rejects (with the responder closed). */
export function advertise(options: AdvertiseOptions): Promise<Advertised> {
  const specific = options.host && options.host !== '0.0.0.0' && options.host !== '::';
  const where = !specific ? {} : LOOPBACK.test(options.host) ? { interface: '127.0.0.1', bind: '127.0.0.1' } : { interface: options.host };
  let failure: Error | undefined;
  const bonjour = new Bonjour(where as Record<string, unknown>, (err: Error) => {
    failure ??= err;
    options.onNote?.(`Zeroconf: ${err.message}`);
  });
  let closed = false;
  const close = () => new Promise<void>((resolve) => {
    if (closed) return resolve();
    closed = true;
    const timer = setTimeout(resolve, 1000);
    timer.unref();
    // Goodbye records first, then the socket.
    bonjour.unpublishAll(() => {
      bonjour.destroy(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
  return new Promise<Advertised>((resolve, reject) => {
    let service: ReturnType<Bonjour['publish']>;
    try {
      service = bonjour.publish({ name: options.name, type: SERVICE_TYPE, protocol: 'tcp', port: options.port, disableIPv6: true });
    } catch (err) {
      void close().then(() => reject(err));
      return;
    }
    const timer = setTimeout(() => {
      void close().then(() => reject(failure ?? new Error(`"${options.name}" was not announced within ${(options.waitMs ?? 5000) / 1000} s (is the name taken on the network?)`)));
    }, options.waitMs ?? 5000);
    timer.unref();
    service.once('up', () => {
      clearTimeout(timer);
      resolve({ name: options.name, end: close });
    });
    service.on('error', (err: Error) => options.onNote?.(`Zeroconf: ${err.message}`));
  });
}
