/**
 * The token auth method at `auth/token/`: create, lookup, renew and revoke, with Vault's
 * rules for child policies, orphans, periodic tokens and default TTLs.
 */
import type { EmulatorCore } from './core';
import { SYSTEM_DEFAULT_TTL_SECONDS, SYSTEM_MAX_TTL_SECONDS, parseDurationSeconds } from './durations';
import { VaultError, badRequest } from './http';
import { bool, int, listResponse, sanitizePolicies, str, stringList, type Backend, type LogicalRequest, type LogicalResponse, type Route } from './logical';
import type { TokenEntry } from './tokens';

/** Builds the token backend over the core's token store. */
export function tokenBackend(core: EmulatorCore): Backend {
  const { tokens } = core;

  const hasSudo = (req: LogicalRequest): boolean => {
    const token = req.token as TokenEntry;
    return core.policies
      .acl(token.policies)
      .capabilities(req.path)
      .some((c) => c === 'root' || c === 'sudo');
  };

  const create = (req: LogicalRequest, orphanPath: boolean): LogicalResponse => {
    const parent = req.token as TokenEntry;
    const privileged = parent.policies.includes('root') || hasSudo(req);
    const noDefault = bool(req.data, 'no_default_policy', false);
    const asked = stringList(req.data, 'policies');
    let policies: string[];
    if (asked === undefined || asked.length === 0) {
      policies = sanitizePolicies(
        parent.policies.filter((p) => !(noDefault && p === 'default')),
        !noDefault,
      );
    } else {
      policies = sanitizePolicies(asked, !noDefault);
      const outside = policies.filter((p) => p !== 'default' && !parent.policies.includes(p));
      if (!privileged && outside.length > 0) throw badRequest('child policies must be subset of parent');
    }
    const noParent = bool(req.data, 'no_parent', false);
    if (noParent && !privileged) throw badRequest('root or sudo privileges required to create orphan token');
    const period = parseDurationSeconds(req.data.period, 'period');
    if (period > 0 && !privileged) throw badRequest('root or sudo privileges required to create periodic token');
    const explicitMaxTtl = parseDurationSeconds(req.data.explicit_max_ttl, 'explicit_max_ttl');
    let ttl = period > 0 ? period : parseDurationSeconds(req.data.ttl, 'ttl');
    // Vault gives every non-root token the mount's default TTL, then applies the caps.
    if (ttl === 0 && !policies.includes('root')) ttl = SYSTEM_DEFAULT_TTL_SECONDS;
    if (explicitMaxTtl > 0 && (ttl === 0 || ttl > explicitMaxTtl)) ttl = explicitMaxTtl;
    if (ttl > SYSTEM_MAX_TTL_SECONDS) ttl = SYSTEM_MAX_TTL_SECONDS;
    const displayName = str(req.data, 'display_name');
    const meta = req.data.meta && typeof req.data.meta === 'object' ? Object.fromEntries(Object.entries(req.data.meta).map(([k, v]) => [k, String(v)])) : null;
    const entry = tokens.issue({
      policies,
      parentId: parent.id,
      path: orphanPath ? 'auth/token/create-orphan' : 'auth/token/create',
      displayName: displayName ? `token-${displayName}` : 'token',
      meta,
      ttl,
      explicitMaxTtl,
      period,
      renewable: bool(req.data, 'renewable', true),
      orphan: noParent || orphanPath,
      entityId: '',
      numUses: int(req.data, 'num_uses', 0),
      renewSource: null,
    });
    return { auth: tokens.authBlock(entry, ttl) };
  };

  const renew = (entry: TokenEntry, req: LogicalRequest): LogicalResponse => {
    const { ttl, warnings } = tokens.renew(entry, parseDurationSeconds(req.data.increment, 'increment'));
    return { auth: tokens.authBlock(entry, ttl), warnings };
  };

  /** Finds the token named in the body; Vault says "bad token" (403) for unknown ones. */
  const named = (req: LogicalRequest): TokenEntry => {
    const id = str(req.data, 'token');
    if (id === '') throw badRequest('missing token');
    const entry = tokens.lookup(id);
    if (!entry) throw new VaultError(403, ['bad token']);
    return entry;
  };

  const byAccessor = (req: LogicalRequest): TokenEntry => {
    const entry = tokens.lookupAccessor(str(req.data, 'accessor'));
    if (!entry) throw badRequest('invalid accessor');
    return entry;
  };

  const routes: Route[] = [
    { pattern: /^create$/, operations: { update: (req) => create(req, false) } },
    { pattern: /^create-orphan$/, operations: { update: (req) => create(req, true) } },
    {
      pattern: /^lookup-self$/,
      operations: {
        read: (req) => ({ data: tokens.lookupData(req.token as TokenEntry) }),
        update: (req) => ({ data: tokens.lookupData(req.token as TokenEntry) }),
      },
    },
    { pattern: /^lookup$/, operations: { update: (req) => ({ data: tokens.lookupData(named(req)) }) } },
    { pattern: /^lookup-accessor$/, operations: { update: (req) => ({ data: { ...tokens.lookupData(byAccessor(req)), id: '' } }) } },
    { pattern: /^renew-self$/, operations: { update: (req) => renew(req.token as TokenEntry, req) } },
    { pattern: /^renew$/, operations: { update: (req) => renew(named(req), req) } },
    { pattern: /^renew-accessor$/, operations: { update: (req) => ({ ...renew(byAccessor(req), req), auth: undefined }) } },
    {
      pattern: /^revoke-self$/,
      operations: {
        update: (req) => {
          tokens.revoke((req.token as TokenEntry).id);
          return null;
        },
      },
    },
    {
      pattern: /^revoke$/,
      operations: {
        update: (req) => {
          const id = str(req.data, 'token');
          if (id === '') throw badRequest('missing token');
          tokens.revoke(id);
          return null;
        },
      },
    },
    {
      pattern: /^revoke-orphan$/,
      operations: {
        update: (req) => {
          tokens.revoke(str(req.data, 'token'), true);
          return null;
        },
      },
    },
    {
      pattern: /^revoke-accessor$/,
      operations: {
        update: (req) => {
          const entry = tokens.lookupAccessor(str(req.data, 'accessor'));
          if (entry) tokens.revoke(entry.id);
          return null;
        },
      },
    },
    { pattern: /^accessors\/$/, operations: { list: () => listResponse(tokens.accessors().sort()) } },
  ];

  return { routes, rootPaths: [/^revoke-orphan$/, /^accessors\/?$/] };
}
