/**
 * Large answers relayed to readers that hold back, several at once: over plain http and over
 * TLS, with a length and chunked, gzip-encoded, with a head that arrives a few bytes at a time.
 * Every byte must arrive as the upstream sent it, scrubbed where the upstream echoed the secret.
 * Anything in the relay that kept a chunk past its 'data' event and found it changed, or that
 * lost a chunk while the relay paused the upstream, shows here.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTestCa, writePemFiles } from '../support/certs';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';

const SECRET = canary('slow-readers');
const MIB = 1024 * 1024;
/** Bytes of every value, so a read of 64 KiB never lines up with a record. */
const RANDOM = randomBytes(3 * MIB + 4321);

/** A JSON text of about `bytes` echoing the secret in records of varying length (so echoes straddle reads). */
function echoes(bytes: number): string {
  const records: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const record = `{"n":${i},"pad":"${'p'.repeat(i % 97)}","token":"${SECRET}"}`;
    records.push(record);
    length += record.length + 1;
  }
  return `[${records.join(',')}]`;
}

const ECHOES = echoes(2 * MIB);
const GZIPPED = echoes(MIB + 17);

/** What each route sends (as the upstream writes it) and what the client must receive. */
interface Route {
  body: Buffer;
  expected: Buffer;
  headers: Record<string, string>;
  /** Write the body in pieces of these sizes, in turn (no length: chunked framing). */
  pieces?: number[];
  /** Write the head a few bytes at a time. */
  trickleHead?: boolean;
}

const redacted = (text: string): Buffer => Buffer.from(text.split(SECRET).join('[REDACTED]'));

const ROUTES: Record<string, Route> = {
  '/bytes': { body: RANDOM, expected: RANDOM, headers: { 'content-type': 'application/octet-stream' } },
  '/chunked': { body: RANDOM, expected: RANDOM, headers: { 'content-type': 'application/octet-stream' }, pieces: [1, 70_000, 333, 65_536, 4_097] },
  '/echoes': { body: Buffer.from(ECHOES), expected: redacted(ECHOES), headers: { 'content-type': 'application/json' } },
  '/gzip': { body: gzipSync(GZIPPED), expected: redacted(GZIPPED), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } },
  '/trickle': { body: RANDOM.subarray(0, MIB), expected: RANDOM.subarray(0, MIB), headers: { 'content-type': 'application/octet-stream' }, trickleHead: true },
};

async function writeAnswer(res: http.ServerResponse, route: Route): Promise<void> {
  const { socket } = res;
  if (route.trickleHead === true && socket !== null) {
    // Raw head in 5-byte writes, each flushed on its own, so the proxy's parser meets a head cut across many reads.
    const head = Buffer.from(
      `HTTP/1.1 200 OK\r\n${Object.entries({ ...route.headers, 'content-length': String(route.body.length), 'x-long-header': 'h'.repeat(300) })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n`,
    );
    for (let i = 0; i < head.length; i += 5) {
      socket.write(head.subarray(i, i + 5));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    socket.end(route.body);
    return;
  }
  if (route.pieces === undefined) {
    res.writeHead(200, { ...route.headers, 'content-length': String(route.body.length) });
    res.end(route.body);
    return;
  }
  res.writeHead(200, route.headers);
  for (let at = 0, k = 0; at < route.body.length; k++) {
    const size = route.pieces[k % route.pieces.length];
    if (!res.write(route.body.subarray(at, at + size))) await new Promise((resolve) => res.once('drain', resolve));
    at += size;
  }
  res.end();
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const route = ROUTES[new URL(req.url ?? '/', 'http://upstream').pathname.replace(/^\/base/, '')];
  if (route === undefined) {
    res.writeHead(404).end();
    return;
  }
  req.resume();
  void writeAnswer(res, route);
}

async function listenOn(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('large answers to readers that hold back', () => {
  let dir: string;
  let harness: ProxyHarness;
  let plain: http.Server;
  let secure: https.Server;
  let t: TestProxy;
  let listener: ProxyListener;
  const client = new http.Agent({ keepAlive: true });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sp-slow-readers-'));
    const ca = await createTestCa();
    const leaf = await ca.issue(['127.0.0.1']);
    const files = writePemFiles(dir, { 'ca.pem': ca.caPem });
    plain = http.createServer(handle);
    secure = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, handle);
    const [plainPort, securePort] = [await listenOn(plain), await listenOn(secure)];
    harness = await startHarness({ 'svc/api': { token: SECRET } });
    const svc = (target: string, extra: Record<string, unknown> = {}) => ({ target, secret: 'svc/api', inject: { type: 'bearer' as const }, ...extra });
    t = await startProxy(harness, (_base, token) => ({
      logging: { level: 'info' },
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['plain', 'tls'] } },
      services: {
        plain: svc(`http://127.0.0.1:${plainPort}/base`),
        tls: svc(`https://127.0.0.1:${securePort}/base`, { caFile: files['ca.pem'] }),
      },
    }));
    listener = await listenProxy(t);
  });

  afterAll(async () => {
    client.destroy();
    await listener?.close();
    await t?.proxy.stop();
    for (const server of [plain, secure]) {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
    await harness?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** GETs through the proxy as a reader that holds back after the head (the relay pauses the upstream meanwhile). */
  function fetchSlowly(path: string, holdMs: number): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${listener.url}${path}`, { agent: client, headers: { authorization: `Bearer ${t.tokens.n8n.token}` } }, (res) => {
        const parts: Buffer[] = [];
        res.pause();
        setTimeout(() => res.resume(), holdMs);
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  it('relays every answer byte for byte to readers that hold back, all at once', async () => {
    const cases = Object.keys(ROUTES).flatMap((path) => ['plain', 'tls'].map((service) => ({ service, path })));
    // Two copies of each, started together, so the connections' reads interleave.
    const runs = [...cases, ...cases].map(({ service, path }, i) => ({ service, path, holdMs: 50 + (i % 4) * 100 }));
    const answers = await Promise.all(runs.map(({ service, path, holdMs }) => fetchSlowly(`/forward/${service}${path}`, holdMs)));
    answers.forEach((answer, i) => {
      const { service, path } = runs[i];
      const route = ROUTES[path];
      expect({ service, path, status: answer.status, length: answer.body.length, sha256: sha256(answer.body) }).toEqual({
        service,
        path,
        status: 200,
        length: route.expected.length,
        sha256: sha256(route.expected),
      });
    });
    expectNothingHidden([...answers.map((answer) => answer.body.toString('latin1')), t.logs.text()], [SECRET, t.tokens.n8n.token]);
  });
});
