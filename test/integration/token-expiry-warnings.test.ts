/**
 * Expiry warnings on a running proxy: a token from the Vault records that expires in two
 * days shows in `secure_proxy_tokens_expiring_soon{client}` and
 * `secure_proxy_token_expiry_timestamp_seconds{client}`, gets exactly one warn line (not one
 * more per re-read of the records), and `/v1/whoami` reports `expiresInSeconds` and
 * `expiringSoon`. Static config-file clients are watched the same way.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { generateToken } from '../../proxy/src/auth/token-format';
import type { TokenStoreRefreshEvent } from '../../proxy/src/observability/events';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { RECORDS_PATH, setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { vaultCall } from '../support/vault-setup';

const DAY = 86_400_000;

describe('proxy token expiry warnings', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  const tokens: string[] = [];

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: canary('svc') } });
    store = await setUpTokenStore(harness);
  });

  afterAll(async () => {
    await store?.close();
    await harness?.close();
  });

  function expectNoTokenIn(t: TestProxy, text: string): void {
    expectNothingHidden([text], [...tokens, ...tokens.map((token) => createHash('sha256').update(token).digest('hex'))]);
    expect(t.logs.text()).not.toContain('sha256:');
  }

  it('a token expiring in 2 days: gauge 1, one warn line across re-reads, whoami expiresInSeconds', async () => {
    const token = generateToken();
    tokens.push(token.token);
    const expiresAt = new Date(Date.now() + 2 * DAY).toISOString();
    const later = generateToken();
    tokens.push(later.token);
    await vaultCall(harness.vault, 'POST', `${harness.mount}/data/${RECORDS_PATH}/n8n-soon`, {
      data: {
        services: ['echo'],
        tokens: [
          { id: token.id, hash: token.hash, createdAt: new Date().toISOString(), expiresAt },
          { id: later.id, hash: later.hash, createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60 * DAY).toISOString() },
        ],
      },
    });
    const t = await store.replica({ refreshSeconds: 1 });
    // Two scheduled re-reads after the first: each swaps the index and recomputes the window.
    await new Promise<void>((resolve) => {
      let reads = 0;
      const onRefresh = (e: TokenStoreRefreshEvent) => {
        if (e.outcome === 'ok' && ++reads === 2) {
          t.proxy.events.off('tokens:refresh', onRefresh);
          resolve();
        }
      };
      t.proxy.events.on('tokens:refresh', onRefresh);
    });

    const metrics = await request(t.proxy.app).get('/metrics');
    expect(metrics.text).toMatch(/^secure_proxy_tokens_expiring_soon\{client="n8n-soon"\} 1$/m);
    expect(metrics.text).toMatch(new RegExp(`^secure_proxy_token_expiry_timestamp_seconds\\{client="n8n-soon"\\} ${Date.parse(expiresAt) / 1000}$`, 'm'));

    const warnings = t.logs.entries().filter((e) => e.level === 'warn' && String(e.msg).startsWith(`proxy token ${token.id}`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(
      new RegExp(
        `^proxy token ${token.id} of client n8n-soon expires at ${expiresAt.replace(/\./g, '\\.')} \\(in 1d 23h\\); rotate it with secure-proxy token rotate --client n8n-soon$`,
      ),
    );
    expect(warnings[0]).toMatchObject({ client: 'n8n-soon', tokenId: token.id, expiresAt });
    expect(t.logs.text()).not.toContain(`proxy token ${later.id}`);

    const whoami = await request(t.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${token.token}`);
    expect(whoami.status).toBe(200);
    expect(whoami.body.expiresAt).toBe(expiresAt);
    expect(whoami.body.expiringSoon).toBe(true);
    expect(whoami.body.expiresInSeconds).toBeGreaterThan(2 * 86_400 - 120);
    expect(whoami.body.expiresInSeconds).toBeLessThanOrEqual(2 * 86_400);
    const calm = await request(t.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${later.token}`);
    expect(calm.body).toMatchObject({ expiringSoon: false });
    expect(calm.body.expiresInSeconds).toBeGreaterThan(59 * 86_400);
    expectNoTokenIn(t, `${metrics.text}\n${t.logs.text()}`);
  });

  it('static clients too; tokenExpiryWarningSeconds: 0 turns the warnings off but keeps the expiry gauge', async () => {
    const inHours = new Date(Date.now() + 3 * 3_600_000).toISOString();
    const configure = (windowSeconds: number) => (_base: unknown, token: (name: string) => { hash: string; id: string }) => ({
      tokenExpiryWarningSeconds: windowSeconds,
      clients: { 'n8n-static': { tokenHashes: [{ hash: token('a').hash, id: token('a').id, expiresAt: inHours }], services: ['echo'] } },
      services: { echo: { target: `${harness.upstream.url}/base`, secret: 'svc/echo', inject: { type: 'bearer' as const } } },
    });
    const watched = await startProxy(harness, configure(604800));
    const quiet = await startProxy(harness, configure(0));
    store.proxies.push(watched, quiet);
    tokens.push(watched.tokens.a.token, quiet.tokens.a.token);

    const warned = watched.logs.entries().filter((e) => e.level === 'warn' && String(e.msg).includes('of client n8n-static expires at'));
    expect(warned).toHaveLength(1);
    expect(warned[0].msg).toContain('issue a new one with secure-proxy token generate and add it to clients.n8n-static.tokenHashes in the config file');
    expect((await request(watched.proxy.app).get('/metrics')).text).toMatch(/^secure_proxy_tokens_expiring_soon\{client="n8n-static"\} 1$/m);

    expect(quiet.logs.text()).not.toContain('expires at');
    const quietMetrics = (await request(quiet.proxy.app).get('/metrics')).text;
    expect(quietMetrics).toMatch(/^secure_proxy_tokens_expiring_soon\{client="n8n-static"\} 0$/m);
    expect(quietMetrics).toMatch(new RegExp(`^secure_proxy_token_expiry_timestamp_seconds\\{client="n8n-static"\\} ${Date.parse(inHours) / 1000}$`, 'm'));
    const whoami = await request(quiet.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${quiet.tokens.a.token}`);
    expect(whoami.body).toMatchObject({ expiresAt: inHours, expiringSoon: false });
    expectNoTokenIn(watched, watched.logs.text());
  });
});
