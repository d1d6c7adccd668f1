/**
 * The logical part of the system backend (`sys/`): mounts, auth methods, ACL policies
 * (`sys/policies/acl` and the older `sys/policy`), `sys/internal/ui/mounts`,
 * `sys/capabilities-self` and rate limit quotas. Seal, unseal, health and leader live in
 * the HTTP layer, as in Vault.
 */
import type { EmulatorCore } from './core';
import { parseDurationSeconds } from './durations';
import { authMethodSpec, secretEngineSpec } from './engines';
import { VaultError, badRequest } from './http';
import { bool, listResponse, str, stringList, type Backend, type LogicalRequest, type LogicalResponse } from './logical';
import { mountInfo, normalizeMountPath } from './mounts';
import { quotaFromBody } from './quotas';

const RESERVED_SECRET_PATHS = ['sys/', 'auth/', 'cubbyhole/', 'identity/', 'audit/'];

/** Builds the sys backend over the core. */
export function sysBackend(core: EmulatorCore): Backend {
  const mountsList = (): LogicalResponse => ({
    data: Object.fromEntries(core.secretMounts.list().map((m) => [m.path, mountInfo(m, 'secret')])),
    injectTopLevel: true,
  });
  const authList = (): LogicalResponse => ({
    data: Object.fromEntries(core.authMounts.list().map((m) => [m.path, mountInfo(m, 'auth')])),
    injectTopLevel: true,
  });

  const enableSecret = (req: LogicalRequest, rawPath: string): null => {
    const path = normalizeMountPath(rawPath);
    const reserved = RESERVED_SECRET_PATHS.find((r) => path.startsWith(r) || r.startsWith(path));
    if (reserved)
      throw badRequest(reserved === 'auth/' || reserved === 'audit/' ? `cannot mount under "${reserved}"` : `path is already in use at ${reserved}`);
    const type = str(req.data, 'type');
    if (type === '') throw badRequest('backend type must be specified as a string');
    core.secretMounts.add(secretEngineSpec(path, type, req.data.options, str(req.data, 'description')));
    return null;
  };

  const disableSecret = (rawPath: string): null => {
    const path = normalizeMountPath(rawPath);
    if (['sys/', 'cubbyhole/', 'identity/'].includes(path)) throw badRequest(`cannot unmount "${path}"`);
    core.secretMounts.remove(path);
    return null;
  };

  const enableAuth = (req: LogicalRequest, rawPath: string): null => {
    const path = normalizeMountPath(rawPath);
    const type = str(req.data, 'type');
    if (type === '') throw badRequest('backend type must be specified as a string');
    core.authMounts.add(authMethodSpec(core, path, type, req.data.options, str(req.data, 'description')));
    return null;
  };

  const disableAuth = (rawPath: string): null => {
    const path = normalizeMountPath(rawPath);
    if (path === 'token/') throw badRequest('token credential backend cannot be disabled');
    core.authMounts.remove(path);
    return null;
  };

  const writePolicy = (req: LogicalRequest, name: string, fields: string[]): null => {
    let text = fields.map((f) => str(req.data, f)).find((t) => t !== '') ?? '';
    if (text === '') throw badRequest("'policy' parameter not supplied or empty");
    // Vault also accepts the policy base64-encoded.
    if (!/[{"]/.test(text) && /^[A-Za-z0-9+/=\s]+$/.test(text)) text = Buffer.from(text, 'base64').toString('utf8');
    core.policies.put(name, text);
    return null;
  };

  const uiMount = (req: LogicalRequest, path: string): LogicalResponse => {
    const auth = path.startsWith('auth/');
    const found = auth ? core.authMounts.match(path) : core.secretMounts.match(path);
    // Vault answers "permission denied" both for no mount and for no access, so the endpoint
    // cannot be used to discover mounts.
    const denied = new VaultError(403, ['permission denied']);
    if (!found) throw denied;
    const fullPath = `${auth ? 'auth/' : ''}${found.entry.path}`;
    if (!req.token || !core.policies.acl(req.token.policies).hasAnyAccessUnder(fullPath)) throw denied;
    return { data: { ...mountInfo(found.entry, auth ? 'auth' : 'secret'), path: found.entry.path } };
  };

  const uiMountsList = (req: LogicalRequest): LogicalResponse => {
    const acl = req.token ? core.policies.acl(req.token.policies) : null;
    const visible = (prefix: string, table: typeof core.secretMounts, kind: 'secret' | 'auth'): Record<string, unknown> =>
      Object.fromEntries(
        table
          .list()
          .filter((m) => acl?.hasAnyAccessUnder(`${prefix}${m.path}`))
          .map((m) => [m.path, mountInfo(m, kind)]),
      );
    return { data: { auth: visible('auth/', core.authMounts, 'auth'), secret: visible('', core.secretMounts, 'secret') } };
  };

  const capabilitiesSelf = (req: LogicalRequest): LogicalResponse => {
    const paths = stringList(req.data, 'paths') ?? stringList(req.data, 'path') ?? [];
    if (paths.length === 0) throw badRequest('paths must be supplied');
    const acl = core.policies.acl(req.token?.policies ?? []);
    const data: Record<string, unknown> = {};
    for (const p of paths) data[p] = acl.capabilities(p);
    if (paths.length === 1) data.capabilities = data[paths[0]];
    return { data, injectTopLevel: true };
  };

  const quotaRead = (name: string): LogicalResponse | null => {
    const q = core.quotas.get(name);
    if (!q) return null;
    return {
      data: {
        block_interval: q.blockIntervalSeconds,
        inheritable: false,
        interval: q.intervalSeconds,
        name: q.name,
        path: q.path,
        rate: q.rate,
        role: '',
        type: 'rate-limit',
      },
    };
  };

  return {
    unauthenticatedPaths: [/^internal\/ui\/mounts(\/.*)?$/s],
    rootPaths: [/^auth\/.+/s, /^rotate$/, /^audit(\/.*)?$/s, /^raw(\/.*)?$/s, /^config\/.+/s],
    routes: [
      { pattern: /^mounts$/, operations: { read: mountsList } },
      {
        pattern: /^mounts\/(.+)\/tune$/s,
        operations: { read: () => ({ data: { default_lease_ttl: 2764800, force_no_cache: false, max_lease_ttl: 2764800 } }), update: () => null },
      },
      {
        pattern: /^mounts\/(.+)$/s,
        operations: {
          read: (_req, m) => {
            const entry = core.secretMounts.get(m[1]);
            return entry ? { data: mountInfo(entry, 'secret'), injectTopLevel: true } : null;
          },
          update: (req, m) => enableSecret(req, m[1]),
          delete: (_req, m) => disableSecret(m[1]),
        },
      },
      { pattern: /^auth$/, operations: { read: authList } },
      {
        pattern: /^auth\/(.+)$/s,
        operations: {
          read: (_req, m) => {
            const entry = core.authMounts.get(m[1]);
            return entry ? { data: mountInfo(entry, 'auth'), injectTopLevel: true } : null;
          },
          update: (req, m) => enableAuth(req, m[1]),
          delete: (_req, m) => disableAuth(m[1]),
        },
      },
      { pattern: /^policy$/, operations: { read: () => ({ data: { keys: core.policies.names(), policies: core.policies.names() }, injectTopLevel: true }) } },
      {
        pattern: /^policy\/(.+)$/s,
        operations: {
          read: (_req, m) => {
            const p = core.policies.get(m[1]);
            return p ? { data: { name: p.name, rules: p.raw }, injectTopLevel: true } : null;
          },
          update: (req, m) => writePolicy(req, m[1], ['policy', 'rules']),
          delete: (_req, m) => {
            core.policies.delete(m[1]);
            return null;
          },
        },
      },
      { pattern: /^policies\/acl\/?$/, operations: { list: () => listResponse(core.policies.names()) } },
      {
        pattern: /^policies\/acl\/(.+)$/s,
        operations: {
          read: (_req, m) => {
            const p = core.policies.get(m[1]);
            return p ? { data: { name: p.name, policy: p.raw } } : null;
          },
          update: (req, m) => writePolicy(req, m[1], ['policy']),
          delete: (_req, m) => {
            core.policies.delete(m[1]);
            return null;
          },
        },
      },
      { pattern: /^internal\/ui\/mounts\/?$/, operations: { read: uiMountsList } },
      { pattern: /^internal\/ui\/mounts\/(.+)$/s, operations: { read: (req, m) => uiMount(req, m[1]) } },
      { pattern: /^capabilities-self$/, operations: { update: capabilitiesSelf } },
      {
        pattern: /^quotas\/config$/,
        operations: {
          read: () => ({
            data: {
              absolute_rate_limit_exempt_paths: [],
              enable_rate_limit_audit_logging: false,
              enable_rate_limit_response_headers: core.quotas.responseHeaders,
              rate_limit_exempt_paths: core.quotas.exemptPaths,
            },
          }),
          update: (req) => {
            core.quotas.responseHeaders = bool(req.data, 'enable_rate_limit_response_headers', core.quotas.responseHeaders);
            const exempt = stringList(req.data, 'rate_limit_exempt_paths');
            if (exempt) core.quotas.exemptPaths = exempt.map((p) => p.replace(/^\/+/, ''));
            return null;
          },
        },
      },
      { pattern: /^quotas\/rate-limit\/?$/, operations: { list: () => listResponse(core.quotas.names()) } },
      {
        pattern: /^quotas\/rate-limit\/(.+)$/s,
        operations: {
          read: (_req, m) => quotaRead(m[1]),
          update: (req, m) => {
            core.quotas.set(quotaFromBody(m[1], req.data, parseDurationSeconds));
            return null;
          },
          delete: (_req, m) => {
            core.quotas.delete(m[1]);
            return null;
          },
        },
      },
    ],
  };
}
