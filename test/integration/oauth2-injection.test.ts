/**
 * oauth2 injection against a real authorization server (oidc-provider, in its own process)
 * and a resource server that introspects every token there: client credentials with Basic
 * and body client authentication, one token request for 50 concurrent cold requests, a
 * token revoked mid-run (one refresh, one retry), expiry, a reload keeping the token, a
 * refusing endpoint (UPSTREAM_TOKEN_FAILED, API not called), and the refresh token grant
 * with rotation written back to Vault (the emulator, through the real node-vault client)
 * across a restart and two replicas racing.
 */
import { ProxyEvents } from '../../proxy/src/observability/events';
import { TokenBroker, type TokenEvent } from '../../proxy/src/forward';
import { SecretCache } from '../../proxy/src/secrets/cache';
import { createKvReader } from '../../proxy/src/vault/kv';
import { createKvWriter } from '../../proxy/src/vault/kv-writer';
import { VaultSession } from '../../proxy/src/vault/session';
import type { ServiceConfig } from '../../proxy/src/config/schema';
import { fixedSecrets, forwardApp, serviceConfig, type ForwardApp } from '../support/forward-app';
import {
  startAuthorizationServer,
  startResourceServer,
  type AuthorizationServer,
  type RegisteredClient,
  type ResourceServer,
} from '../support/peers/oauth-peer';
import { expectProxyError } from '../support/proxy-assertions';
import { rawRequest } from '../support/raw-http';
import { vaultConfig } from '../support/secrets-harness';
import { enableKv, vaultCall, writeSecret } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

const CRM: RegisteredClient = {
  client_id: 'crm',
  client_secret: 'crm-client-secret-canary-6c1f0e2a9d',
  grant_types: ['client_credentials'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'read write',
};
const CRM_BODY: RegisteredClient = {
  ...CRM,
  client_id: 'crm-body',
  client_secret: 'crm-body-secret-canary-41b7',
  token_endpoint_auth_method: 'client_secret_post',
};
const MAIL: RegisteredClient = {
  client_id: 'mail',
  client_secret: 'mail-client-secret-canary-93ad',
  grant_types: ['refresh_token'],
  token_endpoint_auth_method: 'client_secret_basic',
};

type OAuth2Inject = Extract<ServiceConfig['inject'], { type: 'oauth2' }>;

function oauth2(tokenUrl: string, fields: Partial<OAuth2Inject> = {}): OAuth2Inject {
  return {
    type: 'oauth2',
    grant: 'client_credentials',
    tokenUrl,
    clientAuth: 'basic',
    clientIdField: 'client_id',
    clientSecretField: 'client_secret',
    refreshTokenField: 'refresh_token',
    ...fields,
  };
}

function secretOf(client: RegisteredClient): Record<string, string> {
  return { client_id: client.client_id, client_secret: client.client_secret };
}

describe('oauth2 injection, client credentials', () => {
  let as: AuthorizationServer;
  let api: ResourceServer;
  let proxy: ForwardApp;
  let base: string;
  const events: TokenEvent[] = [];
  const minted: string[] = [];
  const broker = new TokenBroker();
  broker.observe({ onEvent: (e) => events.push(e), onSecret: (values) => minted.push(...values) });

  const services = (): Record<string, ServiceConfig> => ({
    crm: serviceConfig({ target: `${api.url}/v1`, secret: 'svc/crm', inject: oauth2(as.tokenUrl, { scope: 'read' }) }),
    'crm-body': serviceConfig({ target: `${api.url}/v1`, secret: 'svc/crm-body', inject: oauth2(as.tokenUrl, { clientAuth: 'body' }) }),
    'crm-bad-secret': serviceConfig({ target: `${api.url}/v1`, secret: 'svc/crm-bad', inject: oauth2(as.tokenUrl) }),
  });
  const secrets = fixedSecrets({
    'svc/crm': secretOf(CRM),
    'svc/crm-body': secretOf(CRM_BODY),
    'svc/crm-bad': { client_id: CRM.client_id, client_secret: 'not-the-secret-canary-77' },
  });

  beforeAll(async () => {
    as = await startAuthorizationServer([CRM, CRM_BODY]);
    api = await startResourceServer(as, CRM);
    proxy = forwardApp({ services: services(), secrets, tokens: broker });
    base = await proxy.listen();
  });

  afterAll(async () => {
    await proxy.close();
    await api.close();
    await as.close();
  });

  it('mints one token for 50 concurrent cold requests, and every request carries it', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => rawRequest(base, { path: '/forward/crm/items' })));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect((await as.stats()).token.client_credentials).toBe(1);
    expect(new Set(api.seen.map((s) => s.token)).size).toBe(1);
    expect(events.filter((e) => e.kind === 'mint')).toHaveLength(1);
  });

  it('scrubs the access token from an answer that echoes it', async () => {
    const res = await rawRequest(base, { path: '/forward/crm/echo' });
    expect(res.status).toBe(200);
    const token = api.seen.at(-1)!.token;
    expect(res.transcript).not.toContain(token);
    expect(res.transcript).toContain('[REDACTED]');
    expect(minted).toContain(token);
  });

  it('refreshes once and retries a GET after the API refuses a revoked token; a POST gets the 401', async () => {
    const before = (await as.stats()).token.client_credentials;
    await as.revoke(CRM, api.seen.at(-1)!.token);
    const post = await rawRequest(base, { method: 'POST', path: '/forward/crm/items', body: '{}', headers: [['content-type', 'application/json']] });
    expect(post.status).toBe(401); // not idempotent: the API's answer, relayed
    expect((await as.stats()).token.client_credentials).toBe(before);
    const seenBefore = api.seen.length;
    const get = await rawRequest(base, { path: '/forward/crm/items' });
    expect(get.status).toBe(200);
    expect((await as.stats()).token.client_credentials).toBe(before + 1);
    // The refused try and the one retry: never more.
    expect(api.seen.slice(seenBefore).map((s) => s.accepted)).toEqual([false, true]);
  });

  it('does not loop when the fresh token is refused too', async () => {
    const before = (await as.stats()).token.client_credentials;
    const seenBefore = api.seen.length;
    // Revoke each token the API sees, so the retry's token is refused as well.
    const revoking = setInterval(() => {
      for (const s of api.seen.slice(seenBefore)) void as.revoke(CRM, s.token).catch(() => undefined);
    }, 5);
    await as.revoke(CRM, api.seen.at(-1)!.token);
    const res = await rawRequest(base, { path: '/forward/crm/items' });
    clearInterval(revoking);
    expect([200, 401]).toContain(res.status);
    expect(api.seen.length - seenBefore).toBeLessThanOrEqual(2);
    expect((await as.stats()).token.client_credentials - before).toBeLessThanOrEqual(1);
  });

  it('authenticates in the form body when the client is registered that way', async () => {
    const res = await rawRequest(base, { path: '/forward/crm-body/items' });
    // The API introspects as crm, so it cannot see crm-body's tokens as active: what counts is the token request.
    expect(res.headers['x-secure-proxy-error']).toBeUndefined();
    expect((await as.stats()).errors).not.toContain('invalid_client');
  });

  it.each([['a wrong client secret', 'crm-bad-secret', 'not-the-secret-canary-77']])(
    'answers UPSTREAM_TOKEN_FAILED for %s, with the OAuth error and no secret, and never calls the API',
    async (_name, service, secret) => {
      const seenBefore = api.seen.length;
      const res = await rawRequest(base, { path: `/forward/${service}/items` });
      const error = expectProxyError({ ...res, text: res.body.toString() }, 502, 'UPSTREAM_TOKEN_FAILED', 'upstream');
      expect(error.message).toContain("OAuth error 'invalid_client'");
      expect(res.transcript).not.toContain(secret);
      expect(api.seen.length).toBe(seenBefore);
      expect(events.some((e) => e.kind === 'failure')).toBe(true);
    },
  );

  it('keeps the token across a reload (a new handler on the same broker)', async () => {
    expect((await rawRequest(base, { path: '/forward/crm/items' })).status).toBe(200);
    const before = (await as.stats()).token.client_credentials;
    const reloaded = forwardApp({ services: services(), secrets, tokens: broker });
    const reloadedBase = await reloaded.listen();
    try {
      expect((await rawRequest(reloadedBase, { path: '/forward/crm/items' })).status).toBe(200);
      expect((await as.stats()).token.client_credentials).toBe(before);
    } finally {
      await reloaded.close();
    }
  });
});

describe('oauth2 injection, the token endpoint behind the address guard', () => {
  it('refuses a token endpoint whose name resolves to loopback, and reaches it when the service allows private addresses', async () => {
    const as = await startAuthorizationServer([CRM]);
    const api = await startResourceServer(as, CRM);
    const port = new URL(as.url).port;
    // auth.example.test "resolves" to loopback, as a rebinding DNS could make a public name do.
    const resolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
    const tokenUrl = `http://auth.example.test:${port}/token`;
    const proxy = forwardApp({
      services: {
        guarded: serviceConfig({ target: api.url, secret: 'svc/crm', inject: oauth2(tokenUrl) }),
        internal: serviceConfig({ target: api.url, secret: 'svc/crm', allowPrivateAddresses: true, inject: oauth2(tokenUrl) }),
      },
      secrets: fixedSecrets({ 'svc/crm': secretOf(CRM) }),
      resolveHost,
    });
    const base = await proxy.listen();
    try {
      const refused = await rawRequest(base, { path: '/forward/guarded/items' });
      const error = expectProxyError({ ...refused, text: refused.body.toString() }, 502, 'UPSTREAM_ADDRESS_FORBIDDEN', 'proxy');
      expect(error.message).toContain('OAuth2 token endpoint');
      expect((await as.stats()).token.client_credentials).toBe(0);
      expect(api.seen).toHaveLength(0);
      // With private addresses allowed, the same endpoint is reached and its token works.
      const allowed = await rawRequest(base, { path: '/forward/internal/items' });
      expect(allowed.status).toBe(200);
      expect((await as.stats()).token.client_credentials).toBe(1);
    } finally {
      await proxy.close();
      await api.close();
      await as.close();
    }
  });
});

describe('oauth2 injection, expiry', () => {
  it('uses a new token once the old one nears its end, with no request failing', async () => {
    const as = await startAuthorizationServer([CRM], 4); // every access token lives 4 s
    const api = await startResourceServer(as, CRM);
    const proxy = forwardApp({
      services: { crm: serviceConfig({ target: api.url, secret: 'svc/crm', inject: oauth2(as.tokenUrl) }) },
      secrets: fixedSecrets({ 'svc/crm': secretOf(CRM) }),
    });
    const base = await proxy.listen();
    try {
      // Progress by counts: requests go on until three different tokens were used (a deadline, not a pace).
      const deadline = Date.now() + 60_000;
      while (new Set(api.seen.map((s) => s.token)).size < 3) {
        if (Date.now() > deadline) throw new Error('no third token within the deadline');
        const res = await rawRequest(base, { path: '/forward/crm/items' });
        expect(res.status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Every token the API saw was active when it saw it: renewed ahead of expiry, never after a refusal.
      expect(api.seen.every((s) => s.accepted)).toBe(true);
    } finally {
      await proxy.close();
      await api.close();
      await as.close();
    }
  });
});

describe('oauth2 injection, refresh token grant with rotation in Vault', () => {
  const MOUNT = 'oauthkv';
  const PATH = 'services/mail';
  let target: VaultTarget;
  let as: AuthorizationServer;
  let api: ResourceServer;
  const sessions: VaultSession[] = [];
  const apps: ForwardApp[] = [];

  /** One proxy replica: its own Vault session, secret cache and token broker. */
  async function replica(): Promise<{ base: string; events: TokenEvent[] }> {
    const session = new VaultSession({
      vault: vaultConfig(target, { auth: { method: 'token', token: target.rootToken }, kvMount: MOUNT }),
      events: new ProxyEvents(),
    });
    sessions.push(session);
    await session.start();
    const secrets = new SecretCache(createKvReader(session, { mount: MOUNT, version: 2 }), { ttlMs: 60_000, maxStaleMs: 0, events: new ProxyEvents() });
    const broker = new TokenBroker();
    const events: TokenEvent[] = [];
    broker.observe({ onEvent: (e) => events.push(e) });
    const app = forwardApp({
      services: { mail: serviceConfig({ target: api.url, secret: PATH, inject: oauth2(as.tokenUrl, { grant: 'refresh_token' }) }) },
      secrets,
      tokens: broker,
      secretWriter: createKvWriter(session, { mount: MOUNT, version: 2 }),
    });
    apps.push(app);
    return { base: await app.listen(), events };
  }

  async function stored(): Promise<Record<string, string>> {
    const body = await vaultCall<{ data: { data: Record<string, string> } }>(target, 'GET', `${MOUNT}/data/${PATH}`);
    return body.data.data;
  }

  beforeAll(async () => {
    target = await startVaultTarget();
    await enableKv(target, MOUNT, 2);
    as = await startAuthorizationServer([MAIL]);
    api = await startResourceServer(as, MAIL);
    await writeSecret(target, MOUNT, PATH, { ...secretOf(MAIL), refresh_token: await as.issueRefreshToken(MAIL.client_id), note: 'kept' }, 2);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const session of sessions) await session.stop();
    await api.close();
    await as.close();
    await target.close();
  });

  it('refreshes, writes the rotated refresh token back before using the access token, and keeps the other fields', async () => {
    const first = (await stored()).refresh_token;
    const one = await replica();
    const res = await rawRequest(one.base, { path: '/forward/mail/messages' });
    expect(res.status).toBe(200);
    const after = await stored();
    expect(after.refresh_token).not.toBe(first);
    expect(after.note).toBe('kept');
    expect(after.refresh_token_refreshing_until).toBeUndefined();
    expect(one.events.map((e) => e.kind)).toEqual(['mint', 'writeback']);
    expect((await as.stats()).errors).toEqual([]);
  });

  it('continues after a restart with the refresh token Vault holds', async () => {
    const before = (await stored()).refresh_token;
    const restarted = await replica();
    expect((await rawRequest(restarted.base, { path: '/forward/mail/messages' })).status).toBe(200);
    expect((await stored()).refresh_token).not.toBe(before);
    expect((await as.stats()).errors).toEqual([]);
  });

  it('lets two cold replicas race without losing the rotation (the endpoint revokes the grant on any reuse)', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const refreshesBefore = (await as.stats()).token.refresh_token;
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, () => rawRequest(a.base, { path: '/forward/mail/messages' })),
      ...Array.from({ length: 10 }, () => rawRequest(b.base, { path: '/forward/mail/messages' })),
    ]);
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const stats = await as.stats();
    expect(stats.errors).toEqual([]); // no refresh token was ever used twice
    expect(stats.token.refresh_token - refreshesBefore).toBe(2); // one refresh per replica, one after the other
    // And the token Vault holds now still works for the next replica.
    const next = await replica();
    expect((await rawRequest(next.base, { path: '/forward/mail/messages' })).status).toBe(200);
  });

  it('answers UPSTREAM_TOKEN_FAILED (invalid_grant) when the stored refresh token was revoked, never calling the API', async () => {
    const current = await stored();
    await as.revoke(MAIL, current.refresh_token);
    const seenBefore = api.seen.length;
    const cold = await replica();
    const res = await rawRequest(cold.base, { path: '/forward/mail/messages' });
    const error = expectProxyError({ ...res, text: res.body.toString() }, 502, 'UPSTREAM_TOKEN_FAILED', 'upstream');
    expect(error.message).toContain("'invalid_grant'");
    expect(res.transcript).not.toContain(current.refresh_token);
    expect(res.transcript).not.toContain(MAIL.client_secret);
    expect(api.seen.length).toBe(seenBefore);
    // The claim was released: the next refresh need not wait for its deadline.
    expect((await stored()).refresh_token_refreshing_until).toBeUndefined();
  });
});
