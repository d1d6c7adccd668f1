/**
 * The refresh token grant's claim bounds its token request: a token endpoint that does not
 * answer is given up on while the claim still holds, however long the service's timeoutMs,
 * and the claim is released. Were the request still running at the deadline, another replica
 * could claim the secret and send the same refresh token, which a rotating endpoint answers by
 * revoking the grant. The endpoint here is a loopback server that takes the request and never
 * answers; the secret is in Vault (the emulator, through the real node-vault client).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyError } from '../../proxy/src/contract/proxy-error';
import { TokenBroker } from '../../proxy/src/forward';
import { refreshWithRotation } from '../../proxy/src/forward/inject/oauth2/rotation';
import { createTokenFetch, type TokenFetch } from '../../proxy/src/forward/inject/oauth2/token-fetch';
import { ProxyEvents } from '../../proxy/src/observability/events';
import { createKvWriter } from '../../proxy/src/vault/kv-writer';
import { VaultSession } from '../../proxy/src/vault/session';
import { vaultConfig } from '../support/secrets-harness';
import { enableKv, vaultCall, writeSecret } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

const MOUNT = 'claimkv';
const PATH = 'services/mail';
const REFRESH_TOKEN = 'refresh-token-canary-5e0b7d2c41';
const CLIENT_SECRET = 'client-secret-canary-9a3f61d0be';
/** Short enough for a test, long enough that a late timer on a busy machine still lands inside it. */
const CLAIM_MS = 9_000;
/** What the service's timeoutMs would allow: more than the claim. */
const SERVICE_TIMEOUT_MS = 25_000;

describe('oauth2 refresh token grant: the claim bounds the token request', () => {
  let target: VaultTarget;
  let session: VaultSession;
  let endpoint: http.Server;
  let tokenFetch: TokenFetch;
  /** When the endpoint got the request, and when its connection was closed (the proxy gave up). */
  const seen: { requestAt?: number; closedAt?: number } = {};

  beforeAll(async () => {
    target = await startVaultTarget();
    await enableKv(target, MOUNT, 2);
    await writeSecret(target, MOUNT, PATH, { client_id: 'mail', client_secret: CLIENT_SECRET, refresh_token: REFRESH_TOKEN }, 2);
    session = new VaultSession({
      vault: vaultConfig(target, { auth: { method: 'token', token: target.rootToken }, kvMount: MOUNT }),
      events: new ProxyEvents(),
    });
    await session.start();
    endpoint = http.createServer((req) => {
      seen.requestAt = Date.now();
      req.resume();
      req.socket.once('close', () => (seen.closedAt = Date.now()));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    tokenFetch?.close();
    endpoint.closeAllConnections();
    await new Promise((resolve) => endpoint.close(resolve));
    await session?.stop();
    await target?.close();
  });

  const stored = async (): Promise<Record<string, string>> =>
    (await vaultCall<{ data: { data: Record<string, string> } }>(target, 'GET', `${MOUNT}/data/${PATH}`)).data.data;

  it('gives up on an endpoint that does not answer while a third of the claim is left, and releases the claim', async () => {
    const tokenUrl = new URL(`http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token`);
    tokenFetch = createTokenFetch({ tokenUrl, allowPrivateAddresses: true });
    const refreshing = refreshWithRotation(
      {
        endpoint: { service: 'mail', tokenUrl, clientAuth: 'basic', timeoutMs: SERVICE_TIMEOUT_MS, fetch: tokenFetch },
        secretPath: PATH,
        secretLabel: `${MOUNT}/${PATH}`,
        refreshTokenField: 'refresh_token',
        writer: createKvWriter(session, { mount: MOUNT, version: 2 }),
        broker: new TokenBroker(),
        claimMs: CLAIM_MS,
      },
      { clientId: 'mail', clientSecret: CLIENT_SECRET },
    );
    const failure = refreshing.then(
      () => null,
      (err: unknown) => err,
    );

    // While the request hangs, the claim is in Vault with its deadline.
    let claimedUntil = Number.NaN;
    for (let waited = 0; Number.isNaN(claimedUntil) && waited < 20_000; waited += 50) {
      const value = (await stored()).refresh_token_refreshing_until;
      if (value !== undefined) claimedUntil = Number(value);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(claimedUntil).toBeGreaterThan(Date.now() - CLAIM_MS);

    const err = await failure;
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).code).toBe('UPSTREAM_TOKEN_FAILED');
    expect((err as ProxyError).message).toContain('could not be reached');
    expect((err as ProxyError).message).not.toContain(REFRESH_TOKEN);

    // The endpoint got the request and the proxy hung up before the claim ran out, not after the service's timeout.
    expect(seen.requestAt).toBeDefined();
    for (let waited = 0; seen.closedAt === undefined && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.closedAt).toBeDefined();
    expect(seen.closedAt!).toBeLessThan(claimedUntil);

    // Released at once, with the refresh token as it was: the next refresh need not wait for the deadline.
    const after = await stored();
    expect(after.refresh_token_refreshing_until).toBeUndefined();
    expect(after.refresh_token).toBe(REFRESH_TOKEN);
  }, 60_000);
});
