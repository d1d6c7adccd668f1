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
import { SMALL_ANSWER_BYTES } from '../../proxy/src/forward/exchange';
import { contextOf, newContext } from '../../proxy/src/app/request-context';
import type { SecretData, SecretProvider } from '../../proxy/src/secrets/types';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';

const CANARY = 'CANARY-5d1f0a-s3cr3t';
const BASIC_B64 = Buffer.from(`alice:pw-${CANARY}`).toString('base64');
/** Characters WHATWG URL serialisation, JSON and HTML escape differently, and Latin-1 ones that travel as one byte each. */
const TRICKY = `tr'ck"y {k} ü-${CANARY.slice(-6)}`;
/** Injected as a header value: Node writes it as Latin-1 bytes. */
const LATIN1 = `clé-ä-${CANARY.slice(0, 8)}`;

const secrets: SecretProvider = {
  async get(path: string): Promise<SecretData> {
    if (path === 'team/basic') return { username: 'alice', password: `pw-${CANARY}` };
    if (path === 'team/tricky') return { token: TRICKY };
    if (path === 'team/latin1') return { key: LATIN1 };
    return { token: CANARY };
  },
  clear() {},
};

const SIZED_STRIDE = 4096;

/** `bytes` of filler with `echo` written every SIZED_STRIDE bytes, each one 7 bytes before a stride mark (so some straddle read boundaries). */
function sizedBody(bytes: number, echo: string): Buffer {
  const body = Buffer.alloc(bytes, '.');
  for (let at = SIZED_STRIDE - 7; at + echo.length <= bytes; at += SIZED_STRIDE) body.write(echo, at, 'latin1');
  return body;
}

/** How many echoes sizedBody writes. */
function sizedEchoes(bytes: number, echoLength: number): number {
  let count = 0;
  for (let at = SIZED_STRIDE - 7; at + echoLength <= bytes; at += SIZED_STRIDE) count += 1;
  return count;
}

/** Every spelling of `value` a careless upstream might echo, for "nowhere in the answer" checks. */
function spellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const forms = [value, json, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)];
  forms.push(Buffer.from(value, 'utf8').toString('latin1'));
  return [...new Set(forms)];
}

/** Answers by path with what it received in its Authorization header, in various shapes. */
function startTrickyUpstream(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const token = auth.replace(/^Bearer /, '');
    const text = `you sent: ${auth}\n`.repeat(50);
    const path = (req.url ?? '').split('?')[0];
    switch (path) {
      case '/location': {
        // Same origin, so the proxy rewrites it (and the WHATWG parser re-encodes ' " space { } in the process).
        res.writeHead(302, { location: `http://${req.headers.host}/next?token=${token}#${token}`, 'content-length': 0 });
        res.end();
        return;
      }
      case '/latin1': {
        // Echoes the header's bytes exactly as they arrived (Latin-1), in a header and in the body.
        const raw = Buffer.from(String(req.headers['x-api-key']), 'latin1');
        res.writeHead(200, { 'content-type': 'text/plain', 'x-echo': req.headers['x-api-key'] });
        res.end(Buffer.concat([Buffer.from('key='), raw]));
        return;
      }
      case '/header-name': {
        res.setHeader(`x-echo-${token.toLowerCase()}`, 'yes');
        res.setHeader('x-kept', 'yes');
        res.writeHead(204);
        res.end();
        return;
      }
      case '/range': {
        // Honours Range the way an API does: the echo split into parts as asked.
        const body = Buffer.from(`{"token":"${token}"}`);
        const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
        if (range === null) {
          res.writeHead(200, { 'content-type': 'application/json', 'accept-ranges': 'bytes', 'content-length': body.length });
          res.end(body);
          return;
        }
        const part = body.subarray(Number(range[1]), Number(range[2]) + 1);
        res.writeHead(206, {
          'content-type': 'application/json',
          'content-range': `bytes ${range[1]}-${range[2]}/${body.length}`,
          'content-length': part.length,
        });
        res.end(part);
        return;
      }
      case '/typed': {
        const type = new URL(req.url ?? '/', 'http://x').searchParams.get('type') ?? 'application/octet-stream';
        res.writeHead(200, { 'content-type': type });
        res.end(`--b\r\nContent-Type: text/plain\r\n\r\ntoken: ${token}\r\n--b--\r\n`);
        return;
      }
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
      case '/sized': {
        // `bytes` of filler with the credential echoed every 4 KiB (one across the 64 KiB mark), sent with its length.
        const bytes = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
        const body = sizedBody(bytes, auth);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
        res.end(body);
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
      quoted: svc(trickyUrl, 'team/tricky', bearer),
      latin1: svc(trickyUrl, 'team/latin1', { type: 'header', name: 'X-Api-Key', template: '{{key}}' }),
      skip: { ...svc(trickyUrl, 'team/bearer', bearer), scrubSkipContentTypes: ['application/octet-stream', 'image/*'] },
      rawoff: svc(trickyUrl, 'team/bearer', bearer, false),
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
    // A small answer with a declared length is scrubbed whole and sent with its new length.
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.text)));
    expect(res.headers['transfer-encoding']).toBeUndefined();
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

  it('binary bodies are scrubbed too, by default', async () => {
    const res = await raw('/forward/tricky/binary');
    const expected = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from('Bearer [REDACTED]'), Buffer.from([254, 0])]);
    expect(res.body.equals(expected)).toBe(true);
    expect(res.headers['content-length']).toBe(String(expected.length));
  });

  it('an answer above the whole-read size streams through the scrubber (chunked), every echo redacted, one split across chunks', async () => {
    const res = await raw('/forward/tricky/sized?bytes=200000');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBeUndefined(); // the length changed: chunked
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const text = res.body.toString('latin1');
    expect(text).not.toContain(CANARY);
    expect(text.split('Bearer [REDACTED]').length - 1).toBe(sizedEchoes(200000, `Bearer ${CANARY}`.length));
  });

  it('an answer of exactly the whole-read size is read whole, scrubbed, and sent with its new length', async () => {
    const res = await raw(`/forward/tricky/sized?bytes=${SMALL_ANSWER_BYTES}`);
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(res.headers['content-length']).toBe(String(res.body.length));
    const text = res.body.toString('latin1');
    expect(text).not.toContain(CANARY);
    expect(text.split('Bearer [REDACTED]').length - 1).toBe(sizedEchoes(SMALL_ANSWER_BYTES, `Bearer ${CANARY}`.length));
  });

  it('a content type the service opts out of (scrubSkipContentTypes) passes byte for byte, its headers still scrubbed', async () => {
    const res = await raw('/forward/skip/binary');
    const expected = Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(`Bearer ${CANARY}`), Buffer.from([254, 0])]);
    expect(res.body.equals(expected)).toBe(true);
    expect(res.headers['content-length']).toBe(String(expected.length));
    const typed = await raw('/forward/skip/typed?type=image/png');
    expect(typed.body.toString('latin1')).toContain(CANARY);
    // Only the named types: the same service's other answers are scrubbed.
    const text = await raw('/forward/skip/typed?type=text/plain');
    expect(text.body.toString('latin1')).not.toContain(CANARY);
  });

  it.each([
    'application/yaml',
    'message/http',
    'multipart/mixed; boundary=b',
    'application/x-ndjson',
    'text/event-stream',
    'application/pdf',
    'Application/Octet-Stream',
  ])('a %s body is scrubbed', async (type) => {
    const res = await raw(`/forward/tricky/typed?type=${encodeURIComponent(type)}`);
    expect(res.status).toBe(200);
    expect(res.body.toString('latin1')).toContain('token: [REDACTED]');
    expect(res.body.toString('latin1')).not.toContain(CANARY);
  });

  it('a same-origin Location is scrubbed in the form it leaves in, after the rewrite re-encoded it', async () => {
    const res = await raw('/forward/quoted/location');
    expect(res.status).toBe(302);
    const location = String(res.headers.location);
    expect(location.startsWith('/forward/quoted/next?token=')).toBe(true);
    for (const form of [...spellings(TRICKY), new URL(`http://h/?${TRICKY}`).search.slice(1), new URL(`http://h/#${TRICKY}`).hash.slice(1)]) {
      expect(location.includes(form) ? form : null).toBeNull();
    }
    expect(location).toContain('[REDACTED]');
  });

  it('a header-injected secret with Latin-1 characters is scrubbed in its Latin-1 bytes, in headers and body', async () => {
    const res = await raw('/forward/latin1/latin1');
    expect(res.status).toBe(200);
    expect(res.body.toString('latin1')).toBe('key=[REDACTED]');
    expect(res.headers['x-echo']).toBe('[REDACTED]');
    for (const form of spellings(LATIN1)) expect(`${res.body.toString('latin1')} ${JSON.stringify(res.headers)}`.includes(form) ? form : null).toBeNull();
  });

  it('a header whose name holds the secret is dropped whole', async () => {
    const res = await raw('/forward/tricky/header-name');
    expect(res.status).toBe(204);
    expect(res.headers['x-kept']).toBe('yes');
    expect(JSON.stringify(res.headers).toLowerCase()).not.toContain(CANARY.toLowerCase());
  });

  it('Range is not forwarded on a scrubbing service: the whole answer comes back, scrubbed', async () => {
    for (const range of ['bytes=0-14', 'bytes=10-20', 'bytes=15-40']) {
      const res = await raw('/forward/tricky/range', { range, 'if-range': 'x' });
      expect(res.status).toBe(200);
      expect(res.body.toString('utf8')).toBe('{"token":"[REDACTED]"}');
    }
    // Without scrubbing, Range reaches the API as sent.
    const off = await raw('/forward/rawoff/range', { range: 'bytes=0-4' });
    expect({ status: off.status, body: off.body.toString('utf8') }).toEqual({ status: 206, body: '{"tok' });
  });

  it('response headers are scrubbed, Set-Cookie arrays included', async () => {
    const res = await raw('/forward/tricky/headers');
    expect(res.status).toBe(204);
    expect(res.headers['x-echo']).toBe('Bearer [REDACTED]');
    expect(res.headers['set-cookie']).toEqual(['a=[REDACTED]; Path=/', 'b=plain']);
    expect(JSON.stringify(res.headers)).not.toContain(CANARY);
  });
});
