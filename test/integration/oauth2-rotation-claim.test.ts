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

  const stored = async (path = PATH): Promise<Record<string, string>> =>
    (await vaultCall<{ data: { data: Record<string, string> } }>(target, 'GET', `${MOUNT}/data/${path}`)).data.data;

  /** Polls until the secret at `path` holds a claim; returns its deadline. */
  const claimed = async (path = PATH): Promise<number> => {
    for (let waited = 0; waited < 20_000; waited += 50) {
      const value = (await stored(path)).refresh_token_refreshing_until;
      if (value !== undefined) return Number(value);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no claim appeared on ${path} within 20 s`);
  };

  const refresh = (path: string, broker: TokenBroker): Promise<unknown> => {
    const tokenUrl = new URL(`http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/token`);
    tokenFetch ??= createTokenFetch({ tokenUrl, allowPrivateAddresses: true });
    return refreshWithRotation(
      {
        endpoint: { service: 'mail', tokenUrl, clientAuth: 'basic', timeoutMs: SERVICE_TIMEOUT_MS, fetch: tokenFetch },
        secretPath: path,
        secretLabel: `${MOUNT}/${path}`,
        refreshTokenField: 'refresh_token',
        writer: createKvWriter(session, { mount: MOUNT, version: 2 }),
        broker,
        claimMs: CLAIM_MS,
      },
      { clientId: 'mail', clientSecret: CLIENT_SECRET },
    ).then(
      () => null,
      (err: unknown) => err,
    );
  };

  it('gives up on an endpoint that does not answer while a third of the claim is left, and releases the claim', async () => {
    const failure = refresh(PATH, new TokenBroker());

    // While the request hangs, the claim is in Vault with its deadline.
    const claimedUntil = await claimed();
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

  it('says so when Vault does not take the release: the claim then holds until its deadline', async () => {
    const path = 'services/mail-release';
    await writeSecret(target, MOUNT, path, { client_id: 'mail', client_secret: CLIENT_SECRET, refresh_token: REFRESH_TOKEN }, 2);
    const broker = new TokenBroker();
    const kinds: string[] = [];
    const detach = broker.observe({ onSecret: () => undefined, onEvent: (event) => kinds.push(event.kind) });
    try {
      const failure = refresh(path, broker);
      const claimedUntil = await claimed(path);
      // The next Vault request, the release once the token request is given up on, meets a sealed Vault.
      target.emulator!.faults.failNext(1, 503, { errors: ['Vault is sealed'] });

      const err = await failure;
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).code).toBe('UPSTREAM_TOKEN_FAILED');
      expect(kinds).toContain('claim_release_failed');
      expect((await stored(path)).refresh_token_refreshing_until).toBe(String(claimedUntil));
    } finally {
      detach();
    }
  }, 60_000);
});
