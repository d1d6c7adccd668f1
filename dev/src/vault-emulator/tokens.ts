/**
 * The token store: issuing, looking up, renewing and revoking service tokens, with TTLs that
 * run on the wall clock and Vault's renewal arithmetic (framework.CalculateTTL), including
 * the "capped" warning. Backends (token, AppRole, Kubernetes) issue tokens through it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest } from './http';
import { rfc3339Nano } from './durations';
import { calculateTtl } from './ttl';
import type { AuthBlock } from './logical';

/** What the issuing auth method says about renewals (AppRole: the role's token_ttl etc.). */
export interface RenewParams {
  ttl: number;
  maxTtl: number;
  period: number;
}

/** A live token. Times are epoch milliseconds, durations whole seconds. */
export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  readonly policies: readonly string[];
  readonly parentId: string | null;
  readonly path: string;
  readonly displayName: string;
  readonly meta: Readonly<Record<string, string>> | null;
  readonly creationTime: number;
  readonly creationTtl: number;
  readonly explicitMaxTtl: number;
  readonly period: number;
  readonly renewable: boolean;
  readonly orphan: boolean;
  readonly entityId: string;
  readonly numUses: number;
  /** null: never expires (root tokens). */
  expireTime: number | null;
  /** The TTL granted last (creation or renewal); a renewal without increment asks for it again. */
  lastTtl: number;
  lastRenewal: number | null;
  /**
   * Renewal parameters from the issuing auth method, looked up at renewal time (so a deleted
   * AppRole makes renewal fail, as in Vault). null for tokens from the token store.
   */
  readonly renewSource: (() => RenewParams) | null;
}

/** What a backend passes to issue a token. */
export interface IssueParams {
  policies: string[];
  parentId: string | null;
  path: string;
  displayName: string;
  meta: Record<string, string> | null;
  /** 0: never expires. */
  ttl: number;
  explicitMaxTtl: number;
  period: number;
  renewable: boolean;
  orphan: boolean;
  entityId: string;
  numUses: number;
  renewSource: (() => RenewParams) | null;
}

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Random base62 text, for token ids and accessors. */
export function randomBase62(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    // Rejection sampling keeps the alphabet uniform (248 = 4 * 62).
    if (bytes[i] < 248) out += BASE62[bytes[i] % 62];
  }
  return out.length === length ? out : out + randomBase62(length - out.length);
}

/** A new service token id in Vault's current `hvs.` form. */
export function newTokenId(): string {
  return `hvs.${randomBase62(24)}`;
}

/** All tokens of one emulator, keyed by id. */
export class TokenStore {
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly byAccessor = new Map<string, string>();
  private readonly children = new Map<string, Set<string>>();

  /** Creates the store with the dev root token (never expires, `root` policy). */
  constructor(rootToken: string) {
    this.issue(
      {
        policies: ['root'],
        parentId: null,
        path: 'auth/token/root',
        displayName: 'root',
        meta: null,
        ttl: 0,
        explicitMaxTtl: 0,
        period: 0,
        renewable: false,
        orphan: true,
        entityId: '',
        numUses: 0,
        renewSource: null,
      },
      rootToken,
    );
  }

  /** Issues a token; ttl 0 means it never expires (and then cannot be renewable). */
  issue(params: IssueParams, id: string = newTokenId()): TokenEntry {
    const now = Date.now();
    const entry: TokenEntry = {
      id,
      accessor: randomBase62(24),
      policies: params.policies,
      parentId: params.orphan ? null : params.parentId,
      path: params.path,
      displayName: params.displayName,
      meta: params.meta,
      creationTime: now,
      creationTtl: params.ttl,
      explicitMaxTtl: params.explicitMaxTtl,
      period: params.period,
      renewable: params.renewable && params.ttl > 0,
      orphan: params.orphan,
      entityId: params.entityId,
      numUses: params.numUses,
      expireTime: params.ttl > 0 ? now + params.ttl * 1000 : null,
      lastTtl: params.ttl,
      lastRenewal: null,
      renewSource: params.renewSource,
    };
    this.tokens.set(id, entry);
    this.byAccessor.set(entry.accessor, id);
    if (entry.parentId) {
      const set = this.children.get(entry.parentId) ?? new Set<string>();
      set.add(id);
      this.children.set(entry.parentId, set);
    }
    return entry;
  }

  /**
   * The live entry for a token id, or null. Expired tokens (and tokens whose parent died,
   * since Vault revokes the whole tree) are revoked on the way, like Vault's expiration
   * manager would have done in the background.
   */
  lookup(id: string): TokenEntry | null {
    const entry = this.tokens.get(id);
    if (!entry) return null;
    if (entry.expireTime !== null && Date.now() >= entry.expireTime) {
      this.revoke(id);
      return null;
    }
    if (entry.parentId !== null && this.lookup(entry.parentId) === null) {
      this.revoke(id);
      return null;
    }
    return entry;
  }

  /** Looks a token up by accessor. */
  lookupAccessor(accessor: string): TokenEntry | null {
    const id = this.byAccessor.get(accessor);
    return id === undefined ? null : this.lookup(id);
  }

  /** Accessors of all live tokens. */
  accessors(): string[] {
    return [...this.tokens.keys()].map((id) => this.lookup(id)?.accessor).filter((a): a is string => a !== undefined);
  }

  /** Revokes a token and, unless `orphanChildren`, every token created under it. */
  revoke(id: string, orphanChildren = false): void {
    const entry = this.tokens.get(id);
    if (!entry) return;
    this.tokens.delete(id);
    this.byAccessor.delete(entry.accessor);
    const kids = this.children.get(id);
    this.children.delete(id);
    for (const kid of kids ?? []) {
      const child = this.tokens.get(kid);
      if (!child) continue;
      if (orphanChildren) this.tokens.set(kid, { ...child, parentId: null, orphan: true });
      else this.revoke(kid);
    }
  }

  /**
   * Renews a token (renew-self / renew) the way Vault's expiration manager does: no lease
   * → "invalid lease ID", not renewable → "lease is not renewable", else CalculateTTL from
   * the issuing method's parameters, counted from now.
   */
  renew(entry: TokenEntry, increment: number): { ttl: number; warnings: string[] } {
    if (entry.expireTime === null) throw badRequest('invalid lease ID');
    if (!entry.renewable) throw badRequest('lease is not renewable');
    const source = entry.renewSource ? entry.renewSource() : { ttl: entry.lastTtl, maxTtl: 0, period: entry.period };
    const now = Date.now();
    const result = calculateTtl({
      increment,
      backendTtl: source.ttl,
      period: source.period,
      backendMaxTtl: source.maxTtl,
      explicitMaxTtl: entry.explicitMaxTtl,
      startMs: entry.creationTime,
      nowMs: now,
    });
    entry.lastTtl = result.ttl;
    entry.lastRenewal = now;
    entry.expireTime = now + result.ttl * 1000;
    return result;
  }

  /** Seconds left before expiry (0 for tokens that never expire). */
  remainingTtl(entry: TokenEntry): number {
    if (entry.expireTime === null) return 0;
    return Math.max(0, Math.floor((entry.expireTime - Date.now()) / 1000));
  }

  /** The `auth` block for login, create and renew responses. */
  authBlock(entry: TokenEntry, leaseDuration: number): AuthBlock {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: [...entry.policies],
      token_policies: [...entry.policies],
      metadata: entry.meta ? { ...entry.meta } : null,
      lease_duration: leaseDuration,
      renewable: entry.renewable,
      entity_id: entry.entityId,
      token_type: 'service',
      orphan: entry.orphan,
      mfa_requirement: null,
      num_uses: entry.numUses,
    };
  }

  /** The `data` of auth/token/lookup-self and lookup; lease fields only for tokens with a TTL. */
  lookupData(entry: TokenEntry): Record<string, unknown> {
    const data: Record<string, unknown> = {
      accessor: entry.accessor,
      creation_time: Math.floor(entry.creationTime / 1000),
      creation_ttl: entry.creationTtl,
      display_name: entry.displayName,
      entity_id: entry.entityId,
      expire_time: entry.expireTime === null ? null : rfc3339Nano(entry.expireTime),
      explicit_max_ttl: entry.explicitMaxTtl,
      id: entry.id,
      meta: entry.meta ? { ...entry.meta } : null,
      num_uses: entry.numUses,
      orphan: entry.orphan,
      path: entry.path,
      policies: [...entry.policies],
      ttl: this.remainingTtl(entry),
      type: 'service',
    };
    if (entry.expireTime !== null) {
      data.issue_time = rfc3339Nano(entry.creationTime);
      data.renewable = entry.renewable;
      if (entry.lastRenewal !== null) {
        data.last_renewal_time = Math.floor(entry.lastRenewal / 1000);
        data.last_renewal = rfc3339Nano(entry.lastRenewal);
      }
    }
    if (entry.period > 0) data.period = entry.period;
    return data;
  }
}

/** A fresh entity id for tokens from login methods (Vault creates an identity entity there). */
export function newEntityId(): string {
  return randomUUID();
}
