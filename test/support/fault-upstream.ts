/**
 * A misbehaving API on 127.0.0.1 for the fault suites: it hangs, cuts connections mid-body,
 * streams huge bodies and answers its own 5xx. Unlike the echo upstream it records a request
 * the moment its headers arrive, and notes when the proxy closed the connection before the
 * answer was complete, so tests can prove the proxy let go of the upstream.
 *
 * Routes (matched anywhere in the path):
 * - `/hang-headers`: never answers;
 * - `/hang-body?type=<content-type>[&length=<bytes>]`: headers (with that Content-Length when
 *   given) and a first chunk, then silence;
 * - `/drip-small`: a 10 KiB body with its Content-Length, 1 KiB every 300 ms (3 s in all);
 * - `/cut-body?type=<content-type>`: headers (chunked) and a first chunk, then the socket is destroyed;
 * - `/drip`: a chunk every 50 ms for 10 s;
 * - `/api-status/<code>`: that status with `Retry-After: 120` and the API's own JSON error body;
 * - `/big/<bytes>?type=<content-type>[&holdAfter=<bytes>]`: that many bytes, generated in 64 KiB
 *   chunks with backpressure; every chunk ends with the request's bearer token (a text API
 *   echoing its credential), so scrubbing has work to do. With `holdAfter`, the upstream stops
 *   after that many bytes until the test calls the record's `release()`. The record's `big`
 *   says how far the upstream got, so a test can tell a streamed body from a buffered one;
 * - `/upload`: reads the request body to its end, then answers 200;
 * - `/closed-when-reused`: a connection's first request gets a small JSON 200; a later one on the
 *   same connection finds it closed (destroyed before any answer), as on a server that closed
 *   the connection for idleness just as the request was sent.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const BIG_CHUNK_SIZE = 64 * 1024;
/** Retry-After the API sends with its own 5xx answers. */
export const API_RETRY_AFTER = '120';

export interface FaultRecord {
  url: string;
  /** The request's body arrived completely. */
  bodyComplete: boolean;
  /** The connection closed before the upstream finished its answer. */
  closedEarly: boolean;
  /** Resolves when the request's connection is closed, whoever closed it. */
  closed: Promise<void>;
  /** For `/big`: how far the upstream got writing the body. */
  big?: BigProgress;
  /** 1 for the first request on its connection, 2 for the second... */
  onConnection: number;
}

/** What the upstream of a `/big` request has done so far. */
export interface BigProgress {
  /** Body bytes handed to the connection. */
  sent: number;
  /** Waiting at `holdAfter` for release(). */
  held: boolean;
  /** Every byte was written and the answer ended. */
  ended: boolean;
  /** Lets a held body go on. */
  release(): void;
}

export interface FaultUpstream {
  url: string;
  received: FaultRecord[];
  close(): Promise<void>;
}

/** Chunks of `/drip-small`, one every 300 ms. */
export const DRIP_SMALL_CHUNKS = 10;

const ROUTE = /\/(hang-headers|hang-body|cut-body|drip-small|drip|api-status|big|upload|closed-when-reused)(?:\/([^/?]*))?(?:[/?]|$)/;

function bearerOf(req: http.IncomingMessage): string {
  return /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
}

/** One chunk of a `/big` body: filler, then the request's bearer token at its end. */
export function bigChunk(type: string, token: string): Buffer {
  const chunk = Buffer.alloc(BIG_CHUNK_SIZE, type.startsWith('text/') ? 'a' : 0xa5);
  Buffer.from(token).copy(chunk, BIG_CHUNK_SIZE - Buffer.byteLength(token));
  return chunk;
}

/**
 * Writes `total` bytes of generated content, waiting for drain (and at `holdAfter`, for
 * release()); stops if the connection goes.
 */
function streamBig(req: http.IncomingMessage, res: http.ServerResponse, total: number, type: string, holdAfter: number, progress: BigProgress): void {
  const chunk = bigChunk(type, bearerOf(req));
  res.writeHead(200, { 'content-type': type });
  let released = false;
  progress.release = () => {
    if (released) return;
    released = true;
    if (progress.held) {
      progress.held = false;
      writeMore();
    }
  };
  function writeMore(): void {
    while (progress.sent < total && !res.destroyed) {
      if (!released && progress.sent >= holdAfter) {
        progress.held = true;
        return;
      }
      const limit = released ? total : Math.min(total, holdAfter);
      const piece = limit - progress.sent >= BIG_CHUNK_SIZE ? chunk : chunk.subarray(0, limit - progress.sent);
      progress.sent += piece.length;
      if (!res.write(piece)) {
        res.once('drain', writeMore);
        return;
      }
    }
    if (!res.destroyed) res.end(() => (progress.ended = true));
  }
  writeMore();
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, timers: Set<NodeJS.Timeout>, record: FaultRecord): void {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  const match = ROUTE.exec(url.pathname);
  const type = url.searchParams.get('type') ?? 'application/octet-stream';
  const later = (ms: number, action: () => void, repeat = false): void => {
    const timer = repeat ? setInterval(action, ms) : setTimeout(action, ms);
    timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };
  switch (match?.[1]) {
    case 'hang-headers':
      return;
    case 'hang-body': {
      const length = url.searchParams.get('length');
      res.writeHead(200, length === null ? { 'content-type': type } : { 'content-type': type, 'content-length': length });
      res.write('first part, then silence');
      return;
    }
    case 'drip-small': {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': DRIP_SMALL_CHUNKS * 1024 });
      let sent = 0;
      later(
        300,
        () => {
          if (res.writableEnded) return;
          sent += 1;
          if (sent < DRIP_SMALL_CHUNKS) res.write(Buffer.alloc(1024, 'd'));
          else res.end(Buffer.alloc(1024, 'd'));
        },
        true,
      );
      return;
    }
    case 'cut-body':
      res.writeHead(200, { 'content-type': type });
      res.write('first part, then the connection is cut');
      later(30, () => req.socket.destroy());
      return;
    case 'drip':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      later(50, () => res.write(Buffer.alloc(1024, 1)), true);
      later(10_000, () => res.end());
      return;
    case 'api-status': {
      const status = Number(match[2]) || 500;
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': API_RETRY_AFTER, 'x-api': 'own' });
      res.end(JSON.stringify({ apiError: `the API itself answered ${status}` }));
      return;
    }
    case 'big': {
      const total = Number(match[2]);
      const holdAfter = Number(url.searchParams.get('holdAfter') ?? total);
      record.big = { sent: 0, held: false, ended: false, release: () => undefined };
      return streamBig(req, res, total, type, holdAfter, record.big);
    }
    case 'closed-when-reused':
      if (record.onConnection > 1) req.socket.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    case 'upload':
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('stored'));
      return;
    default:
      res.writeHead(404).end();
  }
}

/** Starts the fault upstream on 127.0.0.1 with an ephemeral port. */
export async function startFaultUpstream(): Promise<FaultUpstream> {
  const received: FaultRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const requestsOn = new WeakMap<Socket, number>();
  const server = http.createServer((req, res) => {
    let onClosed = (): void => undefined;
    const onConnection = (requestsOn.get(req.socket) ?? 0) + 1;
    requestsOn.set(req.socket, onConnection);
    const record: FaultRecord = {
      url: req.url ?? '',
      bodyComplete: false,
      closedEarly: false,
      closed: new Promise((resolve) => (onClosed = resolve)),
      onConnection,
    };
    received.push(record);
    req.on('end', () => (record.bodyComplete = true));
    res.on('close', () => {
      if (!res.writableFinished) record.closedEarly = true;
      onClosed();
    });
    answer(req, res, timers, record);
  });
  server.requestTimeout = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
