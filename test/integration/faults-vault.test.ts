/**
 * Vault faults as the n8n user sees them: each fault is injected into a real Vault (the
 * emulator, or a real Vault where it can be asked for) while a whole proxy app serves HTTP, and
 * the answer is asserted end to end: status, `x-secure-proxy-error`, `source`, Retry-After,
 * `/readyz`, and that no secret, proxy token or Vault token is in any answer or log line.
 *
 * Covered at the module level elsewhere (not repeated here):
 * - vault-kv.test.ts: KV error mapping (missing / deleted / destroyed / wrong version /
 *   forbidden), sealed, 429 with Retry-After, nothing listening, Vault going away, slow Vault and
 *   standby redirects, each on the KV reader.
 * - vault-session.test.ts: AppRole re-login after a revoked token (concurrent reads share it),
 *   static token revoked, capped and refused renewals, Kubernetes login, token-free errors.
 * - secret-cache.test.ts (unit): TTL, single flight, refresh-ahead, stale-if-error bounds.
 * - lifecycle.test.ts: a cached secret served stale while Vault is sealed, then failing closed.
 *
 * Stale serving bridges outages only: when Vault refuses the proxy's own login the cache stops
 * at once (the "secret id destroyed" tests below).
 */
import request from 'supertest';
import { READINESS_SUMMARY } from '../../proxy/src/observability/health';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { deadPort, revokeTokensIssuedBy } from '../support/secrets-harness';
import { createAppRole, deleteSecretLatest, destroySecretId, itEmulatorOnly, sleep, sleepUntil, vaultCall, writePolicy } from '../support/vault-setup';

const ECHO_SECRET = canary('vault-echo');
const COLD_SECRET = canary('vault-cold');
const DELETED_SECRET = canary('vault-deleted');
const FORBIDDEN_SECRET = canary('vault-forbidden');

/** Every service reads its own secret, so one test's cache never hides another's fault. */
const SERVICES = { echo: 'svc/echo', cold: 'svc/cold', deleted: 'svc/deleted', forbidden: 'svc/forbidden' } as const;
type ServiceName = keyof typeof SERVICES;

/** A TTL of 1 s expires between two requests a short sleep apart. */
const EXPIRE_MS = 1100;

let harness: ProxyHarness;
const running: TestProxy[] = [];
/** Every answer body and log line of the suite, for the final leak check. */
const seen: string[] = [];
/** Credentials handed out during the suite (secret ids of extra roles). */
const credentials: string[] = [];

interface ProxyOptions {
  cache?: { ttlSeconds?: number; maxStaleSeconds?: number };
  vault?: { address?: string; timeoutMs?: number; auth?: { roleId: string; secretId: string } };
  /** A harness other than the shared one (a Vault this test may take away). */
  on?: ProxyHarness;
}

/** A proxy app for one test, against the shared harness unless told otherwise. */
async function proxyFor(options: ProxyOptions = {}): Promise<TestProxy> {
  const on = options.on ?? harness;
  const t = await startProxy(on, (base, token) => ({
    vault: {
      ...base.vault,
      ...(options.vault?.address === undefined ? {} : { address: options.vault.address }),
      ...(options.vault?.timeoutMs === undefined ? {} : { timeoutMs: options.vault.timeoutMs }),
      ...(options.vault?.auth === undefined ? {} : { auth: { ...base.vault.auth, ...options.vault.auth } }),
    },
    cache: { ttlSeconds: 1, maxStaleSeconds: 1, ...options.cache },
    clients: { n8n: { tokenHashes: [token('n8n').hash], services: Object.keys(SERVICES) } },
    services: Object.fromEntries(
      Object.entries(SERVICES).map(([name, secret]) => [name, { target: on.upstream.url, secret, inject: { type: 'bearer' as const, field: 'token' } }]),
    ),
  }));
  running.push(t);
  return t;
}

/** GET /forward/<service><path> with the proxy token; the answer is kept for the leak check. */
async function forward(t: TestProxy, service: ServiceName, path = '/x'): Promise<request.Response> {
  const res = await request(t.proxy.app).get(`/forward/${service}${path}`).set('authorization', `Bearer ${t.tokens.n8n.token}`);
  seen.push(res.text, JSON.stringify(res.headers));
  return res;
}

/**
 * `/readyz` as the ops listener serves it (with the reason); the main listener's answer is
 * checked on the way never to say why (no auth method, no address). Asked one after the other,
 * the two may see readiness change in between, so only the message is compared.
 */
async function readyz(t: TestProxy): Promise<request.Response> {
  const res = await request(t.proxy.ops).get('/readyz');
  const main = await request(t.proxy.app).get('/readyz');
  seen.push(res.text, main.text);
  if (main.status !== 200) expect(main.body.error.message).toBe(`Not ready: ${READINESS_SUMMARY}.`);
  return res;
}

/** The Authorization header the echo upstream last received. */
function lastInjected(on: ProxyHarness = harness): string | undefined {
  return on.upstream.received.at(-1)?.headers.authorization;
}

beforeAll(async () => {
  harness = await startHarness({
    [SERVICES.echo]: { token: ECHO_SECRET },
    [SERVICES.cold]: { token: COLD_SECRET },
    [SERVICES.deleted]: { token: DELETED_SECRET },
    [SERVICES.forbidden]: { token: FORBIDDEN_SECRET },
  });
});

afterEach(async () => {
  harness.vault.emulator?.faults.reset();
  for (const t of running.splice(0)) {
    await t.proxy.stop();
    seen.push(t.logs.text());
    credentials.push(t.tokens.n8n.token);
  }
  harness.upstream.clear();
});

afterAll(async () => {
  expectNothingHidden(seen, [ECHO_SECRET, COLD_SECRET, DELETED_SECRET, FORBIDDEN_SECRET, harness.appRole.secretId, harness.vault.rootToken, ...credentials]);
  await harness?.close();
});

describe('Vault faults through the whole proxy', () => {
  it('Vault down from the start: /readyz 503 NOT_READY and /forward 503 VAULT_UNAVAILABLE naming the refused connection', async () => {
    const t = await proxyFor({ vault: { address: `http://127.0.0.1:${await deadPort()}` } });
    const ready = await readyz(t);
    expect(expectProxyError(ready, 503, 'NOT_READY', 'proxy').message).toContain('refused the connection');

    const res = await forward(t, 'echo');
    const error = expectProxyError(res, 503, 'VAULT_UNAVAILABLE', 'vault');
    expect(error.message).toMatch(/^Vault unavailable while /);
    expect(error.message).toContain('refused the connection');
    expect(harness.upstream.received).toHaveLength(0);
  });

  itEmulatorOnly('Vault going away mid-run: the cached secret serves until maxStaleSeconds, then 503 VAULT_UNAVAILABLE', async () => {
    const doomed = await startHarness({ [SERVICES.echo]: { token: ECHO_SECRET } });
    try {
      // A staleness that a request sent just past the TTL is still decided within on a busy machine.
      const maxStaleMs = 4000;
      const t = await proxyFor({ on: doomed, cache: { ttlSeconds: 1, maxStaleSeconds: maxStaleMs / 1000 } });
      const readBefore = Date.now();
      expect((await forward(t, 'echo')).status).toBe(200);
      const readAfter = Date.now(); // the secret was read between the two: TTL and staleness run from then
      await doomed.vault.close();

      await sleepUntil(readAfter + EXPIRE_MS); // past the TTL
      const stale = await forward(t, 'echo');
      expect(stale.status).toBe(200);
      expect(Date.now()).toBeLessThan(readBefore + 1000 + maxStaleMs); // so decided within TTL + maxStale
      expect(lastInjected(doomed)).toBe(`Bearer ${ECHO_SECRET}`);
      expect(t.logs.entries().some((e) => e.msg === 'secret cache' && e.result === 'stale')).toBe(true);

      await sleepUntil(readAfter + EXPIRE_MS + maxStaleMs); // past TTL + maxStale
      doomed.upstream.clear();
      const closed = await forward(t, 'echo');
      expect(expectProxyError(closed, 503, 'VAULT_UNAVAILABLE', 'vault').message).toContain('older than the allowed staleness');
      expect(doomed.upstream.received).toHaveLength(0);
      expectProxyError(await readyz(t), 503, 'NOT_READY', 'proxy');
    } finally {
      await doomed.close();
    }
  });

  itEmulatorOnly('sealed: 503 VAULT_UNAVAILABLE and not ready; after unseal ready again and serving without a restart', async () => {
    const t = await proxyFor();
    await vaultCall(harness.vault, 'PUT', 'sys/seal');
    try {
      const error = expectProxyError(await forward(t, 'cold'), 503, 'VAULT_UNAVAILABLE', 'vault');
      expect(error.message).toContain('503');
      expect(expectProxyError(await readyz(t), 503, 'NOT_READY', 'proxy').message).toContain('503');
    } finally {
      await vaultCall(harness.vault, 'PUT', 'sys/unseal', { key: harness.vault.emulator!.unsealKey });
    }
    // The background probe notices the unseal without any traffic.
    const deadline = Date.now() + 20_000;
    while ((await readyz(t)).status !== 200) {
      if (Date.now() > deadline) throw new Error('not ready again 20 s after the unseal');
      await sleep(100);
    }
    expect((await forward(t, 'cold')).status).toBe(200);
    expect(lastInjected()).toBe(`Bearer ${COLD_SECRET}`);
  });

  itEmulatorOnly('slow Vault (latency above vault.timeoutMs): 503 VAULT_UNAVAILABLE saying Vault did not answer in time', async () => {
    const t = await proxyFor({ vault: { timeoutMs: 300 } });
    harness.vault.emulator!.faults.latencyMs = 2000;
    const error = expectProxyError(await forward(t, 'cold'), 503, 'VAULT_UNAVAILABLE', 'vault');
    expect(error.message).toContain('did not answer within vault.timeoutMs');
    expect(harness.upstream.received).toHaveLength(0);
  });

  itEmulatorOnly("rate limited (429 with Retry-After): 503 VAULT_UNAVAILABLE passing Vault's Retry-After to the client", async () => {
    const t = await proxyFor();
    expect((await forward(t, 'echo')).status).toBe(200); // the KV version is known: the next call is the read
    harness.vault.emulator!.faults.failNext(1, 429, { errors: ['request path "x": rate limit quota exceeded'] }, { 'Retry-After': '7' });
    const res = await forward(t, 'cold');
    expect(expectProxyError(res, 503, 'VAULT_UNAVAILABLE', 'vault').message).toContain('rate limiting');
    expect(res.headers['retry-after']).toBe('7');
    // The next request goes through: a rate limit is not remembered as an outage.
    expect((await forward(t, 'cold')).status).toBe(200);
  });

  it("the proxy's Vault token revoked mid-run: the next read logs in again (AppRole) and the client sees no failure", async () => {
    const t = await proxyFor({ cache: { ttlSeconds: 1, maxStaleSeconds: 0 } });
    expect((await forward(t, 'echo')).status).toBe(200);
    expect(await revokeTokensIssuedBy(harness.vault, `${harness.vault.prefix}-approle`)).toBeGreaterThanOrEqual(1);

    await sleep(EXPIRE_MS);
    const statuses = await Promise.all(Array.from({ length: 4 }, () => forward(t, 'echo').then((r) => r.status)));
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(lastInjected()).toBe(`Bearer ${ECHO_SECRET}`);
    const auth = t.logs
      .entries()
      .filter((e) => e.msg === 'vault auth')
      .map((e) => e.state);
    expect(auth).toEqual(['authenticated', 'expired', 'relogin']);
    expect((await readyz(t)).status).toBe(200);
  });

  it('AppRole secret id destroyed: the token already held keeps working until it expires, then re-login fails closed naming the auth problem', async () => {
    const approle = `${harness.vault.prefix}-approle`;
    // A role of its own with short-lived tokens, so "until it expires" happens within the test; long
    // enough to outlive the cache's TTL with room for a busy machine.
    const tokenTtlMs = 5000;
    const role = await createAppRole(harness.vault, approle, 'short-lived', {
      policies: [`${harness.vault.prefix}-proxy`],
      tokenTtl: tokenTtlMs / 1000,
      tokenMaxTtl: tokenTtlMs / 1000,
    });
    credentials.push(role.secretId);
    // A long staleness bound: a refused login must not be bridged by the cache like an outage.
    const beforeLogin = Date.now();
    const t = await proxyFor({ vault: { auth: role }, cache: { ttlSeconds: 1, maxStaleSeconds: 60 } });
    const readAt = Date.now();
    expect((await forward(t, 'echo')).status).toBe(200);
    await destroySecretId(harness.vault, approle, 'short-lived', role.secretId);

    await sleepUntil(readAt + EXPIRE_MS); // the cached secret expired; the held token still lives
    expect((await forward(t, 'echo')).status).toBe(200);
    expect(Date.now()).toBeLessThan(beforeLogin + tokenTtlMs - 1000); // so served on the held token
    // Until the held token runs out (Vault's clock, rounded to whole seconds) reads keep working;
    // then every re-login is refused and the next read fails closed.
    let res = await forward(t, 'echo');
    for (const deadline = readAt + tokenTtlMs + 20_000; res.status === 200 && Date.now() < deadline; res = await forward(t, 'echo')) await sleep(100);
    expect(Date.now() - beforeLogin).toBeGreaterThanOrEqual(tokenTtlMs - 1000);
    for (let i = 0; i < 2; i++, res = await forward(t, 'echo')) {
      const error = expectProxyError(res, 503, 'VAULT_UNAVAILABLE', 'vault');
      expect(error.message).toContain("Vault refused the proxy's login");
      expect(error.message).toContain('refused the approle login (400): the role id or secret id is invalid, expired or destroyed');
      expect(error.message).toContain('check vault.auth');
      harness.upstream.clear();
    }
    expect(harness.upstream.received).toHaveLength(0);
    expect(expectProxyError(await readyz(t), 503, 'NOT_READY', 'proxy').message).toContain('refused the approle login');
  });

  it('AppRole secret id destroyed and the token revoked: the first request after the TTL gets 503 at once, never a stale value', async () => {
    const approle = `${harness.vault.prefix}-approle`;
    const role = await createAppRole(harness.vault, approle, 'cut-off', { policies: [`${harness.vault.prefix}-proxy`], tokenTtl: '1h', tokenMaxTtl: '4h' });
    credentials.push(role.secretId);
    const t = await proxyFor({ vault: { auth: role }, cache: { ttlSeconds: 1, maxStaleSeconds: 60 } });
    expect((await forward(t, 'echo')).status).toBe(200);
    // What an admin does to cut the proxy off during an incident.
    await destroySecretId(harness.vault, approle, 'cut-off', role.secretId);
    expect(await revokeTokensIssuedBy(harness.vault, approle)).toBeGreaterThanOrEqual(1);

    await sleep(EXPIRE_MS); // past the TTL, far within TTL + maxStale
    harness.upstream.clear();
    for (let i = 0; i < 2; i++) {
      const error = expectProxyError(await forward(t, 'echo'), 503, 'VAULT_UNAVAILABLE', 'vault');
      expect(error.message).toMatch(/^Vault refused the proxy's login, so secret \S+ was not read and no cached copy is served/);
      expect(error.message).toContain('refused the approle login (400): the role id or secret id is invalid, expired or destroyed');
    }
    expect(harness.upstream.received).toHaveLength(0);
    expect(t.logs.entries().some((e) => e.msg === 'secret cache' && e.result === 'stale')).toBe(false);
    expect(expectProxyError(await readyz(t), 503, 'NOT_READY', 'proxy').message).toContain('refused the approle login (400)');
  });

  itEmulatorOnly('the token revoked and the re-login answered 503 (Vault failing, not refusing): the stale secret still serves', async () => {
    const t = await proxyFor({ cache: { ttlSeconds: 1, maxStaleSeconds: 60 } });
    expect((await forward(t, 'echo')).status).toBe(200);
    await sleep(EXPIRE_MS);
    // The read and lookup-self find the token dead; the login that would replace it meets a sealed Vault.
    const faults = harness.vault.emulator!.faults;
    faults.failNext(2, 403, { errors: ['permission denied', 'invalid token'] });
    faults.failNext(1, 503, { errors: ['Vault is sealed'] });
    harness.upstream.clear();
    expect((await forward(t, 'echo')).status).toBe(200);
    expect(lastInjected()).toBe(`Bearer ${ECHO_SECRET}`);
    expect(t.logs.entries().some((e) => e.msg === 'secret cache' && e.result === 'stale')).toBe(true);
    expect(
      t.logs
        .entries()
        .filter((e) => e.msg === 'vault auth')
        .map((e) => e.state),
    ).toEqual(['authenticated', 'expired', 'failed']);
  });

  it('secret deleted in Vault (KV v2 delete): after the TTL 502 SECRET_NOT_FOUND, and the old value is never served stale', async () => {
    const t = await proxyFor({ cache: { ttlSeconds: 1, maxStaleSeconds: 60 } });
    expect((await forward(t, 'deleted')).status).toBe(200);
    await deleteSecretLatest(harness.vault, harness.mount, SERVICES.deleted);

    await sleep(EXPIRE_MS);
    harness.upstream.clear();
    for (let i = 0; i < 2; i++) {
      const error = expectProxyError(await forward(t, 'deleted'), 502, 'SECRET_NOT_FOUND', 'vault');
      expect(error.message).toContain(`${harness.mount}/${SERVICES.deleted} was deleted`);
    }
    expect(harness.upstream.received).toHaveLength(0);
    // A deleted secret is not an outage: the proxy stays ready for the other services.
    expect((await readyz(t)).status).toBe(200);
  });

  it('read permission removed (policy rewritten): after the TTL 502 VAULT_FORBIDDEN, and the old value is never served stale', async () => {
    const approle = `${harness.vault.prefix}-approle`;
    const policy = `${harness.vault.prefix}-narrowed`;
    const readable = {
      path: { [`${harness.mount}/data/svc/*`]: { capabilities: ['read'] }, [`sys/internal/ui/mounts/${harness.mount}`]: { capabilities: ['read'] } },
    };
    await writePolicy(harness.vault, policy, readable);
    const role = await createAppRole(harness.vault, approle, 'narrowed', { policies: [policy], tokenTtl: '1h', tokenMaxTtl: '4h' });
    credentials.push(role.secretId);
    const t = await proxyFor({ vault: { auth: role }, cache: { ttlSeconds: 1, maxStaleSeconds: 60 } });
    expect((await forward(t, 'forbidden')).status).toBe(200);

    const { [`${harness.mount}/data/svc/*`]: _removed, ...rest } = readable.path;
    await vaultCall(harness.vault, 'PUT', `sys/policies/acl/${policy}`, { policy: JSON.stringify({ path: rest }) });
    await sleep(EXPIRE_MS);
    harness.upstream.clear();
    for (let i = 0; i < 2; i++) {
      const error = expectProxyError(await forward(t, 'forbidden'), 502, 'VAULT_FORBIDDEN', 'vault');
      expect(error.message).toContain(`"read" on ${harness.mount}/data/${SERVICES.forbidden}`);
    }
    expect(harness.upstream.received).toHaveLength(0);
    // The token itself is alive (lookup-self works): no re-login, still ready.
    expect(
      t.logs
        .entries()
        .filter((e) => e.msg === 'vault auth')
        .map((e) => e.state),
    ).toEqual(['authenticated']);
    expect((await readyz(t)).status).toBe(200);
  });
});
