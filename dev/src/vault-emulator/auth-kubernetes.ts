/**
 * The Kubernetes auth method, best effort: config, roles bound to service-account names
 * and namespaces, and login with a service-account JWT.
 *
 * NOT SECURE, by design of an emulator: the JWT's signature is NOT verified and there is
 * no TokenReview call to a Kubernetes API (real Vault does both). Login trusts the
 * payload's claims: the legacy `kubernetes.io/serviceaccount/service-account.name` /
 * `.../namespace` / `.../service-account.uid`, or the projected-token form
 * `{"kubernetes.io": {"namespace", "serviceaccount": {"name", "uid"}}}`.
 */
import type { EmulatorCore } from './core';
import { parseDurationSeconds } from './durations';
import { VaultError, badRequest, multiError } from './http';
import { fieldText, listResponse, sanitizePolicies, str, stringList, type Backend, type LogicalRequest, type LogicalResponse } from './logical';
import { newEntityId } from './tokens';
import { calculateTtl } from './ttl';

interface KubeRole {
  serviceAccountNames: string[];
  serviceAccountNamespaces: string[];
  audience: string;
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPeriod: number;
}

interface ServiceAccount {
  name: string;
  namespace: string;
  uid: string;
  secretName: string;
}

/** Builds a Kubernetes auth backend mounted at `auth/<mountPath>`. */
export function kubernetesBackend(core: EmulatorCore, mountPath: string): Backend {
  const roles = new Map<string, KubeRole>();
  let config: Record<string, unknown> | null = null;

  const writeRole = (req: LogicalRequest, name: string): null => {
    const d = req.data;
    // Like Vault, an update of an existing role changes only the fields it sends.
    const existing = roles.get(name);
    const names = stringList(d, 'bound_service_account_names') ?? existing?.serviceAccountNames ?? [];
    const namespaces = stringList(d, 'bound_service_account_namespaces') ?? existing?.serviceAccountNamespaces ?? [];
    const duration = (field: string, legacy: string, current: number | undefined): number =>
      d[field] !== undefined || d[legacy] !== undefined ? parseDurationSeconds(d[field] ?? d[legacy], field) : (current ?? 0);
    if (names.length === 0) throw badRequest('"bound_service_account_names" can not be empty');
    if (names.length > 1 && names.includes('*')) throw badRequest('can not mix "*" with values');
    if (namespaces.length === 0)
      throw badRequest('"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set');
    if (namespaces.length > 1 && namespaces.includes('*')) throw badRequest('can not mix "*" with values');
    const role: KubeRole = {
      serviceAccountNames: names,
      serviceAccountNamespaces: namespaces,
      audience: d.audience !== undefined ? str(d, 'audience') : (existing?.audience ?? ''),
      tokenPolicies: stringList(d, 'token_policies') ?? stringList(d, 'policies') ?? existing?.tokenPolicies ?? [],
      tokenTtl: duration('token_ttl', 'ttl', existing?.tokenTtl),
      tokenMaxTtl: duration('token_max_ttl', 'max_ttl', existing?.tokenMaxTtl),
      tokenPeriod: duration('token_period', 'period', existing?.tokenPeriod),
    };
    if (role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) throw badRequest('token ttl should not be greater than token max ttl');
    roles.set(name, role);
    return null;
  };

  const login = (req: LogicalRequest): LogicalResponse => {
    const roleName = str(req.data, 'role');
    if (roleName === '') throw badRequest('missing role');
    const jwt = str(req.data, 'jwt');
    if (jwt === '') throw badRequest('missing jwt');
    const role = roles.get(roleName);
    if (!role) throw badRequest(`invalid role name "${roleName}"`);
    if (config === null) throw new VaultError(500, [multiError('could not load backend configuration')]);
    const sa = serviceAccountFromJwt(jwt, role.audience);
    if (!(role.serviceAccountNames.length === 1 && role.serviceAccountNames[0] === '*') && !globListContains(role.serviceAccountNames, sa.name)) {
      throw new VaultError(403, ['service account name not authorized']);
    }
    if (role.serviceAccountNamespaces[0] !== '*' && !globListContains(role.serviceAccountNamespaces, sa.namespace)) {
      throw new VaultError(403, ['namespace not authorized']);
    }
    if (sa.uid === '') throw new VaultError(500, [multiError('could not parse UID from claims')]);
    const { ttl, warnings } = calculateTtl({
      increment: 0,
      backendTtl: role.tokenTtl,
      period: role.tokenPeriod,
      backendMaxTtl: role.tokenMaxTtl,
      explicitMaxTtl: 0,
      startMs: Date.now(),
      nowMs: Date.now(),
    });
    const entry = core.tokens.issue({
      policies: sanitizePolicies(role.tokenPolicies, true),
      parentId: null,
      path: `auth/${mountPath}login`,
      displayName: `kubernetes-${sa.namespace}-${sa.name}`,
      meta: {
        role: roleName,
        service_account_name: sa.name,
        service_account_namespace: sa.namespace,
        service_account_secret_name: sa.secretName,
        service_account_uid: sa.uid,
      },
      ttl,
      explicitMaxTtl: 0,
      period: role.tokenPeriod,
      renewable: true,
      orphan: true,
      entityId: newEntityId(),
      numUses: 0,
      renewSource: () => {
        const current = roles.get(roleName);
        if (!current) throw new VaultError(500, [multiError(`role ${roleName} does not exist during renewal`)]);
        return { ttl: current.tokenTtl, maxTtl: current.tokenMaxTtl, period: current.tokenPeriod };
      },
    });
    return { auth: core.tokens.authBlock(entry, ttl), warnings };
  };

  return {
    unauthenticatedPaths: [/^login$/],
    routes: [
      { pattern: /^login$/, operations: { update: login } },
      {
        pattern: /^config$/,
        operations: {
          read: () => (config ? { data: { ...config } } : null),
          update: (req) => {
            if (str(req.data, 'kubernetes_host') === '') throw badRequest('no host provided');
            config = {
              disable_iss_validation: true,
              disable_local_ca_jwt: req.data.disable_local_ca_jwt === true,
              issuer: str(req.data, 'issuer'),
              kubernetes_ca_cert: str(req.data, 'kubernetes_ca_cert'),
              kubernetes_host: str(req.data, 'kubernetes_host'),
              pem_keys: [],
            };
            return null;
          },
        },
      },
      { pattern: /^role\/?$/, operations: { list: () => listResponse([...roles.keys()].sort()) } },
      {
        pattern: /^role\/([^/]+)$/,
        exists: (_req, m) => roles.has(m[1]),
        operations: {
          read: (_req, m) => {
            const r = roles.get(m[1]);
            if (!r) return null;
            return {
              data: {
                audience: r.audience,
                bound_service_account_names: r.serviceAccountNames,
                bound_service_account_namespaces: r.serviceAccountNamespaces,
                token_max_ttl: r.tokenMaxTtl,
                token_period: r.tokenPeriod,
                token_policies: r.tokenPolicies,
                token_ttl: r.tokenTtl,
                token_type: 'default',
              },
            };
          },
          update: (req, m) => writeRole(req, m[1]),
          delete: (_req, m) => {
            roles.delete(m[1]);
            return null;
          },
        },
      },
    ],
  };
}

/** Decodes the JWT payload (no signature check, see the module comment) into a service account. */
function serviceAccountFromJwt(jwt: string, audience: string): ServiceAccount {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new VaultError(403, ['failed to parse JWT: compact JWS format must have three parts']);
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new VaultError(403, [`failed to parse JWT: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const exp = claims.exp;
  if (typeof exp === 'number' && exp * 1000 < Date.now()) throw new VaultError(403, ['token is expired (exp)']);
  if (audience !== '') {
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(audience)) throw new VaultError(403, ['invalid audience (aud) claim: audience not found']);
  }
  const projected = claims['kubernetes.io'] as { namespace?: string; serviceaccount?: { name?: string; uid?: string } } | undefined;
  if (projected && typeof projected === 'object') {
    return {
      name: projected.serviceaccount?.name ?? '',
      namespace: projected.namespace ?? '',
      uid: projected.serviceaccount?.uid ?? '',
      secretName: '',
    };
  }
  return {
    name: fieldText(claims['kubernetes.io/serviceaccount/service-account.name'] ?? ''),
    namespace: fieldText(claims['kubernetes.io/serviceaccount/namespace'] ?? ''),
    uid: fieldText(claims['kubernetes.io/serviceaccount/service-account.uid'] ?? ''),
    secretName: fieldText(claims['kubernetes.io/serviceaccount/secret.name'] ?? ''),
  };
}

/** Vault's strutil.StrListContainsGlob: entries may contain `*` wildcards. */
function globListContains(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(value),
  );
}
