/**
 * Response scrubbing end to end: the forward handler in front of the echo upstream (which
 * echoes the injected Authorization header in its JSON body) and a small upstream of our own
 * for compressed, binary and header echoes. The secret must never come back to the client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import express from 'express';
import request from 'supertest';
import type { ServiceConfig } from '../../proxy/src/config/schema';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { createForwardHandler, type ForwardHandler } from '../../proxy/src/forward';
import { contextOf, newContext } from '../../proxy/src/app/request-context';
import type { SecretData, SecretProvider } from '../../proxy/src/secrets/types';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';

const CANARY = 'CANARY-5d1f0a-s3cr3t';
const BASIC_B64 = Buffer.from(`alice:pw-${CANARY}`).toString('base64');

const secrets: SecretProvider = {
  async get(path: string): Promise<SecretData> {
    return path === 'team/basic' ? { username: 'alice', password: `pw-${CANARY}` } : { token: CANARY };
  },
  clear() {},
};

/** Answers by path with what it received in its Authorization header, in various shapes. */
function startTrickyUpstream(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const text = `you sent: ${auth}\n`.repeat(50);
    switch (req.url) {
      case '/gzip': {
        const body = zlib.gzipSync(text);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length });
        res.end(body);
        return;
      }
      case '/br': {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
        res.end(zlib.brotliCompressSync(JSON.stringify({ auth })));
        return;
      }
      case '/zstd': {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'zstd' });
        res.end(text); // not really zstd: the proxy must refuse before reading it
        return;
      }
      case '/binary': {
        const body = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(auth), Buffer.from([254, 0])]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
        return;
      }
      case '/headers': {
        res.setHeader('x-echo', auth);
        res.setHeader('set-cookie', [`a=${auth.slice(7)}; Path=/`, 'b=plain']);
        res.writeHead(204);
        res.end();
        return;
      }
      default:
        res.writeHead(404);
        res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('response scrubbing (integration)', () => {
  let echo: EchoUpstream;
  let tricky: http.Server;
  let server: http.Server;
  let handler: ForwardHandler;
  let proxyUrl: string;

  beforeAll(async () => {
    echo = await startEchoUpstream();
    tricky = await startTrickyUpstream();
    const trickyUrl = `http://127.0.0.1:${(tricky.address() as AddressInfo).port}`;
    const svc = (target: string, secret: string, inject: ServiceConfig['inject'], scrub = true): ServiceConfig => ({
      target,
      secret,
      inject,
      description: '',
      timeoutMs: 5000,
      scrub,
    });
    const bearer = { type: 'bearer', field: 'token' } as const;
    const services: Record<string, ServiceConfig> = {
      bearer: svc(echo.url, 'team/bearer', bearer),
      basic: svc(echo.url, 'team/basic', { type: 'basic', usernameField: 'username', passwordField: 'password' }),
      off: svc(echo.url, 'team/bearer', bearer, false),
      tricky: svc(trickyUrl, 'team/bearer', bearer),
    };
    handler = createForwardHandler({ services, secrets });
    const app = express();
    let n = 0;
    app.use((_req, res, next) => {
      res.locals.ctx = newContext(`req-${++n}`);
      next();
    });
    app.use(
      '/forward',
      (_req, res, next) => {
        contextOf(res).client = { id: 't', tokenId: 't', expiresAt: null, services: new Set(Object.keys(services)) };
        next();
      },
      handler,
    );
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    tricky.closeAllConnections();
    await new Promise<void>((resolve) => tricky.close(() => resolve()));
    await echo.close();
  });

  /** Fetches raw bytes (no client-side decompression) through the proxy. */
  function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      http
        .get(`${proxyUrl}${path}`, { headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  }

  it('bearer: the JSON echo of the Authorization header comes back redacted', async () => {
    const res = await request(proxyUrl).get('/forward/bearer/anything');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(CANARY);
    expect(res.body.headers.authorization).toBe('Bearer [REDACTED]');
    expect(echo.received[echo.received.length - 1].headers.authorization).toBe(`Bearer ${CANARY}`); // it did reach the upstream
    expect(echo.received[echo.received.length - 1].headers['accept-encoding']).toBe('identity');
    expect(res.headers['content-length']).toBeUndefined(); // the length changed: chunked
  });

  it('basic: the base64 form is redacted too', async () => {
    const res = await request(proxyUrl).get('/forward/basic/x');
    expect(res.text).not.toContain(BASIC_B64);
    expect(res.text).not.toContain(CANARY);
    expect(res.body.headers.authorization).toBe('Basic [REDACTED]');
  });

  it('scrub: false relays the echo unchanged', async () => {
    const res = await request(proxyUrl).get('/forward/off/x');
    expect(res.body.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(res.headers['content-length']).toBeDefined();
  });

  it('a gzip text answer is decoded, scrubbed and relayed uncompressed', async () => {
    const res = await raw('/forward/tricky/gzip');
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.toString('utf8')).toBe('you sent: Bearer [REDACTED]\n'.repeat(50));
  });

  it('a brotli JSON answer is decoded and scrubbed', async () => {
    const res = await raw('/forward/tricky/br');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({ auth: 'Bearer [REDACTED]' });
  });

  it('a text answer in an encoding the proxy cannot decode is refused, not relayed (fail closed)', async () => {
    const res = await raw('/forward/tricky/zstd');
    expect(res.status).toBe(502);
    expect(res.headers[ERROR_HEADER]).toBe('UPSTREAM_UNSCRUBBABLE');
    expect(JSON.parse(res.body.toString('utf8')).error).toMatchObject({ code: 'UPSTREAM_UNSCRUBBABLE', source: 'upstream' });
    expect(res.body.toString('utf8')).not.toContain(CANARY);
  });

  it('binary bodies pass byte for byte, even with the secret inside (only text types are scrubbed)', async () => {
    // Rewriting bytes of an image or archive would corrupt it; an API echoing a credential does so in text.
    const res = await raw('/forward/tricky/binary');
    const expected = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(`Bearer ${CANARY}`), Buffer.from([254, 0])]);
    expect(res.body.equals(expected)).toBe(true);
    expect(res.headers['content-length']).toBe(String(expected.length));
  });

  it('response headers are scrubbed, Set-Cookie arrays included', async () => {
    const res = await raw('/forward/tricky/headers');
    expect(res.status).toBe(204);
    expect(res.headers['x-echo']).toBe('Bearer [REDACTED]');
    expect(res.headers['set-cookie']).toEqual(['a=[REDACTED]; Path=/', 'b=plain']);
    expect(JSON.stringify(res.headers)).not.toContain(CANARY);
  });
});
