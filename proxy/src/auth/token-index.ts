/**
 * Which client a proxy token belongs to. Tokens are looked up by the SHA-256 of the whole
 * token string, so the proxy never holds a token and the lookup time does not depend on
 * how much of a guess matches a real token.
 *
 * An index is immutable: the token store builds a new one from the static clients plus the
 * Vault records and swaps it in whole, so a lookup never sees half an update.
 */
import type { ProxyConfig } from '../config/schema';
import type { AuthenticatedClient } from '../app/request-context';
import { hashToken, tokenIdOf } from './token-format';
import { compileWorkflowRules, type WorkflowRules } from './workflow-policy';

/** One client's tokens from a source other than the config file (the Vault token records). */
export interface ClientTokens {
  clientId: string;
  services: readonly string[];
  /** Services narrowed to listed workflows; absent or null: no such rule. */
  workflows?: WorkflowRules | null;
  /** `replacedBy`: the token that replaced this one when a rotation cut it short (Vault records only). */
  tokens: ReadonlyArray<{ hash: string; id: string | null; expiresAt: Date | null; replacedBy?: string | null }>;
}

interface IndexedToken {
  clientId: string;
  tokenId: string | null;
  expiresAt: Date | null;
  replacedBy: string | null;
  /** expiresAt in epoch ms, Infinity for no expiry: one comparison on the hot path. */
  expiresAtMs: number;
  services: ReadonlySet<string>;
  workflows: WorkflowRules | null;
  /** The answer for a valid token, built once when the id is known (always for Vault records). */
  hit: TokenLookup | null;
}

export type TokenLookup =
  | { ok: true; client: AuthenticatedClient }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'expired'; clientId: string; expiredAt: Date };

/** A client without workflow rules carries no `workflows` field at all. */
function rulesOf(workflows: WorkflowRules | null): { workflows?: WorkflowRules } {
  return workflows === null ? {} : { workflows };
}

const UNKNOWN: TokenLookup = Object.freeze({ ok: false, reason: 'unknown' });

/** A token as expiry warnings see it: owner, id and expiry, never its hash. */
export interface TokenExpiry {
  clientId: string;
  tokenId: string | null;
  expiresAt: Date | null;
  /** The client is defined in the config file (rotated by hand), not in the Vault token records. */
  fromConfigFile: boolean;
  /** Already rotated: the id of the token that replaced it, so its expiry is the end of a grace period. Null otherwise. */
  replacedBy: string | null;
}

/** Immutable index of token hashes: the configured clients first, then `stored` ones. */
export class ClientRegistry {
  private readonly byHash = new Map<string, IndexedToken>();
  private readonly configFileClients: ReadonlySet<string>;
  /** Hashes found under two clients of `stored`: refused, since the owner is ambiguous. */
  readonly ambiguousHashes: number;

  constructor(clients: ProxyConfig['clients'], stored: Iterable<ClientTokens> = []) {
    this.configFileClients = new Set(Object.keys(clients));
    for (const [clientId, client] of Object.entries(clients)) {
      const entries = client.tokenHashes.map((entry) =>
        typeof entry === 'string'
          ? { hash: entry, id: null, expiresAt: null }
          : { hash: entry.hash, id: entry.id ?? null, expiresAt: entry.expiresAt === undefined ? null : new Date(entry.expiresAt) },
      );
      this.add({ clientId, services: client.services, workflows: compileWorkflowRules(client.workflows, 'config'), tokens: entries });
    }
    const staticHashes = new Set(this.byHash.keys());
    const ambiguous = new Set<string>();
    for (const client of stored) {
      // A static client of the same name, or a hash the config file already holds, wins.
      if (Object.hasOwn(clients, client.clientId)) continue;
      for (const { hash } of client.tokens) {
        const owner = this.byHash.get(hash);
        if (owner !== undefined && !staticHashes.has(hash) && owner.clientId !== client.clientId) ambiguous.add(hash);
      }
      this.add({ ...client, tokens: client.tokens.filter((t) => !staticHashes.has(t.hash)) });
    }
    for (const hash of ambiguous) this.byHash.delete(hash);
    this.ambiguousHashes = ambiguous.size;
  }

  private add(client: ClientTokens): void {
    const services: ReadonlySet<string> = new Set(client.services);
    const workflows = client.workflows ?? null;
    for (const { hash, id, expiresAt, replacedBy } of client.tokens) {
      const base = { clientId: client.clientId, tokenId: id, expiresAt, replacedBy: replacedBy ?? null, services, workflows };
      const hit: TokenLookup | null =
        id === null
          ? null
          : Object.freeze({ ok: true as const, client: Object.freeze({ id: client.clientId, tokenId: id, expiresAt, services, ...rulesOf(workflows) }) });
      this.byHash.set(hash, { ...base, expiresAtMs: expiresAt === null ? Infinity : expiresAt.getTime(), hit });
    }
  }

  /** Every token in the index (expired ones included), for expiry warnings. */
  expiries(): TokenExpiry[] {
    return [...this.byHash.values()].map((t) => ({
      clientId: t.clientId,
      tokenId: t.tokenId,
      expiresAt: t.expiresAt,
      fromConfigFile: this.configFileClients.has(t.clientId),
      replacedBy: t.replacedBy,
    }));
  }

  /** Resolves a presented token; `now` is injectable for expiry tests. */
  lookup(token: string, now: number = Date.now()): TokenLookup {
    const record = this.byHash.get(hashToken(token));
    if (record === undefined) return UNKNOWN;
    if (record.expiresAtMs <= now) {
      return { ok: false, reason: 'expired', clientId: record.clientId, expiredAt: record.expiresAt as Date };
    }
    if (record.hit !== null) return record.hit;
    return {
      ok: true,
      client: { id: record.clientId, tokenId: tokenIdOf(token), expiresAt: record.expiresAt, services: record.services, ...rulesOf(record.workflows) },
    };
  }
}
