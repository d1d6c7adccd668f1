/**
 * The AppRole auth method: roles with token settings, role IDs, secret IDs (with TTL, use
 * counts and destroy, so rotation can be tested) and login, answering with Vault's texts
 * ("invalid role or secret ID", "missing secret_id", ...).
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorCore } from './core';
import { parseDurationSeconds } from './durations';
import { VaultError, badRequest, multiError } from './http';
import { bool, int, listResponse, sanitizePolicies, str, stringList, type Backend, type LogicalRequest, type LogicalResponse } from './logical';
import { newEntityId } from './tokens';
import { calculateTtl } from './ttl';

interface SecretId {
  readonly accessor: string;
  readonly createdAt: number;
  readonly ttl: number;
  usesLeft: number;
  readonly metadata: Record<string, string>;
}

interface Role {
  readonly name: string;
  roleId: string;
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPeriod: number;
  tokenExplicitMaxTtl: number;
  tokenNumUses: number;
  secretIdTtl: number;
  secretIdNumUses: number;
  bindSecretId: boolean;
  readonly secretIds: Map<string, SecretId>;
}

/** Builds an AppRole backend mounted at `auth/<mountPath>`. */
export function appRoleBackend(core: EmulatorCore, mountPath: string): Backend {
  const roles = new Map<string, Role>();
  const entities = new Map<string, string>();

  const role = (name: string): Role | undefined => roles.get(name.toLowerCase());
  const mustRole = (name: string): Role => {
    const found = role(name);
    if (!found) throw badRequest(`role "${name.toLowerCase()}" does not exist`);
    return found;
  };
  const alive = (secret: SecretId): boolean => secret.ttl === 0 || Date.now() < secret.createdAt + secret.ttl * 1000;

  const writeRole = (req: LogicalRequest, name: string): null => {
    const existing = role(name);
    const next: Role = existing ?? {
      name: name.toLowerCase(),
      roleId: randomUUID(),
      tokenPolicies: [],
      tokenTtl: 0,
      tokenMaxTtl: 0,
      tokenPeriod: 0,
      tokenExplicitMaxTtl: 0,
      tokenNumUses: 0,
      secretIdTtl: 0,
      secretIdNumUses: 0,
      bindSecretId: true,
      secretIds: new Map(),
    };
    const d = req.data;
    const policies = stringList(d, 'token_policies') ?? stringList(d, 'policies');
    const candidate = {
      tokenPolicies: policies ?? next.tokenPolicies,
      tokenTtl: d.token_ttl !== undefined ? parseDurationSeconds(d.token_ttl, 'token_ttl') : next.tokenTtl,
      tokenMaxTtl: d.token_max_ttl !== undefined ? parseDurationSeconds(d.token_max_ttl, 'token_max_ttl') : next.tokenMaxTtl,
      tokenPeriod: d.token_period !== undefined || d.period !== undefined ? parseDurationSeconds(d.token_period ?? d.period, 'token_period') : next.tokenPeriod,
      tokenExplicitMaxTtl:
        d.token_explicit_max_ttl !== undefined ? parseDurationSeconds(d.token_explicit_max_ttl, 'token_explicit_max_ttl') : next.tokenExplicitMaxTtl,
      tokenNumUses: int(d, 'token_num_uses', next.tokenNumUses),
      secretIdTtl: d.secret_id_ttl !== undefined ? parseDurationSeconds(d.secret_id_ttl, 'secret_id_ttl') : next.secretIdTtl,
      secretIdNumUses: int(d, 'secret_id_num_uses', next.secretIdNumUses),
      bindSecretId: bool(d, 'bind_secret_id', next.bindSecretId),
    };
    if (candidate.tokenMaxTtl > 0 && candidate.tokenTtl > candidate.tokenMaxTtl) throw badRequest('token_ttl should not be greater than token_max_ttl');
    // Without bound CIDRs (not emulated) a role must require a secret ID, as in Vault.
    if (!candidate.bindSecretId) throw badRequest('at least one constraint should be enabled on the role');
    Object.assign(next, candidate);
    if (str(d, 'role_id') !== '') next.roleId = str(d, 'role_id');
    roles.set(next.name, next);
    return null;
  };

  const readRole = (name: string): LogicalResponse | null => {
    const r = role(name);
    if (!r) return null;
    return {
      data: {
        bind_secret_id: r.bindSecretId,
        local_secret_ids: false,
        policies: r.tokenPolicies,
        secret_id_bound_cidrs: null,
        secret_id_num_uses: r.secretIdNumUses,
        secret_id_ttl: r.secretIdTtl,
        token_bound_cidrs: [],
        token_explicit_max_ttl: r.tokenExplicitMaxTtl,
        token_max_ttl: r.tokenMaxTtl,
        token_no_default_policy: false,
        token_num_uses: r.tokenNumUses,
        token_period: r.tokenPeriod,
        token_policies: r.tokenPolicies,
        token_ttl: r.tokenTtl,
        token_type: 'default',
      },
    };
  };

  const issueSecretId = (req: LogicalRequest, name: string, value: string): LogicalResponse => {
    const r = mustRole(name);
    let metadata: Record<string, string> = {};
    const rawMeta = str(req.data, 'metadata');
    if (rawMeta !== '') {
      try {
        metadata = JSON.parse(rawMeta) as Record<string, string>;
      } catch (err) {
        throw badRequest(`failed to parse metadata: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const askedTtl = parseDurationSeconds(req.data.ttl, 'ttl');
    if (askedTtl > 0 && r.secretIdTtl > 0 && askedTtl > r.secretIdTtl) throw badRequest("ttl is greater than the role's secret_id_ttl");
    const ttl = askedTtl > 0 ? askedTtl : r.secretIdTtl;
    const uses = int(req.data, 'num_uses', r.secretIdNumUses);
    const secret: SecretId = { accessor: randomUUID(), createdAt: Date.now(), ttl, usesLeft: uses, metadata };
    r.secretIds.set(value, secret);
    return { data: { secret_id: value, secret_id_accessor: secret.accessor, secret_id_num_uses: uses, secret_id_ttl: ttl } };
  };

  const login = (req: LogicalRequest): LogicalResponse => {
    const roleId = str(req.data, 'role_id').trim();
    if (roleId === '') throw badRequest('missing role_id');
    const r = [...roles.values()].find((x) => x.roleId === roleId);
    if (!r) throw badRequest('invalid role or secret ID');
    const metadata: Record<string, string> = {};
    if (r.bindSecretId) {
      const secretId = str(req.data, 'secret_id').trim();
      if (secretId === '') throw badRequest('missing secret_id');
      const secret = r.secretIds.get(secretId);
      if (!secret || !alive(secret)) {
        r.secretIds.delete(secretId);
        throw badRequest('invalid role or secret ID');
      }
      if (secret.usesLeft > 0) {
        secret.usesLeft -= 1;
        if (secret.usesLeft === 0) r.secretIds.delete(secretId);
      }
      Object.assign(metadata, secret.metadata);
    }
    metadata.role_name = r.name;
    const { ttl, warnings } = calculateTtl({
      increment: 0,
      backendTtl: r.tokenTtl,
      period: r.tokenPeriod,
      backendMaxTtl: r.tokenMaxTtl,
      explicitMaxTtl: r.tokenExplicitMaxTtl,
      startMs: Date.now(),
      nowMs: Date.now(),
    });
    const entityId = entities.get(r.roleId) ?? newEntityId();
    entities.set(r.roleId, entityId);
    const roleName = r.name;
    const entry = core.tokens.issue({
      policies: sanitizePolicies(r.tokenPolicies, true),
      parentId: null,
      path: `auth/${mountPath}login`,
      displayName: 'approle',
      meta: metadata,
      ttl,
      explicitMaxTtl: r.tokenExplicitMaxTtl,
      period: r.tokenPeriod,
      renewable: true,
      orphan: true,
      entityId,
      numUses: r.tokenNumUses,
      // Renewal reads the role again, so a changed or deleted role affects renewals as in Vault.
      renewSource: () => {
        const current = role(roleName);
        if (!current) throw new VaultError(500, [multiError(`role "${roleName}" does not exist during renewal`)]);
        return { ttl: current.tokenTtl, maxTtl: current.tokenMaxTtl, period: current.tokenPeriod };
      },
    });
    return { auth: core.tokens.authBlock(entry, ttl), warnings };
  };

  return {
    unauthenticatedPaths: [/^login$/],
    routes: [
      { pattern: /^login$/, operations: { update: login } },
      { pattern: /^role\/?$/, operations: { list: () => listResponse([...roles.keys()].sort()) } },
      {
        pattern: /^role\/([^/]+)$/,
        exists: (_req, m) => role(m[1]) !== undefined,
        operations: {
          read: (_req, m) => readRole(m[1]),
          update: (req, m) => writeRole(req, m[1]),
          delete: (_req, m) => {
            roles.delete(m[1].toLowerCase());
            return null;
          },
        },
      },
      {
        pattern: /^role\/([^/]+)\/role-id$/,
        operations: {
          read: (_req, m) => {
            const r = role(m[1]);
            return r ? { data: { role_id: r.roleId } } : null;
          },
          update: (req, m) => {
            const r = mustRole(m[1]);
            const value = str(req.data, 'role_id');
            if (value === '') throw badRequest('missing role_id');
            r.roleId = value;
            return null;
          },
        },
      },
      {
        pattern: /^role\/([^/]+)\/secret-id\/?$/,
        operations: {
          update: (req, m) => issueSecretId(req, m[1], randomUUID()),
          list: (_req, m) => listResponse([...mustRole(m[1]).secretIds.values()].map((s) => s.accessor).sort()),
        },
      },
      {
        pattern: /^role\/([^/]+)\/custom-secret-id$/,
        operations: {
          update: (req, m) => {
            const value = str(req.data, 'secret_id');
            if (value === '') throw badRequest('missing secret_id');
            return issueSecretId(req, m[1], value);
          },
        },
      },
      {
        pattern: /^role\/([^/]+)\/secret-id\/lookup$/,
        operations: {
          update: (req, m) => {
            const secret = mustRole(m[1]).secretIds.get(str(req.data, 'secret_id'));
            if (!secret || !alive(secret)) return null;
            return { data: secretIdData(secret) };
          },
        },
      },
      {
        pattern: /^role\/([^/]+)\/secret-id\/destroy$/,
        operations: {
          update: (req, m) => {
            mustRole(m[1]).secretIds.delete(str(req.data, 'secret_id'));
            return null;
          },
          delete: (req, m) => {
            mustRole(m[1]).secretIds.delete(str(req.data, 'secret_id'));
            return null;
          },
        },
      },
      {
        pattern: /^role\/([^/]+)\/secret-id-accessor\/destroy$/,
        operations: {
          update: (req, m) => {
            const r = mustRole(m[1]);
            const accessor = str(req.data, 'secret_id_accessor');
            const found = [...r.secretIds.entries()].find(([, s]) => s.accessor === accessor);
            if (!found) throw badRequest(`failed to find accessor entry for secret_id_accessor: "${accessor}"`);
            r.secretIds.delete(found[0]);
            return null;
          },
        },
      },
    ],
  };
}

function secretIdData(secret: SecretId): Record<string, unknown> {
  const created = new Date(secret.createdAt).toISOString();
  return {
    cidr_list: [],
    creation_time: created,
    expiration_time: secret.ttl > 0 ? new Date(secret.createdAt + secret.ttl * 1000).toISOString() : '0001-01-01T00:00:00Z',
    last_updated_time: created,
    metadata: secret.metadata,
    secret_id_accessor: secret.accessor,
    secret_id_num_uses: secret.usesLeft,
    secret_id_ttl: secret.ttl,
    token_bound_cidrs: [],
  };
}
