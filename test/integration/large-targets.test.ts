/**
 * Request targets as large as the listener accepts (listen.maxHeaderBytes at its 1 MiB
 * maximum), in the shapes that make naive string work quadratic: every stage before the answer
 * (target checks, routing, the audit line's query stripping) takes one pass over them, so each
 * gets its answer and the proxy keeps serving. A quadratic stage would take seconds per request
 * (a 1 MiB query of '&' used to block the event loop for 5 s).
 */
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { closeGracefully, listen, type Listening } from '../../proxy/src/listener/server';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { rawExchange } from '../support/raw-socket';

const MAX_HEADER_BYTES = 1024 * 1024;
/** Room for the rest of the header section. */
const TARGET_BYTES = MAX_HEADER_BYTES - 4096;

describe('a megabyte request target', () => {
  let harness: ProxyHarness;
  let t: TestProxy;
  let listening: Listening;
  let port: number;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: canary('large') } });
    t = await startProxy(harness, (_base, token) => ({
      listen: { maxHeaderBytes: MAX_HEADER_BYTES },
      logging: { level: 'info' },
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['echo'] } },
      services: { echo: { target: harness.upstream.url, secret: 'svc/echo', inject: { type: 'bearer' } } },
    }));
    listening = await listen(t.proxy.app, '127.0.0.1', 0, undefined, { maxHeaderBytes: MAX_HEADER_BYTES });
    port = Number(new URL(listening.url).port);
  });

  afterAll(async () => {
    if (listening !== undefined) await closeGracefully(listening.server, 1000);
    await t?.proxy.stop();
    await harness?.close();
  });

  const fill = (unit: string, prefix: string): string => `${prefix}${unit.repeat(Math.floor((TARGET_BYTES - prefix.length) / unit.length))}`;

  it.each([
    ['a query of &', fill('&', '/forward/echo/x?')],
    ['a query of =', fill('=', '/forward/echo/x?')],
    ['a query of k=&', fill('k=&', '/forward/echo/x?')],
    ['a query of %26', fill('%26', '/forward/echo/x?')],
    ['a path of segments', fill('a/', '/forward/echo/')],
    ['a path of ;', fill(';', '/forward/echo/x')],
    ['a path of %25', fill('%25', '/forward/echo/')],
    ['a path of %ef%bc%a1', fill('%ef%bc%a1', '/forward/echo/')],
    ['a path of dots', fill('.', '/forward/echo/x')],
    ['an unknown route', fill('&', '/nowhere?')],
    ['the ops route', fill('&', '/healthz?')],
  ])('%s: answered, and the proxy keeps serving', async (_shape, target) => {
    const answer = await rawExchange(port, [
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${t.tokens.n8n.token}\r\nConnection: close\r\n\r\n`,
    ]);
    expect(answer.status).toBeGreaterThanOrEqual(200);
    expect(answer.headers['x-request-id']).toEqual(expect.any(String));
    const next = await rawExchange(port, [`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`]);
    expect({ status: next.status, code: next.headers[ERROR_HEADER] }).toEqual({ status: 200, code: undefined });
    // The audit line is bounded however long the target was.
    const line = t.logs.entries().find((entry) => entry.msg === 'request' && entry.requestId === answer.headers['x-request-id']);
    expect(String(line?.path).length).toBeLessThanOrEqual(2049);
  });
});
