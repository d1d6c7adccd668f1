/**
 * How the proxy gets a Vault token: one small strategy per `vault.auth.method`, each a closure
 * over the validated config. A strategy puts the token on the node-vault client and reports
 * its lease; the session decides when to call it and what to do with the lease.
 */
import { readFile } from 'node:fs/promises';
import type NodeVault from 'node-vault';
import type { VaultConfig } from '../config/schema';
import { VaultSessionError } from './errors';
import { ANONYMOUS_REQUEST } from './transport';

/** What Vault said about the token just obtained (or looked up). */
export interface TokenLease {
  /** Seconds left; 0 means the token never expires (root or an unlimited token). */
  ttlSeconds: number;
  renewable: boolean;
  /** The increment to ask for on renew-self: the TTL the token started with. */
  incrementSeconds: number;
}

/** One way of authenticating to Vault. */
export interface AuthStrategy {
  readonly method: VaultConfig['auth']['method'];
  /** False for a static token: once it is dead nothing can replace it. */
  readonly canRelogin: boolean;
  /** The Vault operation `authenticate` performs, for events ('login', or 'lookup' for token auth). */
  readonly operation: 'login' | 'lookup';
  /** Sets a valid token on the client and returns its lease. Rejects like any node-vault call. */
  authenticate(client: NodeVault.client): Promise<TokenLease>;
}

/** Login calls never carry the previous (possibly dead) token. */
const anonymous = { [ANONYMOUS_REQUEST]: true };

/** Reads the lease out of a login answer's `auth` block. */
export function leaseFromLogin(response: unknown): TokenLease {
  const auth = (response as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | null)?.auth;
  if (typeof auth?.client_token !== 'string' || auth.client_token === '' || typeof auth.lease_duration !== 'number') {
    throw new VaultSessionError({ kind: 'error', status: null, reason: 'Vault login answer has no client token or lease duration' });
  }
  return { ttlSeconds: auth.lease_duration, renewable: auth.renewable === true, incrementSeconds: auth.lease_duration };
}

/** Reads the lease out of a lookup-self answer's `data` block. */
export function leaseFromLookup(response: unknown): TokenLease {
  const data = (response as { data?: { ttl?: unknown; renewable?: unknown; creation_ttl?: unknown; expire_time?: unknown } } | null)?.data;
  if (typeof data?.ttl !== 'number') {
    throw new VaultSessionError({ kind: 'error', status: null, reason: 'Vault token lookup answer has no ttl' });
  }
  // ttl 0 means "never expires" only without an expire_time; otherwise less than a second is left.
  const ttl = data.ttl === 0 && typeof data.expire_time === 'string' ? 1 : data.ttl;
  const creationTtl = typeof data.creation_ttl === 'number' && data.creation_ttl > 0 ? data.creation_ttl : ttl;
  return { ttlSeconds: ttl, renewable: data.renewable === true, incrementSeconds: creationTtl };
}

function tokenStrategy(token: string): AuthStrategy {
  return {
    method: 'token',
    canRelogin: false,
    operation: 'lookup',
    async authenticate(client) {
      client.token = token;
      return leaseFromLookup(await client.tokenLookupSelf());
    },
  };
}

function appRoleStrategy(roleId: string, secretId: string, mount: string): AuthStrategy {
  return {
    method: 'approle',
    canRelogin: true,
    operation: 'login',
    async authenticate(client) {
      // node-vault stores auth.client_token on the client itself (tokenSource commands).
      const response: unknown = await client.approleLogin({
        role_id: roleId,
        secret_id: secretId,
        mount_point: mount,
        requestOptions: anonymous,
      });
      return leaseFromLogin(response);
    },
  };
}

function kubernetesStrategy(role: string, jwtPath: string, mount: string): AuthStrategy {
  return {
    method: 'kubernetes',
    canRelogin: true,
    operation: 'login',
    async authenticate(client) {
      // Read at every login: projected service account tokens rotate on disk.
      const jwt = await readJwt(jwtPath);
      // mount_point is required: without it node-vault posts to `auth//login`.
      const response: unknown = await client.kubernetesLogin({ role, jwt, mount_point: mount, requestOptions: anonymous });
      return leaseFromLogin(response);
    },
  };
}

async function readJwt(jwtPath: string): Promise<string> {
  let jwt: string;
  try {
    jwt = (await readFile(jwtPath, 'utf8')).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new VaultSessionError({
      kind: 'error',
      status: null,
      reason: `cannot read the Kubernetes service account token at ${jwtPath} (${code})`,
    });
  }
  if (jwt === '') {
    throw new VaultSessionError({ kind: 'error', status: null, reason: `the Kubernetes service account token file ${jwtPath} is empty` });
  }
  return jwt;
}

/** Picks the strategy for the configured auth method. */
export function createAuthStrategy(auth: VaultConfig['auth']): AuthStrategy {
  switch (auth.method) {
    case 'token':
      return tokenStrategy(auth.token);
    case 'approle':
      return appRoleStrategy(auth.roleId, auth.secretId, auth.mount);
    case 'kubernetes':
      return kubernetesStrategy(auth.role, auth.jwtPath, auth.mount);
  }
}
