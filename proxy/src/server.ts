/**
 * The listener and its shutdown. SIGTERM stops accepting connections, lets in-flight
 * requests finish (up to a bound), then closes what is left, so a rolling deploy drops
 * nothing that was already accepted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface Listening {
  server: Server;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
}

/** Header and request limits: a slow or huge request must not hold the proxy. */
const SERVER_OPTIONS = {
  headersTimeout: 20_000,
  requestTimeout: 0, // bodies may stream for long uploads; the per-service upstream timeout bounds the wait for answers
  keepAliveTimeout: 65_000,
  maxHeaderSize: 32 * 1024,
} as const;

/** Starts listening; resolves once the port is bound. */
export function listen(handler: RequestListener, host: string, port: number): Promise<Listening> {
  const server = createServer(SERVER_OPTIONS, handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({ server, url: `http://${shownHost}:${address.port}` });
    });
  });
}

/**
 * Stops accepting, waits for in-flight requests, and after `timeoutMs` cuts the
 * connections that are still open. Resolves when the server is fully closed.
 */
export function closeGracefully(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const forceTimer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    forceTimer.unref();
    // close() stops accepting and closes keep-alive sockets that are idle right now. A
    // socket busy with a request becomes idle once its response is sent; sweeping idle
    // sockets again closes it then instead of waiting for the keep-alive timeout.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.close(() => {
      clearTimeout(forceTimer);
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
