/**
 * Which client a proxy token belongs to. Tokens are looked up by the SHA-256 of the whole
 * token string, so the proxy never holds a token and the lookup time does not depend on
 * how much of a guess matches a real token.
 */
import type { ProxyConfig } from '../config/schema';
import type { AuthenticatedClient } from '../request-context';
import { hashToken, tokenIdOf } from './tokens';

interface TokenRecord {
  clientId: string;
  tokenId: string | null;
  expiresAt: Date | null;
  services: ReadonlySet<string>;
}

export type TokenLookup =
  | { ok: true; client: AuthenticatedClient }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'expired'; clientId: string; expiredAt: Date };

/** Immutable index of the configured clients' token hashes. */
export class ClientRegistry {
  private readonly byHash = new Map<string, TokenRecord>();

  constructor(clients: ProxyConfig['clients']) {
    for (const [clientId, client] of Object.entries(clients)) {
      const services: ReadonlySet<string> = new Set(client.services);
      for (const entry of client.tokenHashes) {
        const { hash, expiresAt, id } = typeof entry === 'string' ? { hash: entry, expiresAt: undefined, id: undefined } : entry;
        this.byHash.set(hash, {
          clientId,
          tokenId: id ?? null,
          expiresAt: expiresAt === undefined ? null : new Date(expiresAt),
          services,
        });
      }
    }
  }

  /** Resolves a presented token; `now` is injectable for expiry tests. */
  lookup(token: string, now: number = Date.now()): TokenLookup {
    const record = this.byHash.get(hashToken(token));
    if (record === undefined) return { ok: false, reason: 'unknown' };
    if (record.expiresAt !== null && record.expiresAt.getTime() <= now) {
      return { ok: false, reason: 'expired', clientId: record.clientId, expiredAt: record.expiresAt };
    }
    return {
      ok: true,
      client: {
        id: record.clientId,
        tokenId: record.tokenId ?? tokenIdOf(token),
        expiresAt: record.expiresAt,
        services: record.services,
      },
    };
  }
}
