/** Whether a port speaks TLS: told to a user who chose http for an https port. */
import { connect as tlsConnect } from 'node:tls';

/** Whether a TLS handshake succeeds at `target` within `ms` (any certificate: only the protocol matters). */
export function speaksTls(target: { host: string; port: number; servername?: string }, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ ...target, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const end = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => end(false), ms);
    socket.once('secureConnect', () => end(true));
    // Kept for the socket's whole life: a second error must never go unhandled.
    socket.on('error', () => end(false));
  });
}
