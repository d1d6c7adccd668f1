/**
 * Which proxy tokens are about to expire, as a pure function of the tokens, the time and the
 * warning window (tokenExpiryWarningSeconds): the expiry gauges, the warn lines and their
 * tests all read the same answer. Tokens that already expired are left out: they no longer
 * work, and the refusals (PROXY_TOKEN_EXPIRED) are counted where they happen.
 */
import type { TokenExpiry } from './token-index';

/** One client's standing: how many valid tokens expire within the window, and the earliest expiry. */
export interface ClientExpiry {
  client: string;
  expiringSoon: number;
  /** Earliest expiry among the client's valid tokens, epoch ms; null when none of them expires. */
  earliestExpiryMs: number | null;
}

export interface ExpiryWindow {
  /** Valid tokens expiring within the window, soonest first. */
  expiring: TokenExpiry[];
  /** Every client with at least one valid token, by name. */
  clients: ClientExpiry[];
}

/** Splits `tokens` at `now` against a window of `windowMs` (0: nothing is "soon"). */
export function expiryWindow(tokens: Iterable<TokenExpiry>, now: number, windowMs: number): ExpiryWindow {
  const clients = new Map<string, ClientExpiry>();
  const expiring: TokenExpiry[] = [];
  for (const token of tokens) {
    const expiresAtMs = token.expiresAt === null ? null : token.expiresAt.getTime();
    // The proxy refuses a token at its expiry instant, so "valid" is strictly before it.
    if (expiresAtMs !== null && expiresAtMs <= now) continue;
    const entry = clients.get(token.clientId) ?? { client: token.clientId, expiringSoon: 0, earliestExpiryMs: null };
    clients.set(token.clientId, entry);
    if (expiresAtMs === null) continue;
    entry.earliestExpiryMs = entry.earliestExpiryMs === null ? expiresAtMs : Math.min(entry.earliestExpiryMs, expiresAtMs);
    if (windowMs > 0 && expiresAtMs - now <= windowMs) {
      entry.expiringSoon += 1;
      expiring.push(token);
    }
  }
  expiring.sort((a, b) => (a.expiresAt as Date).getTime() - (b.expiresAt as Date).getTime());
  return { expiring, clients: [...clients.values()].sort((a, b) => a.client.localeCompare(b.client)) };
}
