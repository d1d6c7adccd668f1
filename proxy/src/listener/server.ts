/**
 * The listener and its shutdown. SIGTERM stops accepting connections, lets in-flight
 * requests finish (up to a bound), then closes what is left, so a rolling deploy drops
 * nothing that was already accepted.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import { createClientErrorHandler, createConnectHandler, type ClientErrorRecord } from './client-errors';
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES } from '../config/defaults';

/** The listener: plain HTTP, or HTTPS when `listen.tls` is configured. */
export type Server = HttpServer | HttpsServer;

/** PEM certificate (chain) and key for an HTTPS listener. */
export interface ListenerCertificate {
  cert: Buffer;
  key: Buffer;
}

export interface Listening {
  server: Server;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080 (https:// with a certificate). */
  url: string;
}

/** Limits of the listener and the observer of what its HTTP parser refuses; the defaults come from config/defaults. */
export interface ListenOptions {
  /** Time a client has to send the whole request header section. */
  headersTimeoutMs?: number;
  /** Largest header section (request line and headers) accepted, in bytes. */
  maxHeaderBytes?: number;
  /** Client connections open at once; one beyond it is closed as it arrives. */
  maxConnections?: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutMs?: number;
  /** Called for each connection closed at accept because `maxConnections` were open. */
  onConnectionDropped?: (remoteAddress: string | null) => void;
  /**
   * Called once per connection refused before it became a request (HTTP parser errors and
   * CONNECT: answered with a contract error, then closed); runProxy sends it to the serving app.
   */
  onClientError?: (record: ClientErrorRecord) => void;
}

/** Header and request limits: a slow or huge request must not hold the proxy. */
function serverOptions(options: ListenOptions) {
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  return {
    headersTimeout,
    // Node checks header deadlines on this interval (default 30 s, longer than the deadline itself).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
    requestTimeout: 0, // bodies may stream for long uploads; the forward stage's idle timeout and the per-service upstream timeout bound the waits
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    maxHeaderSize: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    // Node would answer a missing Host with a bare 400; the app's host guard answers with the contract's error.
    requireHostHeader: false,
  };
}

/** The listener could not bind its address (in use, not allowed, no such address); `code` is Node's (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
export class ListenError extends Error {
  readonly code: string;
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, code: string) {
    const why =
      code === 'EADDRINUSE'
        ? 'the address is already in use'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : code === 'EADDRNOTAVAIL'
            ? 'no network interface has this address'
            : 'the system refused';
    super(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${why} (${code})`);
    this.name = 'ListenError';
    this.code = code;
    this.host = host;
    this.port = port;
  }
}

/**
 * Starts listening (HTTPS when a certificate is given); resolves once the port is bound,
 * rejects with a ListenError when it cannot be. `handler` also gets requests whose `Expect`
 * is not `100-continue` (the app refuses them with the contract).
 */
export function listen(
  handler: RequestListener,
  host: string,
  port: number,
  certificate?: ListenerCertificate,
  options: ListenOptions = {},
): Promise<Listening> {
  const limits = serverOptions(options);
  const server: Server =
    certificate === undefined ? createServer(limits, handler) : createHttpsServer({ ...limits, cert: certificate.cert, key: certificate.key }, handler);
  const onClientError = options.onClientError ?? (() => {});
  server.on('clientError', createClientErrorHandler(onClientError));
  server.on('connect', createConnectHandler(onClientError));
  // Without a listener Node answers an Expect other than 100-continue with a bare 417; the app answers with the contract.
  server.on('checkExpectation', handler);
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const onDropped = options.onConnectionDropped;
  if (onDropped !== undefined) server.on('drop', (data?: { remoteAddress?: string }) => onDropped(data?.remoteAddress ?? null));
  const scheme = certificate === undefined ? 'http' : 'https';
  return new Promise((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException) => reject(new ListenError(host, port, err.code ?? 'UNKNOWN'));
    server.once('error', refused);
    server.listen(port, host, () => {
      server.off('error', refused);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({ server, url: `${scheme}://${shownHost}:${address.port}` });
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
