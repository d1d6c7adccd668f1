/**
 * The whole proxy, end to end over loopback: token auth, service permissions, secrets from
 * Vault through the real node-vault client, injection, forwarding, the error contract, the
 * control plane, audit log, metrics and readiness. A canary secret proves nothing leaks.
 */
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';

const SECRET = canary('bearer');
const PASSWORD = canary('password');
const API_KEY = canary('apikey');

describe('proxy app', () => {
  let harness: ProxyHarness;
  let t: TestProxy;
  let vaultReads: string[];

  beforeAll(async () => {
    harness = await startHarness({
      'svc/echo': { token: SECRET },
      'svc/basic': { username: 'api-user', password: PASSWORD },
      'svc/header': { key: API_KEY },
    });
    t = await startProxy(harness, (_base, token) => ({
      clients: {
        'n8n-prod': {
          tokenHashes: [token('prod').hash, { hash: token('expired').hash, expiresAt: '2020-01-01T00:00:00Z', id: 'old' }],
          services: ['echo', 'basic', 'header', 'query', 'missing', 'forbidden', 'down', 'slow'],
        },
        'n8n-dev': { tokenHashes: [token('dev').hash], services: [] },
      },
      services: {
        echo: { target: `${harness.upstream.url}/base`, secret: 'svc/echo', inject: { type: 'bearer', field: 'token' }, description: 'Echo API' },
        basic: { target: harness.upstream.url, secret: 'svc/basic', inject: { type: 'basic' } },
        header: { target: harness.upstream.url, secret: 'svc/header', inject: { type: 'header', name: 'X-Api-Key', template: 'Key {{key}}' } },
        query: { target: harness.upstream.url, secret: 'svc/header', inject: { type: 'query', param: 'api_key', field: 'key' } },
        missing: { target: harness.upstream.url, secret: 'svc/missing', inject: { type: 'bearer' } },
        forbidden: { target: harness.upstream.url, secret: 'elsewhere/x', inject: { type: 'bearer' } },
        down: { target: 'http://127.0.0.1:9/', secret: 'svc/echo', inject: { type: 'bearer' } },
        slow: { target: harness.upstream.url, secret: 'svc/echo', inject: { type: 'bearer' }, timeoutMs: 300 },
      },
    }));
    vaultReads = [];
    t.proxy.events.on('vault:call', (e) => {
      if (e.operation === 'read') vaultReads.push(e.outcome);
    });
  });

  afterAll(async () => {
    await t?.proxy.stop();
    await harness?.close();
  });

  const bearer = (name: string) => ({ authorization: `Bearer ${t.tokens[name].token}` });

  function expectProxyError(res: request.Response, status: number, code: string, source: string): void {
    expect(res.status).toBe(status);
    expect(res.headers[ERROR_HEADER]).toBe(code);
    expect(res.body).toEqual({ error: { code, source, message: expect.any(String), requestId: res.headers['x-request-id'] } });
  }

  it('injects the Vault secret as a bearer token and relays the upstream answer', async () => {
    harness.upstream.clear();
    const res = await request(t.proxy.app).get('/forward/echo/users/42?page=2').set(bearer('prod')).set('x-custom', 'kept');
    expect(res.status).toBe(200);
    expect(res.headers[ERROR_HEADER]).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/.+/);
    const [received] = harness.upstream.received;
    expect(received.url).toBe('/base/users/42?page=2');
    expect(received.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(received.headers['x-custom']).toBe('kept');
    expect(JSON.stringify(received.headers)).not.toContain(t.tokens.prod.token);
  });

  it('injects basic, header-template and query credentials', async () => {
    harness.upstream.clear();
    await request(t.proxy.app).get('/forward/basic/a').set(bearer('prod')).expect(200);
    await request(t.proxy.app).get('/forward/header/b').set(bearer('prod')).set('x-api-key', 'client-value').expect(200);
    await request(t.proxy.app).get('/forward/query/c?api_key=client&x=1').set(bearer('prod')).expect(200);
    const [basic, header, query] = harness.upstream.received;
    expect(basic.headers.authorization).toBe(`Basic ${Buffer.from(`api-user:${PASSWORD}`).toString('base64')}`);
    expect(header.headers['x-api-key']).toBe(`Key ${API_KEY}`);
    expect(header.rawHeaders.filter((h) => h.toLowerCase() === 'x-api-key')).toHaveLength(1);
    expect(query.url).toBe(`/c?x=1&api_key=${API_KEY}`);
    expect(query.headers.authorization).toBeUndefined();
  });

  it('reads each secret from Vault once and serves later requests from the cache', async () => {
    const before = vaultReads.length;
    await Promise.all(Array.from({ length: 20 }, () => request(t.proxy.app).get('/forward/echo/x').set(bearer('prod')).expect(200)));
    expect(vaultReads.length).toBe(before);
  });

  it.each([
    ['no token', {}, 401, 'PROXY_TOKEN_MISSING'],
    ['a wrong scheme', { authorization: 'Basic Zm9vOmJhcg==' }, 401, 'PROXY_TOKEN_INVALID'],
    ['an unknown token', { authorization: 'Bearer spt_abc_' + 'x'.repeat(43) }, 401, 'PROXY_TOKEN_INVALID'],
  ])('refuses %s with the contract error', async (_name, headers, status, code) => {
    harness.upstream.clear();
    const res = await request(t.proxy.app)
      .get('/forward/echo/x')
      .set(headers as Record<string, string>);
    expectProxyError(res, status, code, 'proxy');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="secure-proxy"');
    expect(harness.upstream.received).toHaveLength(0);
  });

  it('refuses an expired token with PROXY_TOKEN_EXPIRED', async () => {
    const res = await request(t.proxy.app).get('/forward/echo/x').set(bearer('expired'));
    expectProxyError(res, 401, 'PROXY_TOKEN_EXPIRED', 'proxy');
    expect(res.body.error.message).toContain('2020-01-01T00:00:00.000Z');
  });

  it('refuses unknown services, services the client may not use, and unsafe paths', async () => {
    harness.upstream.clear();
    expectProxyError(await request(t.proxy.app).get('/forward/nope/x').set(bearer('prod')), 404, 'SERVICE_UNKNOWN', 'proxy');
    expectProxyError(await request(t.proxy.app).get('/forward/echo/x').set(bearer('dev')), 403, 'SERVICE_NOT_ALLOWED', 'proxy');
    expectProxyError(await request(t.proxy.app).get('/forward/echo/%2e%2e/admin').set(bearer('prod')), 400, 'PATH_REJECTED', 'proxy');
    expectProxyError(await request(t.proxy.app).get('/forward/echo/a%2f..%2fb').set(bearer('prod')), 400, 'PATH_REJECTED', 'proxy');
    expectProxyError(await request(t.proxy.app).get('/nowhere').set(bearer('prod')), 404, 'ROUTE_NOT_FOUND', 'proxy');
    expect(harness.upstream.received).toHaveLength(0);
  });

  it('names Vault as the source when the secret is missing or forbidden', async () => {
    const missing = await request(t.proxy.app).get('/forward/missing/x').set(bearer('prod'));
    expectProxyError(missing, 502, 'SECRET_NOT_FOUND', 'vault');
    expect(missing.body.error.message).toContain('svc/missing');
    const forbidden = await request(t.proxy.app).get('/forward/forbidden/x').set(bearer('prod'));
    expectProxyError(forbidden, 502, 'VAULT_FORBIDDEN', 'vault');
  });

  it('names the upstream as the source when it is down or too slow', async () => {
    expectProxyError(await request(t.proxy.app).get('/forward/down/x').set(bearer('prod')), 502, 'UPSTREAM_UNREACHABLE', 'upstream');
    expectProxyError(await request(t.proxy.app).get('/forward/slow/slow/10000').set(bearer('prod')), 504, 'UPSTREAM_TIMEOUT', 'upstream');
  });

  it('relays upstream errors unchanged, without the proxy error header', async () => {
    const res = await request(t.proxy.app).get('/forward/echo/status/404').set(bearer('prod'));
    expect(res.status).toBe(404);
    expect(res.headers[ERROR_HEADER]).toBeUndefined();
    expect(res.headers['x-upstream']).toBe('echo');
  });

  it('answers whoami and services for the calling client only, without secrets or targets', async () => {
    const whoami = await request(t.proxy.app).get('/v1/whoami').set(bearer('prod')).expect(200);
    expect(whoami.body).toEqual({
      clientId: 'n8n-prod',
      tokenId: t.tokens.prod.id,
      expiresAt: null,
      expiresInSeconds: null,
      expiringSoon: false,
      services: ['basic', 'down', 'echo', 'forbidden', 'header', 'missing', 'query', 'slow'],
    });
    const services = await request(t.proxy.app).get('/v1/services').set(bearer('prod')).expect(200);
    expect(services.body.services.find((s: { name: string }) => s.name === 'echo')).toEqual({
      name: 'echo',
      description: 'Echo API',
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      paths: ['/**'],
    });
    const text = JSON.stringify([whoami.body, services.body]);
    for (const hidden of [SECRET, PASSWORD, API_KEY, harness.upstream.url, 'svc/echo', t.tokens.prod.token]) expect(text).not.toContain(hidden);
    expect((await request(t.proxy.app).get('/v1/services').set(bearer('dev'))).body).toEqual({ services: [] });
    expectProxyError(await request(t.proxy.app).get('/v1/whoami'), 401, 'PROXY_TOKEN_MISSING', 'proxy');
  });

  it('reports health, readiness and metrics', async () => {
    await request(t.proxy.app).get('/healthz').expect(200, { status: 'ok' });
    await request(t.proxy.app).get('/readyz').expect(200);
    const metrics = await request(t.proxy.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/secure_proxy_requests_total\{[^}]*service="echo"[^}]*\} \d+/);
    expect(metrics.text).toMatch(/secure_proxy_secret_cache_total\{result="hit"\} [1-9]/);
    expect(metrics.text).toMatch(/secure_proxy_errors_total\{source="vault",code="SECRET_NOT_FOUND"\} [1-9]/);
    expect(metrics.text).toMatch(/secure_proxy_vault_requests_total\{operation="login",outcome="ok"\} 1/);
    for (const hidden of [SECRET, PASSWORD, API_KEY, t.tokens.prod.token]) expect(metrics.text).not.toContain(hidden);
    // An app with metrics of its own adds no process-wide collectors (they could never be removed): runProxy's process does.
    expect(metrics.text).not.toContain('nodejs_');
  });

  it('writes one audit line per request, and no secret or token in any log line', async () => {
    const res = await request(t.proxy.app).get('/forward/echo/audited?token=query-secret-value').set(bearer('prod')).expect(200);
    const requestId = res.headers['x-request-id'];
    const lines = t.logs.entries().filter((e) => e.requestId === requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', clientId: 'n8n-prod', service: 'echo', method: 'GET', status: 200, path: '/forward/echo/audited?token=' });
    const all = t.logs.text();
    for (const hidden of [SECRET, PASSWORD, API_KEY, 'query-secret-value', harness.appRole.secretId, ...Object.values(t.tokens).map((x) => x.token)]) {
      expect(all).not.toContain(hidden);
    }
  });
});
