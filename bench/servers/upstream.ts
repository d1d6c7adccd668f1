/**
 * The upstream API every case ends at, in its own process. It refuses (401) a request
 * without exactly the expected credential, so a case whose injection broke shows up as
 * non-2xx instead of as a fast benchmark.
 *
 *   GET  /base/hello   small JSON
 *   GET  /base/large   LARGE_BODY_BYTES of JSON (scrubbed by the proxy: every JSON answer is)
 *   POST /base/upload  consumes the body as it streams in; 400 unless it has the declared length
 *
 * and, for the streaming check (see lib/streaming.ts):
 *   GET  /base/probe/received   body bytes of uploads still in progress (arrived so far)
 *   GET  /base/probe/held       sends half its body, waits PROBE_HOLD_MS, then sends the rest
 *
 * and, for the large-body memory check:
 *   GET  /base/probe/big        LARGE_PROBE_BYTES of text/plain in LARGE_PROBE_CHUNK_BYTES chunks, each
 *                               ending with the credential it received (an API echoing it), written
 *                               with backpressure, so the proxy has scrubbing to do across a long stream
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runChild, settings } from '../lib/child.ts';
import { largeProbeChunk, LARGE_PROBE_BYTES, PROBE_HALF_BYTES, PROBE_HOLD_MS } from '../lib/streaming.ts';

export interface UpstreamSettings {
  /** The exact Authorization header value to accept. */
  authorization: string;
  largeBodyBytes: number;
}

const { authorization, largeBodyBytes } = settings<UpstreamSettings>();
const HELLO = Buffer.from('{"hello":"world"}');
const HELD_HALF = Buffer.alloc(PROBE_HALF_BYTES, 'h');
/** Body bytes received by uploads that have not ended yet. */
let inProgressBytes = 0;
/** A JSON document of exactly largeBodyBytes: `{"data":"xxx…"}`. */
const LARGE = Buffer.alloc(largeBodyBytes, 'x');
LARGE.write('{"data":"', 0);
LARGE.write('"}', largeBodyBytes - 2);
const BIG_CHUNK = largeProbeChunk(authorization.slice('Bearer '.length));

function reply(res: ServerResponse, status: number, body: Buffer, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': body.length });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== authorization) {
    req.resume();
    reply(res, 401, Buffer.from('{"error":"wrong or missing credential"}'));
    return;
  }
  if (req.method === 'GET' && req.url === '/base/hello') return reply(res, 200, HELLO);
  if (req.method === 'GET' && req.url === '/base/large') return reply(res, 200, LARGE);
  if (req.method === 'POST' && req.url === '/base/upload') {
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      inProgressBytes += chunk.length;
    });
    req.on('close', () => {
      inProgressBytes -= received;
    });
    req.on('end', () => {
      const ok = received === Number(req.headers['content-length']);
      reply(res, ok ? 200 : 400, Buffer.from(`{"received":${received}}`));
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/base/probe/received') return reply(res, 200, Buffer.from(`{"received":${inProgressBytes}}`));
  if (req.method === 'GET' && req.url === '/base/probe/held') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HELD_HALF.length * 2 });
    res.write(HELD_HALF);
    const timer = setTimeout(() => res.end(HELD_HALF), PROBE_HOLD_MS);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (req.method === 'GET' && req.url === '/base/probe/big') return streamBig(res);
  req.resume();
  reply(res, 404, Buffer.from('{"error":"no such route"}'));
}

/** Writes LARGE_PROBE_BYTES as fast as the connection takes them. */
function streamBig(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' }); // no length: chunked, as a generated answer would be
  let sent = 0;
  const writeMore = (): void => {
    while (sent < LARGE_PROBE_BYTES && !res.destroyed) {
      sent += BIG_CHUNK.length;
      if (!res.write(BIG_CHUNK)) {
        res.once('drain', writeMore);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  writeMore();
}

/**
 * Longer than any pause between cases. With Node's default (5 s), a baseline connection idle
 * for exactly that long between cases is reused just as the upstream closes it, and the
 * request fails with ECONNRESET (a 504 from http-proxy-middleware): a keep-alive race of the
 * bare baseline agent, not something the bench means to measure. API servers behind load
 * balancers commonly keep idle connections this long (nginx's default is 75 s).
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

await runChild(async () => {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
});
