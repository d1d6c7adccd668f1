/**
 * A proxy-made error carries nothing the upstream chose. On a scrubbing service the upstream's
 * status line and headers are copied onto the response before its body is relayed; when the
 * relay then fails before a byte went out, the proxy's error must not go out wearing the
 * upstream's `set-cookie`, its other headers or its reason phrase.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { REQUEST_ID_HEADER } from '../../proxy/src/contract/contract';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';

const SECRET = canary('error-head');
const UPSTREAM_COOKIE = canary('upstream-cookie');
const UPSTREAM_HEADER = canary('upstream-header');
/** Short, so the silent answer times out quickly; generous for a loopback answer's headers. */
const SERVICE_TIMEOUT_MS = 400;

/**
 * An API whose answers all carry a cookie and a header of its own and a reason phrase:
 * `/zstd` has a text body in an encoding the proxy cannot scrub, `/silent` sends its head
 * and then nothing.
 */
async function startOpinionatedUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.statusMessage = `Fine ${UPSTREAM_HEADER}`;
    res.setHeader('set-cookie', [`session=${UPSTREAM_COOKIE}; Path=/; HttpOnly`]);
    res.setHeader('x-upstream-secret', UPSTREAM_HEADER);
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    if (req.url?.endsWith('/zstd')) {
      res.setHeader('content-encoding', 'zstd');
      res.end('not really zstd: the proxy refuses before reading it');
      return;
    }
    res.flushHeaders();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('proxy errors after the upstream answered', () => {
  let harness: ProxyHarness;
  let upstream: Awaited<ReturnType<typeof startOpinionatedUpstream>>;
  let t: TestProxy;
  const seen: string[] = [];

  beforeAll(async () => {
    harness = await startHarness({ 'svc/api': { token: SECRET } });
    upstream = await startOpinionatedUpstream();
    t = await startProxy(harness, (_base, token) => ({
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['api'] } },
      services: { api: { target: upstream.url, secret: 'svc/api', inject: { type: 'bearer' }, timeoutMs: SERVICE_TIMEOUT_MS } },
    }));
  });

  afterAll(async () => {
    await t?.proxy.stop();
    await upstream?.close();
    await harness?.close();
    expectNothingHidden([...seen, t.logs.text()], [SECRET, t.tokens.n8n.token]);
  });

  it.each([
    ['a text body in an encoding the proxy cannot scrub', '/zstd', 502, 'UPSTREAM_UNSCRUBBABLE', 'Bad Gateway'],
    ['a scrubbed body that goes silent before its first byte', '/silent', 504, 'UPSTREAM_TIMEOUT', 'Gateway Timeout'],
  ] as const)('%s: the error carries none of the upstream headers or its reason phrase', async (_name, path, status, code, reason) => {
    const res = await request(t.proxy.app).get(`/forward/api${path}`).set('authorization', `Bearer ${t.tokens.n8n.token}`);
    seen.push(res.text, JSON.stringify(res.headers));
    expectProxyError(res, status, code, 'upstream');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['x-upstream-secret']).toBeUndefined();
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers[REQUEST_ID_HEADER]).toEqual(expect.any(String));
    expect((res as unknown as { res: http.IncomingMessage }).res.statusMessage).toBe(reason);
    expect(JSON.stringify(res.headers)).not.toContain(UPSTREAM_COOKIE);
    expect(JSON.stringify(res.headers)).not.toContain(UPSTREAM_HEADER);
  });
});
