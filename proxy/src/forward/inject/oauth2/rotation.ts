/**
 * The refresh token grant with rotation, safe across restarts and replicas. The refresh token
 * lives in the service's Vault KV v2 secret; a token endpoint that rotates it invalidates the
 * old one, and many endpoints revoke the whole grant when an old one is used again. So one
 * refresh at a time across every replica, coordinated through the secret itself:
 *
 * 1. read the secret (fresh, with its version);
 * 2. claim it: write it back unchanged plus `<refreshTokenField>_refreshing_until` (a deadline)
 *    with check-and-set on that version. Losing the check-and-set, or finding another
 *    replica's unexpired claim, means someone else is refreshing: wait and read again, then
 *    refresh with the token they stored (the winner's);
 * 3. refresh at the token endpoint;
 * 4. write the new refresh token (or the old one, if it was not rotated) without the claim,
 *    check-and-set on the claimed version, before the new access token is used. If that
 *    write loses (an admin wrote a new secret meanwhile), the token is not used: read again.
 *
 * The token request in step 3 is bounded by the claim: it is aborted while a third of the claim
 * is still left for step 4's write, even when the service's timeoutMs allows longer. A request
 * still running at the deadline would let another replica claim the secret and send the same
 * refresh token, which a rotating endpoint answers by revoking the grant.
 *
 * A replica that dies holding a claim delays the others until its deadline passes.
 */
import { ProxyError } from '../../../contract/proxy-error';
import type { SecretWriter, VersionedSecret } from '../../../secrets/types';
import type { TokenBroker } from './broker';
import { requestRefresh, type ClientCredentials, type GrantedToken, type TokenEndpointSettings } from './token-endpoint';

/** How long a claim holds unless the settings say otherwise. */
const CLAIM_MS = 30_000;
/** The part of a claim kept for storing the result (two Vault calls at the default 5 s timeout, with room). */
const WRITE_SHARE = 1 / 3;
/** How often a waiting replica reads the secret again. */
const POLL_MS = 200;

export interface RotationSettings {
  endpoint: TokenEndpointSettings;
  secretPath: string;
  /** KV path for messages, with the mount. */
  secretLabel: string;
  refreshTokenField: string;
  writer: SecretWriter;
  broker: TokenBroker;
  /** Wall clock in ms (claims are compared across replicas). */
  now?: () => number;
  /** How long a claim holds, in ms; 30 s by default. */
  claimMs?: number;
}

/** The field that marks a refresh in progress. */
export function claimField(refreshTokenField: string): string {
  return `${refreshTokenField}_refreshing_until`;
}

function without(raw: Readonly<Record<string, unknown>>, field: string): Record<string, unknown> {
  const copy = { ...raw };
  delete copy[field];
  return copy;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Refreshes once, coordinated through Vault; resolves with the granted token and the refresh token now stored. */
export async function refreshWithRotation(settings: RotationSettings, credentials: ClientCredentials): Promise<GrantedToken & { storedRefreshToken: string }> {
  const { writer, secretPath, refreshTokenField, broker } = settings;
  const now = settings.now ?? Date.now;
  const claimMs = settings.claimMs ?? CLAIM_MS;
  const lockField = claimField(refreshTokenField);
  const grant = 'refresh_token';
  // Rounds before giving up: each wait for another replica's claim is one.
  const maxRounds = Math.ceil((claimMs * 1.5) / POLL_MS);
  for (let round = 0; round < maxRounds; round += 1) {
    const current: VersionedSecret = await writer.readVersioned(secretPath);
    if (current.version === null) throw new ProxyError('VAULT_FORBIDDEN', `secret ${settings.secretLabel} has no KV v2 version to check-and-set`);
    const refreshToken = current.data[refreshTokenField];
    if (refreshToken === undefined || refreshToken === '') {
      throw new ProxyError(
        'SECRET_FIELD_MISSING',
        `Secret '${settings.secretLabel}' has no field '${refreshTokenField}' holding the refresh token; store one in Vault.`,
      );
    }
    broker.registerSecrets([refreshToken]);
    const othersClaimUntil = Number(current.data[lockField] ?? 0);
    if (othersClaimUntil > now()) {
      await sleep(POLL_MS);
      continue;
    }
    const claimedUntil = now() + claimMs;
    const claim = { ...without(current.raw, lockField), [lockField]: String(claimedUntil) };
    if (!(await writer.writeIfUnchanged(secretPath, claim, current.version))) {
      broker.emit({ service: settings.endpoint.service, grant, kind: 'writeback_conflict' });
      continue;
    }
    const claimedVersion = current.version + 1;
    // A release Vault does not take leaves the claim until its deadline: said, not thrown (the refresh's own outcome is what the caller gets).
    const release = (): Promise<boolean> =>
      writer.writeIfUnchanged(secretPath, without(current.raw, lockField), claimedVersion).catch(() => {
        broker.emit({ service: settings.endpoint.service, grant, kind: 'claim_release_failed' });
        return false;
      });
    const requestBudgetMs = Math.floor(claimedUntil - claimMs * WRITE_SHARE - now());
    if (requestBudgetMs <= 0) {
      // Claiming took so long that no request could end in time: let go and start over.
      await release();
      continue;
    }
    let token: GrantedToken;
    try {
      token = await requestRefresh({ ...settings.endpoint, timeoutMs: Math.min(settings.endpoint.timeoutMs, requestBudgetMs) }, credentials, refreshToken);
    } catch (err) {
      // Release the claim so the others need not wait for its deadline; the failure is what counts.
      await release();
      throw err;
    }
    const stored = token.refreshToken ?? refreshToken;
    if (token.refreshToken !== null) broker.registerSecrets([token.refreshToken]);
    const released = { ...without(current.raw, lockField), [refreshTokenField]: stored };
    if (!(await writer.writeIfUnchanged(secretPath, released, claimedVersion))) {
      broker.emit({ service: settings.endpoint.service, grant, kind: 'writeback_conflict' });
      continue;
    }
    if (token.refreshToken !== null) broker.emit({ service: settings.endpoint.service, grant, kind: 'writeback' });
    return { ...token, storedRefreshToken: stored };
  }
  throw new ProxyError(
    'UPSTREAM_TOKEN_FAILED',
    `The refresh token of service '${settings.endpoint.service}' stayed claimed by another refresh (field '${lockField}' in ${settings.secretLabel}); the API was not called.`,
    { detail: 'claimed' },
  );
}
