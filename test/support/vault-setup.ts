/**
 * Test setup through Vault's public HTTP API only (global fetch with the root token), so the
 * same helpers prepare the emulator and a real Vault. Each helper that creates something
 * registers its removal with `target.defer`, which matters on a shared real Vault.
 */
import type { VaultTarget } from './vault-target';
import { usingRealVault } from './vault-target';

/** A raw Vault answer: status, parsed JSON body (null when empty), headers. */
export interface VaultResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * One Vault API call. `token` defaults to the root token; pass null to send none. Never
 * follows redirects, so a standby's 307 is visible to the test.
 */
export async function vaultFetch<T = any>(
  target: Pick<VaultTarget, 'address' | 'rootToken'>,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = target.rootToken,
  headers: Record<string, string> = {},
): Promise<VaultResponse<T>> {
  const response = await fetch(`${target.address}/v1/${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...(token === null ? {} : { 'X-Vault-Token': token }),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      // Keep non-JSON answers (a proxy's HTML error page, an injected fault) readable.
      parsed = { nonJson: text, parseError: err instanceof Error ? err.message : String(err) };
    }
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** Like vaultFetch, but throws unless Vault answered 2xx (for setup steps). */
export async function vaultCall<T = any>(
  target: Pick<VaultTarget, 'address' | 'rootToken'>,
  method: string,
  path: string,
  body?: unknown,
  token?: string | null,
): Promise<T> {
  const response = await vaultFetch<T>(target, method, path, body, token === undefined ? target.rootToken : token);
  if (response.status < 200 || response.status > 299) {
    throw new Error(`Vault setup failed: ${method} ${path} answered ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body;
}

/** Enables a KV engine at `mount` (version 1 or 2) and unmounts it on close. */
export async function enableKv(target: VaultTarget, mount: string, version: 1 | 2): Promise<void> {
  await vaultCall(target, 'POST', `sys/mounts/${mount}`, { type: 'kv', options: { version: String(version) } });
  target.defer(() => vaultCall(target, 'DELETE', `sys/mounts/${mount}`));
}

/** Writes a secret; returns the new version on KV v2, null on v1. */
export async function writeSecret(target: VaultTarget, mount: string, path: string, data: Record<string, unknown>, version: 1 | 2): Promise<number | null> {
  if (version === 1) {
    await vaultCall(target, 'POST', `${mount}/${path}`, data);
    return null;
  }
  const body = await vaultCall<{ data: { version: number } }>(target, 'POST', `${mount}/data/${path}`, { data });
  return body.data.version;
}

/** KV v2 soft delete of the latest version. */
export async function deleteSecretLatest(target: VaultTarget, mount: string, path: string): Promise<void> {
  await vaultCall(target, 'DELETE', `${mount}/data/${path}`);
}

/** KV v2 permanent destroy of the given versions. */
export async function destroySecretVersions(target: VaultTarget, mount: string, path: string, versions: number[]): Promise<void> {
  await vaultCall(target, 'POST', `${mount}/destroy/${path}`, { versions });
}

/** Writes an ACL policy given as an object (sent as its JSON text) and deletes it on close. */
export async function writePolicy(target: VaultTarget, name: string, policy: object): Promise<void> {
  await vaultCall(target, 'PUT', `sys/policies/acl/${name}`, { policy: JSON.stringify(policy) });
  target.defer(() => vaultCall(target, 'DELETE', `sys/policies/acl/${name}`));
}

/** Options of auth/token/create; durations as seconds or Go duration strings. */
export interface TokenOptions {
  policies: string[];
  ttl?: string | number;
  explicitMaxTtl?: string | number;
  renewable?: boolean;
  noParent?: boolean;
  period?: string | number;
}

/** Creates a token with the root token and returns its id (revoked on close). */
export async function createToken(target: VaultTarget, options: TokenOptions): Promise<string> {
  const body = await vaultCall<{ auth: { client_token: string } }>(target, 'POST', 'auth/token/create', {
    policies: options.policies,
    ttl: options.ttl,
    explicit_max_ttl: options.explicitMaxTtl,
    renewable: options.renewable,
    no_parent: options.noParent,
    period: options.period,
  });
  const token = body.auth.client_token;
  target.defer(() => revokeToken(target, token));
  return token;
}

/** Revokes a token (and its children) with the root token. */
export async function revokeToken(target: VaultTarget, token: string): Promise<void> {
  await vaultCall(target, 'POST', 'auth/token/revoke', { token });
}

/** Enables AppRole at `auth/<mount>` and disables it on close. */
export async function enableAppRole(target: VaultTarget, mount: string): Promise<void> {
  await vaultCall(target, 'POST', `sys/auth/${mount}`, { type: 'approle' });
  target.defer(() => vaultCall(target, 'DELETE', `sys/auth/${mount}`));
}

/** AppRole role settings; durations as seconds or Go duration strings. */
export interface AppRoleOptions {
  policies: string[];
  tokenTtl: string | number;
  tokenMaxTtl: string | number;
  secretIdTtl?: string | number;
}

/** Creates (or updates) an AppRole role and returns its role id and a fresh secret id. */
export async function createAppRole(
  target: VaultTarget,
  mount: string,
  roleName: string,
  options: AppRoleOptions,
): Promise<{ roleId: string; secretId: string }> {
  await vaultCall(target, 'POST', `auth/${mount}/role/${roleName}`, {
    token_policies: options.policies,
    token_ttl: options.tokenTtl,
    token_max_ttl: options.tokenMaxTtl,
    ...(options.secretIdTtl === undefined ? {} : { secret_id_ttl: options.secretIdTtl }),
  });
  const roleId = (await vaultCall<{ data: { role_id: string } }>(target, 'GET', `auth/${mount}/role/${roleName}/role-id`)).data.role_id;
  return { roleId, secretId: await newSecretId(target, mount, roleName) };
}

/** Issues another secret id for a role (rotation). */
export async function newSecretId(target: VaultTarget, mount: string, roleName: string): Promise<string> {
  return (await vaultCall<{ data: { secret_id: string } }>(target, 'POST', `auth/${mount}/role/${roleName}/secret-id`)).data.secret_id;
}

/** Destroys a secret id, so logins with it fail from now on. */
export async function destroySecretId(target: VaultTarget, mount: string, roleName: string, secretId: string): Promise<void> {
  await vaultCall(target, 'POST', `auth/${mount}/role/${roleName}/secret-id/destroy`, { secret_id: secretId });
}

/**
 * Enables Kubernetes auth at `auth/<mount>` with a placeholder API host. Logins work only
 * on the emulator (it does not call a TokenReview API); a real Vault needs a real cluster.
 */
export async function enableKubernetesAuth(target: VaultTarget, mount: string): Promise<void> {
  await vaultCall(target, 'POST', `sys/auth/${mount}`, { type: 'kubernetes' });
  target.defer(() => vaultCall(target, 'DELETE', `sys/auth/${mount}`));
  await vaultCall(target, 'POST', `auth/${mount}/config`, { kubernetes_host: 'https://127.0.0.1:6443', disable_local_ca_jwt: true });
}

/** Creates a Kubernetes auth role. */
export async function createKubernetesRole(
  target: VaultTarget,
  mount: string,
  role: string,
  options: { serviceAccountNames: string[]; namespaces: string[]; policies: string[]; tokenTtl?: string | number },
): Promise<void> {
  await vaultCall(target, 'POST', `auth/${mount}/role/${role}`, {
    bound_service_account_names: options.serviceAccountNames,
    bound_service_account_namespaces: options.namespaces,
    token_policies: options.policies,
    ...(options.tokenTtl === undefined ? {} : { token_ttl: options.tokenTtl }),
  });
}

/**
 * An UNSIGNED service-account JWT for the emulator's Kubernetes login (which does not check
 * signatures). `projected` picks the bound-token claim layout (`kubernetes.io` object)
 * instead of the legacy flat claims.
 */
export function serviceAccountJwt(options: { name: string; namespace: string; uid?: string; projected?: boolean; exp?: number }): string {
  const uid = options.uid ?? '00000000-0000-4000-8000-000000000001';
  const claims: Record<string, unknown> = options.projected
    ? {
        iss: 'https://kubernetes.default.svc',
        sub: `system:serviceaccount:${options.namespace}:${options.name}`,
        'kubernetes.io': { namespace: options.namespace, serviceaccount: { name: options.name, uid } },
      }
    : {
        iss: 'kubernetes/serviceaccount',
        sub: `system:serviceaccount:${options.namespace}:${options.name}`,
        'kubernetes.io/serviceaccount/namespace': options.namespace,
        'kubernetes.io/serviceaccount/service-account.name': options.name,
        'kubernetes.io/serviceaccount/service-account.uid': uid,
        'kubernetes.io/serviceaccount/secret.name': `${options.name}-token`,
      };
  if (options.exp !== undefined) claims.exp = options.exp;
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}.${Buffer.from('not-a-signature').toString('base64url')}`;
}

/** Creates a rate limit quota (deleted on close). `path` '' is global. */
export async function setRateLimitQuota(target: VaultTarget, name: string, options: { rate: number; interval: string; path: string }): Promise<void> {
  await vaultCall(target, 'POST', `sys/quotas/rate-limit/${name}`, options);
  target.defer(() => vaultCall(target, 'DELETE', `sys/quotas/rate-limit/${name}`));
}

/** `it` on the emulator, `it.skip` against a real Vault: for faults a real Vault cannot be asked for. */
export const itEmulatorOnly: jest.It = usingRealVault() ? it.skip : it;

/** `describe` on the emulator, `describe.skip` against a real Vault. */
export const describeEmulatorOnly: jest.Describe = usingRealVault() ? describe.skip : describe;

/** Resolves after `ms` milliseconds (for TTL tests). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps until the wall clock reaches `at` (epoch ms): a point in time, however late the caller got here. */
export function sleepUntil(at: number): Promise<void> {
  return sleep(Math.max(0, at - Date.now()));
}
