/**
 * A real HTTP upstream on 127.0.0.1 (ephemeral port) for forwarding tests. It records every
 * request it receives and answers by route; a route matches anywhere in the path, so the
 * same routes work behind a service base path (`/base/status/404`).
 *
 * - default: JSON echo of what arrived ({ method, url, headers, rawHeaders, bodyLength, bodySha256, body, remotePort })
 * - `/status/<code>`: that status with a small JSON body and an `x-upstream: echo` header
 *   (`?spoof=1` adds `x-secure-proxy-error: SPOOFED`, which the proxy must not relay, and an
 *   `x-request-id: upstream-id` that the proxy's id must replace)
 * - `/redirect?to=<url>[&status=<code>]`: 302 (or the given 3xx) with `Location: <url>`
 * - `/slow/<ms>`: waits before sending headers, then echoes
 * - `/stream/<n>`: chunked body of n chunks of 64 KiB (byte i of the body is i % 251)
 * - `/partial`: headers and part of a body, then the socket is destroyed
 * - `/reset`: destroys the socket without answering
 * - `/binary`: the 256 byte values 0..255, application/octet-stream
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  remotePort: number;
  /** Sequence number of the TCP connection it arrived on (1 = first since start). */
  connection: number;
  /** True when the connection went away before the upstream finished its answer. */
  aborted: boolean;
}

/** A request whose body never finished arriving: the connection went away first. */
export interface CutRequest {
  method: string;
  url: string;
  /** Body bytes that arrived before the cut. */
  bodyLength: number;
}

export interface EchoUpstream {
  url: string;
  port: number;
  received: RecordedRequest[];
  /** Requests cut before their body ended (never in `received`). */
  cut: CutRequest[];
  /** Requests whose headers arrived so far, finished or not (not reset by clear()). */
  started(): number;
  /** Number of TCP connections accepted so far (over TLS: handshakes completed). */
  connections(): number;
  clear(): void;
  close(): Promise<void>;
}

export const STREAM_CHUNK_SIZE = 64 * 1024;

/** The body `/stream/<n>` sends: byte i is i % 251 (a prime, so chunks differ). */
export function streamBody(chunks: number): Buffer {
  const body = Buffer.alloc(chunks * STREAM_CHUNK_SIZE);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  return body;
}

const ROUTE = /\/(status|redirect|slow|stream|partial|reset|binary)(?:\/([^/?]*))?(?:[/?]|$)/;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function echo(res: http.ServerResponse, record: RecordedRequest): void {
  const body = JSON.stringify({
    method: record.method,
    url: record.url,
    headers: record.headers,
    rawHeaders: record.rawHeaders,
    bodyLength: record.body.length,
    bodySha256: sha256(record.body),
    body: record.body.length <= 4096 ? record.body.toString('utf8') : null,
    remotePort: record.remotePort,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest): void {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  const match = ROUTE.exec(url.pathname);
  const route = match?.[1];
  const arg = match?.[2] ?? '';
  switch (route) {
    case 'status': {
      const status = Number(arg) || 200;
      const body = JSON.stringify({ upstream: 'echo', status });
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'x-upstream': 'echo' };
      if (url.searchParams.get('spoof') === '1') {
        headers['x-secure-proxy-error'] = 'SPOOFED';
        headers['x-request-id'] = 'upstream-id';
      }
      res.writeHead(status, headers);
      res.end(body);
      return;
    }
    case 'redirect': {
      const status = Number(url.searchParams.get('status')) || 302;
      res.writeHead(status, { location: url.searchParams.get('to') ?? '/', 'content-length': 0 });
      res.end();
      return;
    }
    case 'slow': {
      const timer = setTimeout(() => echo(res, record), Number(arg) || 0);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    case 'stream': {
      const chunks = Number(arg) || 1;
      const body = streamBody(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no length: chunked
      let i = 0;
      const writeNext = (): void => {
        while (i < chunks) {
          const chunk = body.subarray(i * STREAM_CHUNK_SIZE, (i + 1) * STREAM_CHUNK_SIZE);
          i++;
          if (!res.write(chunk)) {
            res.once('drain', writeNext);
            return;
          }
        }
        res.end();
      };
      writeNext();
      return;
    }
    case 'partial': {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 });
      res.write('only part of the body');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    case 'reset':
      req.socket.destroy();
      return;
    case 'binary': {
      const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    }
    default:
      echo(res, record);
  }
}

/** Options of {@link startEchoUpstream}. */
export interface EchoUpstreamOptions {
  /** Serve HTTPS with this PEM certificate (chain) and key; `url` is then https://. */
  tls?: { cert: string; key: string };
}

/** Starts the upstream on 127.0.0.1 with an ephemeral port. */
export async function startEchoUpstream(options: EchoUpstreamOptions = {}): Promise<EchoUpstream> {
  const received: RecordedRequest[] = [];
  const cut: CutRequest[] = [];
  let startedCount = 0;
  const connectionIds = new WeakMap<Socket, number>();
  let connectionCount = 0;

  const onRequest: http.RequestListener = (req, res) => {
    startedCount++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('close', () => {
      if (!req.complete) cut.push({ method: req.method ?? '', url: req.url ?? '', bodyLength: Buffer.concat(chunks).length });
    });
    req.on('end', () => {
      const record: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        remotePort: req.socket.remotePort ?? 0,
        connection: connectionIds.get(req.socket) ?? 0,
        aborted: false,
      };
      received.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.aborted = true;
      });
      answer(req, res, record);
    });
  };
  const server = options.tls === undefined ? http.createServer(onRequest) : https.createServer(options.tls, onRequest);
  // Over TLS a request's socket is the TLS socket, known once the handshake completed.
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    connectionCount++;
    connectionIds.set(socket, connectionCount);
  });
  // Requests of the tests can be large; no request timeout surprises in slow CI.
  server.requestTimeout = 0;

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    received,
    cut,
    started: () => startedCount,
    connections: () => connectionCount,
    clear() {
      received.length = 0;
      cut.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets (the proxy's pool) would hold close() open and jest with it.
        server.closeAllConnections();
      });
    },
  };
}

/** The brief's name: `start()`. */
export const start = startEchoUpstream;
