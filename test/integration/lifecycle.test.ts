/**
 * The proxy through time: a cached secret outlives a Vault outage up to the configured
 * staleness and then fails closed; SIGTERM lets in-flight requests finish before exit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract';
import { generateToken } from '../../proxy/src/clients/tokens';
import { cleanEnv, startCli } from '../support/cli';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { describeEmulatorOnly, sleep, vaultCall } from '../support/vault-setup';

const SECRET = canary('lifecycle');

describeEmulatorOnly('secret cache through a Vault outage', () => {
  let harness: ProxyHarness;
  let t: TestProxy;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    t = await startProxy(harness, (_base, token) => ({
      cache: { ttlSeconds: 1, maxStaleSeconds: 1 },
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['echo', 'other'] } },
      services: {
        echo: { target: harness.upstream.url, secret: 'svc/echo', inject: { type: 'bearer' } },
        other: { target: harness.upstream.url, secret: 'svc/never-read', inject: { type: 'bearer' } },
      },
    }));
  });

  afterAll(async () => {
    await t?.proxy.stop();
    await harness?.close();
  });

  it('serves a stale secret while Vault is sealed, up to maxStaleSeconds, then fails closed', async () => {
    const auth = { authorization: `Bearer ${t.tokens.n8n.token}` };
    const cacheResults: string[] = [];
    t.proxy.events.on('secret:cache', (e) => cacheResults.push(e.result));

    await request(t.proxy.app).get('/forward/echo/a').set(auth).expect(200);
    await vaultCall(harness.vault, 'PUT', 'sys/seal');
    try {
      // A secret never read before has nothing to fall back on.
      const cold = await request(t.proxy.app).get('/forward/other/a').set(auth);
      expect(cold.status).toBe(503);
      expect(cold.headers[ERROR_HEADER]).toBe('VAULT_UNAVAILABLE');
      expect(cold.body.error.source).toBe('vault');

      await sleep(1200); // past the TTL, within TTL + maxStale
      harness.upstream.clear();
      await request(t.proxy.app).get('/forward/echo/b').set(auth).expect(200);
      expect(harness.upstream.received[0].headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(cacheResults).toContain('stale');

      await sleep(1100); // past TTL + maxStale
      const closed = await request(t.proxy.app).get('/forward/echo/c').set(auth);
      expect(closed.status).toBe(503);
      expect(closed.headers[ERROR_HEADER]).toBe('VAULT_UNAVAILABLE');
      expect(JSON.stringify(closed.body)).not.toContain(SECRET);

      const ready = await request(t.proxy.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers[ERROR_HEADER]).toBe('NOT_READY');
    } finally {
      await vaultCall(harness.vault, 'PUT', 'sys/unseal', { key: harness.vault.emulator!.unsealKey });
    }
    await request(t.proxy.app).get('/forward/echo/d').set(auth).expect(200);
    await request(t.proxy.app).get('/readyz').expect(200);
    expect(t.logs.text()).not.toContain(SECRET);
  });
});

describe('graceful shutdown of the secure-proxy process', () => {
  let harness: ProxyHarness;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('finishes in-flight requests on SIGTERM, then exits 0 and stops listening', async () => {
    const token = generateToken();
    const dir = mkdtempSync(join(tmpdir(), 'sp-lifecycle-'));
    const configFile = join(dir, 'proxy.yaml');
    writeFileSync(
      configFile,
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        'vault:',
        `  address: ${harness.vault.address}`,
        `  auth: { method: approle, roleId: "\${VAULT_ROLE_ID}", secretId: "\${VAULT_SECRET_ID}", mount: ${harness.vault.prefix}-approle }`,
        `  kvMount: ${harness.mount}`,
        'clients:',
        `  n8n-prod: { tokenHashes: ["${token.hash}"], services: [echo] }`,
        'services:',
        `  echo: { target: "${harness.upstream.url}/base", secret: svc/echo, inject: { type: bearer, field: token } }`,
        '',
      ].join('\n'),
    );
    const env = cleanEnv({ VAULT_ROLE_ID: harness.appRole.roleId, VAULT_SECRET_ID: harness.appRole.secretId });
    const proc = await startCli(['serve', '--config', configFile], /"msg":"proxy listening"/, { env });
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(proc.output())![1];
    const auth = { authorization: `Bearer ${token.token}` };

    const inFlight = fetch(`${url}/forward/echo/slow/800`, { headers: auth });
    await sleep(300);
    proc.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { url: string }).url).toBe('/base/slow/800');
    expect(await proc.exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const output = proc.output();
    expect(output).toContain('"msg":"proxy stopped"');
    for (const hidden of [SECRET, token.token, harness.appRole.secretId]) expect(output).not.toContain(hidden);
  });
});
