/**
 * The Vault side of `secure-proxy check`: log in through the proxy's own session (same auth
 * strategies, transport and dead-token handling as `serve`), then ask Vault what the token
 * may do. The auth strategy is only wrapped to see the lease of the login answer; nothing
 * about logging in is done differently from the running proxy.
 */
import type { VaultConfig } from '../../config/schema';
import type { ProxyEvents } from '../../observability/events';
import { createAuthStrategy, leaseFromLookup, type AuthStrategy, type TokenLease } from '../../vault/auth';
import { classifyVaultError } from '../../vault/errors';
import { VaultSession } from '../../vault/session';
import type { LoginReport } from './report';

/** A session for one check, and the lease of its latest login. */
export interface CheckSession {
  session: VaultSession;
  lastLease(): TokenLease | null;
}

/** Builds the proxy's VaultSession with the configured auth strategy, recording each login's lease. */
export function openCheckSession(vault: VaultConfig, events: ProxyEvents): CheckSession {
  const configured = createAuthStrategy(vault.auth);
  let lease: TokenLease | null = null;
  const strategy: AuthStrategy = {
    method: configured.method,
    canRelogin: configured.canRelogin,
    operation: configured.operation,
    async authenticate(client) {
      lease = await configured.authenticate(client);
      return lease;
    },
  };
  return { session: new VaultSession({ vault, events, strategy }), lastLease: () => lease };
}

/** What lookup-self says about the token; `denied` when the token may not look itself up. */
type TokenLookup = { lease: TokenLease; policies: string[] } | 'denied' | 'failed';

async function lookupSelf(session: VaultSession): Promise<TokenLookup> {
  try {
    const response: unknown = await session.call('lookup', (client) => client.tokenLookupSelf());
    const policies = (response as { data?: { policies?: unknown } } | null)?.data?.policies;
    return {
      lease: leaseFromLookup(response),
      policies: Array.isArray(policies) ? policies.filter((p): p is string => typeof p === 'string') : [],
    };
  } catch (err) {
    return classifyVaultError(err).kind === 'forbidden' ? 'denied' : 'failed';
  }
}

/**
 * Logs in (the session's first attempt) and reports the outcome. A failed login is reported
 * as VAULT_UNAVAILABLE, the code every request gets from a proxy that cannot log in, with the
 * session's reason (unreachable, refused credentials, unreadable JWT file...).
 */
export async function checkLogin(check: CheckSession, method: LoginReport['method'], warnings: string[]): Promise<LoginReport> {
  const { session } = check;
  await session.start();
  const readiness = session.readiness();
  if (!readiness.ready) {
    return {
      method,
      ok: false,
      error: { code: 'VAULT_UNAVAILABLE', message: readiness.reason ?? 'the Vault login failed' },
      ttlSeconds: null,
      renewable: null,
      policies: null,
    };
  }
  const lookup = await lookupSelf(session);
  if (lookup === 'denied') {
    warnings.push(
      "the Vault token may not read auth/token/lookup-self: attach Vault's default policy; the proxy uses lookup-self to tell a revoked token from a policy denial",
    );
  }
  const lease = typeof lookup === 'object' ? lookup.lease : check.lastLease();
  const policies = typeof lookup === 'object' ? lookup.policies : null;
  warnings.push(...tokenWarnings(lease, policies, session.method));
  return { method, ok: true, error: null, ttlSeconds: lease?.ttlSeconds ?? null, renewable: lease?.renewable ?? null, policies };
}

/** Tokens that work but are broader or longer-lived than the proxy needs, or will stop working. */
function tokenWarnings(lease: TokenLease | null, policies: string[] | null, method: LoginReport['method']): string[] {
  const warnings: string[] = [];
  if (policies?.includes('root')) {
    warnings.push('the Vault token has the root policy: give the proxy only the policy in docs/vault-admin.md');
  }
  if (lease?.ttlSeconds === 0) {
    warnings.push('the Vault token never expires: prefer AppRole or Kubernetes auth, or an expiring, renewable token');
  } else if (lease !== null && !lease.renewable && method === 'token') {
    warnings.push(`the configured Vault token is not renewable and expires in ${lease.ttlSeconds}s; the proxy stops reading secrets then`);
  }
  return warnings;
}
