/**
 * The data plane end to end over loopback: a small express app (request id, a fake
 * authenticate, the forward handler) in front of the real echo upstream, with a Map-backed
 * SecretProvider standing in for the Vault-backed one.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express from 'express';
import request from 'supertest';
import type { ServiceConfig } from '../../proxy/src/config/schema';
import { ERROR_HEADER, type ErrorBody } from '../../proxy/src/contract/contract';
import { ProxyError } from '../../proxy/src/contract/proxy-error';
import { createForwardHandler, rejectUnsafeRequestTarget, type ForwardHandler } from '../../proxy/src/forward';
import { contextOf, newContext, type RequestContext } from '../../proxy/src/app/request-context';
import type { SecretData, SecretProvider } from '../../proxy/src/secrets/types';
import { startEchoUpstream, streamBody, type EchoUpstream } from '../support/echo-upstream';

const CANARY = 'CANARY-91c2e7-s3cr3t';
const CLIENT_TOKEN = 'spt_test_clienttoken';

/** Returns the same frozen object per path, like the real cache does until a value changes. */
class MapSecrets implements SecretProvider {
  readonly reads: string[] = [];
  private readonly values = new Map<string, SecretData>();
  constructor(entries: Record<string, Record<string, string>>) {
    for (const [path, data] of Object.entries(entries)) this.values.set(path, Object.freeze({ ...data }));
  }
  async get(path: string): Promise<SecretData> {
    this.reads.push(path);
    const value = this.values.get(path);
    if (value === undefined) throw new ProxyError('SECRET_NOT_FOUND', `Secret '${path}' does not exist in Vault.`);
    return value;
  }
  clear(): void {}
}

function service(target: string, secret: string, inject: ServiceConfig['inject'], extra: Partial<ServiceConfig> = {}): ServiceConfig {
  // These tests read the injected secret back from the echo: scrubbing is tested in scrub.test.ts.
  return { target, secret, inject, description: '', timeoutMs: 5000, scrub: false, ...extra };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** Sends a request byte for byte (no client-side URL normalization) and reads the whole answer. */
function rawRequest(port: number, requestLine: string, headers: string[] = []): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        `${requestLine}\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${CLIENT_TOKEN}\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`,
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split).split('\r\n');
      const status = Number(head[0]?.split(' ')[1]);
      const parsed: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers: parsed, text: text.slice(split + 4) });
    });
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Polls until `condition` holds; the default is a deadline for a broken proxy, not a pace. */
async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('forward (integration)', () => {
  let upstream: EchoUpstream;
  /** An upstream on the IPv6 loopback, addressed by a bracketed literal in its service's target. */
  let v6Upstream: http.Server;
  const v6Seen: http.IncomingHttpHeaders[] = [];
  let server: http.Server;
  let proxyUrl: string;
  let proxyPort: number;
  let handler: ForwardHandler;
  let secrets: MapSecrets;
  /** Every proxy-made error body seen by any test; none may contain the canary. */
  const errorBodies: string[] = [];
  /** Context of each finished request, by request id. */
  const contexts = new Map<string, RequestContext>();
  let nextId = 0;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    v6Upstream = http.createServer((req, res) => {
      v6Seen.push(req.headers);
      res.end(`v6 ${req.url}`);
    });
    // Its Keep-Alive hint (timeout=61) differs from the proxy listener's (Node's default, 5 s).
    v6Upstream.keepAliveTimeout = 61_000;
    await new Promise<void>((resolve) => v6Upstream.listen(0, '::1', resolve));
    const v6Port = (v6Upstream.address() as AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    secrets = new MapSecrets({
      'team/bearer': { token: CANARY },
      'team/header': { key: `hdr-${CANARY}` },
      'team/basic': { username: 'alice', password: `pw-${CANARY}` },
      'team/query': { token: `q ${CANARY}` },
      'team/broken': { token: `${CANARY}\n` },
      'team/misnamed': { api_token: `at-${CANARY}`, user: 'bot' },
    });
    const u = upstream.url;
    const services: Record<string, ServiceConfig> = {
      bearer: service(u, 'team/bearer', { type: 'bearer', field: 'token' }),
      based: service(`${u}/base`, 'team/bearer', { type: 'bearer', field: 'token' }),
      header: service(u, 'team/header', { type: 'header', name: 'X-API-Key', template: 'Key {{key}}' }),
      basic: service(u, 'team/basic', { type: 'basic', usernameField: 'username', passwordField: 'password' }),
      query: service(u, 'team/query', { type: 'query', param: 'api_key', field: 'token' }),
      policy: service(u, 'team/bearer', { type: 'bearer', field: 'token' }, { methods: ['GET'], paths: ['/allowed/**'] }),
      broken: service(u, 'team/broken', { type: 'bearer', field: 'token' }),
      misnamed: service(u, 'team/misnamed', { type: 'bearer', field: 'token' }),
      missing: service(u, 'team/nowhere', { type: 'bearer', field: 'token' }),
      forbidden: service(u, 'team/bearer', { type: 'bearer', field: 'token' }),
      down: service(`http://127.0.0.1:${deadPort}`, 'team/bearer', { type: 'bearer', field: 'token' }),
      slow: service(u, 'team/bearer', { type: 'bearer', field: 'token' }, { timeoutMs: 300 }),
      patient: service(u, 'team/bearer', { type: 'bearer', field: 'token' }, { timeoutMs: 10_000 }),
      ka: service(u, 'team/bearer', { type: 'bearer', field: 'token' }),
      v6: service(`http://[::1]:${v6Port}/base`, 'team/bearer', { type: 'bearer', field: 'token' }),
    };
    handler = createForwardHandler({ services, secrets, kvMountLabel: 'secret' });

    const app = express();
    app.use(rejectUnsafeRequestTarget);
    app.use((req, res, next) => {
      const sent = req.headers['x-request-id'];
      const ctx = newContext(typeof sent === 'string' ? sent : `req-${++nextId}`);
      res.locals.ctx = ctx;
      res.setHeader('x-request-id', ctx.requestId);
      res.on('close', () => contexts.set(ctx.requestId, ctx));
      next();
    });
    const authenticate: express.RequestHandler = (req, res, next) => {
      contextOf(res).client = {
        id: 'n8n-test',
        tokenId: 'test',
        expiresAt: null,
        services: new Set(Object.keys(services).filter((name) => name !== 'forbidden')),
      };
      next();
    };
    app.use('/forward', authenticate, handler);

    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyPort = (server.address() as AddressInfo).port;
    proxyUrl = `http://127.0.0.1:${proxyPort}`;
  });

  afterAll(async () => {
    handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await upstream.close();
    v6Upstream.closeAllConnections();
    await new Promise<void>((resolve) => v6Upstream.close(() => resolve()));
  });

  beforeEach(() => upstream.clear());

  afterAll(() => {
    // The canary is the secret value of every service: no proxy-made answer may carry it.
    expect(errorBodies.length).toBeGreaterThan(10);
    for (const body of errorBodies) expect(body).not.toContain(CANARY);
  });

  /** Checks the contract's error shape and remembers the body for the canary check. */
  function expectProxyError(
    res: { status: number; headers: Record<string, string>; text?: string; body?: unknown },
    code: string,
    status: number,
    source: string,
  ): ErrorBody {
    const text = res.text ?? JSON.stringify(res.body);
    errorBodies.push(text);
    expect(res.status).toBe(status);
    expect(res.headers[ERROR_HEADER]).toBe(code);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.error).toEqual({ code, message: expect.any(String), source, requestId: res.headers['x-request-id'] });
    expect(body.error.requestId).toBeTruthy();
    return body;
  }

  const get = (path: string) => request(proxyUrl).get(path).set('Authorization', `Bearer ${CLIENT_TOKEN}`);

  describe('injection reaches the upstream', () => {
    it('to a target named by an IPv6 literal: connects to it, with its bracketed host', async () => {
      v6Seen.length = 0;
      const port = (v6Upstream.address() as AddressInfo).port;
      for (const path of ['/forward/v6/hello?x=1', '/forward/v6/']) {
        const res = await get(path);
        expect(res.status).toBe(200);
        expect(res.text).toBe(`v6 ${path.replace('/forward/v6', '/base')}`);
      }
      expect(v6Seen.map((h) => [h.host, h.authorization])).toEqual([
        [`[::1]:${port}`, `Bearer ${CANARY}`],
        [`[::1]:${port}`, `Bearer ${CANARY}`],
      ]);
    });

    it('bearer: the client token is replaced by the secret, once', async () => {
      const res = await get('/forward/bearer/hello?x=1').set('x-request-id', 'rid-bearer');
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBe('rid-bearer');
      expect(res.body.url).toBe('/hello?x=1');
      expect(res.body.headers.authorization).toBe(`Bearer ${CANARY}`);
      expect(res.body.rawHeaders.filter((h: string) => h.toLowerCase() === 'authorization')).toHaveLength(1);
      expect(res.body.headers.host).toBe(`127.0.0.1:${upstream.port}`);
      const ctx = contexts.get('rid-bearer');
      expect(ctx).toMatchObject({ service: 'bearer', errorCode: null });
      expect(ctx?.secretMs).toEqual(expect.any(Number));
      expect(ctx?.upstreamMs).toEqual(expect.any(Number));
    });

    it('header: a same-name client header is replaced, not merged', async () => {
      const res = await get('/forward/header/h').set('X-API-Key', 'client-value').set('x-api-key', 'again');
      expect(res.status).toBe(200);
      expect(res.body.headers['x-api-key']).toBe(`Key hdr-${CANARY}`);
      expect(res.body.rawHeaders.filter((h: string) => h.toLowerCase() === 'x-api-key')).toHaveLength(1);
      expect(JSON.stringify(res.body)).not.toContain('client-value');
      expect(res.body.headers.authorization).toBeUndefined(); // the proxy token never travels
    });

    it('basic: base64(username:password)', async () => {
      const res = await get('/forward/basic/b').set('Authorization', `Basic ${Buffer.from('x:y').toString('base64')}`);
      expect(res.status).toBe(200);
      expect(res.body.headers.authorization).toBe(`Basic ${Buffer.from(`alice:pw-${CANARY}`).toString('base64')}`);
    });

    it('query: every client occurrence of the parameter is replaced, the rest kept byte for byte', async () => {
      const res = await get('/forward/query/q?api_key=mine&b=%20x+y&api%5Fkey=2&c');
      expect(res.status).toBe(200);
      expect(res.body.url).toBe(`/q?b=%20x+y&c&api_key=${encodeURIComponent(`q ${CANARY}`)}`);
      expect(res.body.headers.authorization).toBeUndefined();
    });

    it('query: added when the client sent no query', async () => {
      const res = await get('/forward/query');
      expect(res.body.url).toBe(`/?api_key=${encodeURIComponent(`q ${CANARY}`)}`);
    });
  });

  describe('paths', () => {
    it.each([
      ['/forward/based/hello', '/base/hello'],
      ['/forward/based/hello/', '/base/hello/'],
      ['/forward/based', '/base'],
      ['/forward/based/', '/base/'],
      ['/forward/based?x=1', '/base?x=1'],
      ['/forward/based/a%20b/c?q=%2F..', '/base/a%20b/c?q=%2F..'],
      ['/forward/bearer', '/'],
      ['/forward/bearer/', '/'],
      ['/forward/bearer?x=1', '/?x=1'],
    ])('%s reaches the upstream as %s', async (path, expected) => {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.body.url).toBe(expected);
    });

    it.each([
      'GET /forward/bearer/../based/x HTTP/1.1',
      'GET /forward/bearer/%2e%2e/based/x HTTP/1.1',
      'GET /forward/bearer/%2E./x HTTP/1.1',
      'GET /forward/bearer/.%2e/x HTTP/1.1',
      'GET /forward/bearer/%252e%252e/x HTTP/1.1',
      'GET /forward/bearer/..;/x HTTP/1.1',
      'GET /forward/bearer/a%2fb HTTP/1.1',
      'GET /forward/bearer/a%2F..%2Fb HTTP/1.1',
      'GET /forward/bearer/a%5cb HTTP/1.1',
      'GET /forward/bearer/a%252fb HTTP/1.1',
      'GET /forward/bearer/a\\b HTTP/1.1',
      'GET /forward/bearer/a%00b HTTP/1.1',
      'GET /forward/bearer/a%0d%0aX-Injected:1 HTTP/1.1',
      'GET /forward/bearer//evil.example/x HTTP/1.1',
      'GET /forward//bearer/x HTTP/1.1',
      'GET /forward/../forward/bearer/x HTTP/1.1',
      'GET /forward/%2e%2e/x HTTP/1.1',
      'GET /forward/bearer/%u002e%u002e/based HTTP/1.1',
      'GET /forward/bearer/%e0%80%ae%e0%80%ae/based HTTP/1.1',
      'GET /forward/bearer/%c0%2e HTTP/1.1',
      'GET /forward/bearer/%ef%bc%8e%ef%bc%8e%ef%bc%8fbased HTTP/1.1',
      'GET /forward/bearer/%25ef%25bc%258e%25ef%25bc%258e/based HTTP/1.1',
      'GET /forward/bearer/50% HTTP/1.1',
      // Before the policy: refused as a path, not matched against the allowed globs.
      'GET /forward/policy/allowed/%ef%bc%8e%ef%bc%8e/admin HTTP/1.1',
      'GET /forward/policy/allowed/%u002e%u002e/admin HTTP/1.1',
    ])('%s → 400 PATH_REJECTED and the upstream receives nothing', async (line) => {
      const res = await rawRequest(proxyPort, line);
      expectProxyError(res, 'PATH_REJECTED', 400, 'proxy');
      expect(upstream.received).toHaveLength(0);
    });

    it('rejects absolute-form targets before routing', async () => {
      const res = await rawRequest(proxyPort, `GET http://127.0.0.1:${upstream.port}/forward/bearer/x HTTP/1.1`);
      expectProxyError(res, 'PATH_REJECTED', 400, 'proxy');
      expect(res.text).toMatch(/Absolute-form/);
      expect(upstream.received).toHaveLength(0);
    });

    it('rejects TRACE', async () => {
      const res = await rawRequest(proxyPort, 'TRACE /forward/bearer/x HTTP/1.1');
      expectProxyError(res, 'METHOD_NOT_ALLOWED', 405, 'proxy');
      expect(upstream.received).toHaveLength(0);
    });
  });

  describe('headers', () => {
    it('hop-by-hop, proxy-internal and client forwarding headers are removed; no X-Forwarded-* is added', async () => {
      const res = await rawRequest(proxyPort, 'GET /forward/bearer/h HTTP/1.1', [
        'X-Hop: 1',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Proxy-Authorization: Basic eDp5',
        'Proxy-Connection: keep-alive',
        'X-Secure-Proxy-Debug: 1',
        'X-Forwarded-For: 6.6.6.6',
        'X-Forwarded-Host: evil.example',
        'Forwarded: for=6.6.6.6',
        'X-Real-IP: 6.6.6.6',
        'X-Keep: yes',
        'Connection: X-Hop',
      ]);
      expect(res.status).toBe(200);
      const echoed = upstream.received[0];
      const names = Object.keys(echoed?.headers ?? {});
      expect(names).toContain('x-keep');
      for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'x-secure-proxy-debug', 'forwarded', 'x-real-ip']) {
        expect(names).not.toContain(name);
      }
      expect(names.filter((n) => n.startsWith('x-forwarded-'))).toEqual([]);
      expect(echoed?.headers.authorization).toBe(`Bearer ${CANARY}`);
    });

    it("a keep-alive client gets the proxy listener's Connection and Keep-Alive, never the upstream's", async () => {
      const agent = new http.Agent({ keepAlive: true });
      try {
        const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
          http
            .get(`${proxyUrl}/forward/v6/x`, { agent, headers: { authorization: `Bearer ${CLIENT_TOKEN}` } }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.headers));
            })
            .on('error', reject);
        });
        expect(headers.connection).toBe('keep-alive');
        expect(headers['keep-alive']).toBe('timeout=5');
      } finally {
        agent.destroy();
      }
    });

    it('a Connection: close client gets Connection: close', async () => {
      const res = await rawRequest(proxyPort, 'GET /forward/bearer/h HTTP/1.1');
      expect(res.status).toBe(200);
      expect(res.headers.connection).toBe('close');
    });
  });

  describe('upstream responses', () => {
    it('redirects are relayed, not followed, and a Location inside the target is rewritten', async () => {
      const res = await get(`/forward/bearer/redirect?to=${encodeURIComponent(`${upstream.url}/elsewhere?a=1`)}`).redirects(0);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('/forward/bearer/elsewhere?a=1');
      expect(upstream.received).toHaveLength(1);
    });

    it('a path-absolute Location under the base path is rewritten', async () => {
      const res = await get(`/forward/based/redirect?status=307&to=${encodeURIComponent('/base/next/')}`).redirects(0);
      expect(res.status).toBe(307);
      expect(res.headers.location).toBe('/forward/based/next/');
    });

    it('a Location outside the target passes through untouched', async () => {
      const elsewhere = 'https://login.example.com/oauth?x=1';
      const res = await get(`/forward/bearer/redirect?to=${encodeURIComponent(elsewhere)}`).redirects(0);
      expect(res.headers.location).toBe(elsewhere);
      const outsideBase = await get(`/forward/based/redirect?to=${encodeURIComponent('/other/x')}`).redirects(0);
      expect(outsideBase.headers.location).toBe('/other/x');
      expect(upstream.received).toHaveLength(2);
    });

    it.each([404, 500, 503])('upstream %i is relayed unchanged, without the proxy error header', async (status) => {
      const res = await get(`/forward/bearer/status/${status}`).set('x-request-id', `rid-${status}`);
      expect(res.status).toBe(status);
      expect(res.body).toEqual({ upstream: 'echo', status });
      expect(res.headers['x-upstream']).toBe('echo');
      expect(res.headers[ERROR_HEADER]).toBeUndefined();
      expect(res.headers['x-request-id']).toBe(`rid-${status}`);
      expect(contexts.get(`rid-${status}`)).toMatchObject({ errorCode: null, errorSource: null });
    });

    it("an upstream cannot speak for the proxy: x-secure-proxy-* response headers are dropped, the request id is the proxy's", async () => {
      const res = await get('/forward/bearer/status/502?spoof=1').set('x-request-id', 'rid-spoof');
      expect(res.status).toBe(502);
      expect(res.headers[ERROR_HEADER]).toBeUndefined();
      expect(res.headers['x-request-id']).toBe('rid-spoof');
    });

    it('binary bodies pass through byte for byte', async () => {
      const res = await get('/forward/bearer/binary')
        .buffer(true)
        .parse((r, callback) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => callback(null, Buffer.concat(chunks)));
        });
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(Buffer.compare(res.body as Buffer, Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(0);
    });
  });

  describe('streaming', () => {
    it('a large chunked upstream body streams through', async () => {
      const chunks = 64; // 4 MiB
      const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http
          .get(`${proxyUrl}/forward/bearer/stream/${chunks}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } }, (r) => {
            const parts: Buffer[] = [];
            r.on('data', (c: Buffer) => parts.push(c));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(parts) }));
            r.on('error', reject);
          })
          .on('error', reject);
      });
      expect(res.status).toBe(200);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(res.body.length).toBe(streamBody(chunks).length);
      expect(sha256(res.body)).toBe(sha256(streamBody(chunks)));
    });

    it.each([
      ['chunked', false],
      ['with content-length', true],
    ])('a large request body (%s) streams to the upstream', async (_name, withLength) => {
      const body = streamBody(128); // 8 MiB
      const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/octet-stream' };
        if (withLength) headers['content-length'] = body.length;
        const req = http.request(`${proxyUrl}/forward/bearer/upload`, { method: 'POST', headers }, (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (text += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        Readable.from(
          (function* () {
            for (let i = 0; i < body.length; i += 256 * 1024) yield body.subarray(i, i + 256 * 1024);
          })(),
        ).pipe(req);
      });
      expect(res.status).toBe(200);
      const echoed = JSON.parse(res.text) as { bodyLength: number; bodySha256: string; headers: http.IncomingHttpHeaders };
      expect(echoed.bodyLength).toBe(body.length);
      expect(echoed.bodySha256).toBe(sha256(body));
      if (withLength) expect(echoed.headers['content-length']).toBe(String(body.length));
      else expect(echoed.headers['transfer-encoding']).toBe('chunked');
    });

    it('Expect: 100-continue is answered by the proxy and the body still arrives', async () => {
      const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${proxyUrl}/forward/bearer/expect`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${CLIENT_TOKEN}`, expect: '100-continue', 'content-length': 5 },
        });
        req.on('continue', () => req.end('hello'));
        req.on('response', (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (text += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        });
        req.on('error', reject);
      });
      expect(res.status).toBe(200);
      const echoed = JSON.parse(res.text) as { body: string; headers: http.IncomingHttpHeaders };
      expect(echoed.body).toBe('hello');
      expect(echoed.headers.expect).toBeUndefined();
    });

    it('sequential requests reuse one upstream connection (keep-alive)', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await get(`/forward/ka/n/${i}`);
        expect(res.status).toBe(200);
      }
      expect(upstream.received).toHaveLength(5);
      const ports = new Set(upstream.received.map((r) => r.remotePort));
      const connections = new Set(upstream.received.map((r) => r.connection));
      expect(ports.size).toBe(1);
      expect(connections.size).toBe(1);
    });

    it('an upstream failure after the response started cuts the client connection', async () => {
      const outcome = await new Promise<string>((resolve) => {
        http
          .get(`${proxyUrl}/forward/bearer/partial`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } }, (r) => {
            expect(r.statusCode).toBe(200);
            r.on('data', () => undefined);
            r.on('end', () => resolve('ended'));
            r.on('aborted', () => resolve('aborted'));
            r.on('error', () => resolve('error'));
          })
          .on('error', () => resolve('request error'));
      });
      expect(outcome).not.toBe('ended');
    });

    it('a client that disconnects aborts the upstream request', async () => {
      const socket = net.connect(proxyPort, '127.0.0.1', () => {
        socket.write(`GET /forward/bearer/slow/30000 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_TOKEN}\r\n\r\n`);
      });
      await waitFor(() => upstream.received.length === 1);
      socket.destroy();
      await waitFor(() => upstream.received[0]?.aborted === true);
    });
  });

  describe('refusals and failures', () => {
    it('unknown service → 404 SERVICE_UNKNOWN', async () => {
      const res = await get('/forward/nope/x');
      const body = expectProxyError(res, 'SERVICE_UNKNOWN', 404, 'proxy');
      expect(body.error.message).toContain("'nope'");
    });

    it.each(['/forward/', '/forward', '/forward/constructor/x', '/forward/__proto__/x'])('%s → 404 SERVICE_UNKNOWN', async (path) => {
      expectProxyError(await get(path), 'SERVICE_UNKNOWN', 404, 'proxy');
    });

    it('service the client may not use → 403 SERVICE_NOT_ALLOWED, and no secret is read', async () => {
      const before = secrets.reads.length;
      const res = await get('/forward/forbidden/x').set('x-request-id', 'rid-forbidden');
      expectProxyError(res, 'SERVICE_NOT_ALLOWED', 403, 'proxy');
      expect(secrets.reads.length).toBe(before);
      expect(contexts.get('rid-forbidden')).toMatchObject({ service: 'forbidden', errorCode: 'SERVICE_NOT_ALLOWED', errorSource: 'proxy' });
    });

    it('policy: method → 405 with Allow; path → 403; the upstream receives nothing', async () => {
      const method = await request(proxyUrl).delete('/forward/policy/allowed/x').set('Authorization', `Bearer ${CLIENT_TOKEN}`);
      expectProxyError(method, 'METHOD_NOT_ALLOWED', 405, 'proxy');
      expect(method.headers.allow).toBe('GET');
      expectProxyError(await get('/forward/policy/admin'), 'PATH_NOT_ALLOWED', 403, 'proxy');
      expect(upstream.received).toHaveLength(0);
      expect((await get('/forward/policy/allowed/deep/path')).status).toBe(200);
    });

    it('a secret field that cannot be sent → 502 SECRET_FIELD_MISSING (source vault), without the value', async () => {
      const res = await get('/forward/broken/x');
      const body = expectProxyError(res, 'SECRET_FIELD_MISSING', 502, 'vault');
      expect(body.error.message).toContain("'secret/team/broken'");
      expect(body.error.message).toContain("'token'");
      expect(upstream.received).toHaveLength(0);
    });

    it("a secret without the field → 502 SECRET_FIELD_MISSING listing the secret's field names, never a value", async () => {
      const body = expectProxyError(await get('/forward/misnamed/x'), 'SECRET_FIELD_MISSING', 502, 'vault');
      expect(body.error.message).toBe(
        "Secret 'secret/team/misnamed' has no field 'token'; its fields are 'api_token', 'user'. Add the field in Vault or fix the service's inject config.",
      );
      expect(upstream.received).toHaveLength(0);
    });

    it('a provider refusal passes through with its code', async () => {
      expectProxyError(await get('/forward/missing/x'), 'SECRET_NOT_FOUND', 502, 'vault');
    });

    it('upstream down → 502 UPSTREAM_UNREACHABLE (source upstream)', async () => {
      const res = await get('/forward/down/x').set('x-request-id', 'rid-down');
      const body = expectProxyError(res, 'UPSTREAM_UNREACHABLE', 502, 'upstream');
      expect(body.error.message).toMatch(/service 'down'.*ECONNREFUSED/);
      expect(contexts.get('rid-down')).toMatchObject({ errorCode: 'UPSTREAM_UNREACHABLE', errorSource: 'upstream' });
    });

    it('upstream resets the connection → 502 UPSTREAM_UNREACHABLE', async () => {
      expectProxyError(await get('/forward/bearer/reset'), 'UPSTREAM_UNREACHABLE', 502, 'upstream');
    });

    it('upstream slower than timeoutMs → 504 UPSTREAM_TIMEOUT, and the upstream request is aborted', async () => {
      // The upstream would answer 200 after 10 s: a 504 is the proxy's own timeout.
      const res = await get('/forward/slow/slow/10000');
      expectProxyError(res, 'UPSTREAM_TIMEOUT', 504, 'upstream');
      expect(res.body.error.message).toContain('300 ms');
      await waitFor(() => upstream.received[0]?.aborted === true);
    });

    it('upstream that takes a while but stays within timeoutMs is fine', async () => {
      // 10 s of timeoutMs leave a busy machine room; a timer that fired early or counted wrong would cut this.
      expect((await get('/forward/patient/slow/500')).status).toBe(200);
    });
  });
});
