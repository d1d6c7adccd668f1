/**
 * What `secure-proxy token create | rotate | revoke` do to a client's record, as pure
 * functions of the record and the time: no Vault, no clock, no randomness, so the rotation
 * rules are tested exactly. Records are never mutated; each function returns a new one.
 */
import { DEFAULT_TOKEN_EXPIRY_WARNING_SECONDS } from '../../config/schema';
import type { StoredToken, TokenRecord } from '../../auth/vault-records/record';

/** Expired tokens are dropped from a record this long after their expiry, on the next write. */
export const PRUNE_AFTER_MS = 7 * 24 * 60 * 60 * 1000;

/** A freshly generated token as a record holds it: id and hash, never the token. */
export interface IssuedToken {
  id: string;
  hash: string;
}

/** The stored form of a new token valid from `now` for `ttlMs` (null: never expires). */
export function storedToken(token: IssuedToken, now: number, ttlMs: number | null): StoredToken {
  return {
    id: token.id,
    hash: token.hash,
    createdAt: new Date(now).toISOString(),
    expiresAt: ttlMs === null ? null : new Date(now + ttlMs).toISOString(),
  };
}

/** Whether a token is still accepted at `now` (the proxy refuses at the expiry instant). */
export function isValidAt(token: StoredToken, now: number): boolean {
  return token.expiresAt === null || Date.parse(token.expiresAt) > now;
}

/** Adds a token; the other tokens stay as they are. */
export function addToken(record: TokenRecord, token: IssuedToken, now: number, ttlMs: number | null): TokenRecord {
  return { ...record, tokens: [...record.tokens, storedToken(token, now, ttlMs)] };
}

/**
 * Adds a token valid now, and cuts every older still-valid token to expire at
 * min(its expiry, now + grace). A grace of 0 ends them now. Tokens that already expired
 * keep their expiry (so the record still says when they ended).
 */
export function rotate(record: TokenRecord, token: IssuedToken, now: number, graceMs: number, ttlMs: number | null): TokenRecord {
  const graceEnd = now + graceMs;
  const older = record.tokens.map((existing) => {
    if (!isValidAt(existing, now)) return existing;
    const end = existing.expiresAt === null ? graceEnd : Math.min(Date.parse(existing.expiresAt), graceEnd);
    return { ...existing, expiresAt: new Date(end).toISOString() };
  });
  return { ...record, tokens: [...older, storedToken(token, now, ttlMs)] };
}

/** Removes the token with this id; `revoked` is empty when the record has none. */
export function revokeById(record: TokenRecord, id: string): { record: TokenRecord; revoked: StoredToken[] } {
  const revoked = record.tokens.filter((token) => token.id === id);
  return { record: { ...record, tokens: record.tokens.filter((token) => token.id !== id) }, revoked };
}

/** Removes every token; the record (its services) stays, so `create --add` can issue again. */
export function revokeAll(record: TokenRecord): { record: TokenRecord; revoked: StoredToken[] } {
  return { record: { ...record, tokens: [] }, revoked: [...record.tokens] };
}

/** Drops tokens that expired more than PRUNE_AFTER_MS ago, to keep records small. */
export function prune(record: TokenRecord, now: number): TokenRecord {
  const tokens = record.tokens.filter((token) => token.expiresAt === null || Date.parse(token.expiresAt) > now - PRUNE_AFTER_MS);
  return tokens.length === record.tokens.length ? record : { ...record, tokens };
}

/** Tokens expiring within this (the proxy's default warning window) are listed as "expiring in …" rather than active. */
export const EXPIRING_SOON_MS = DEFAULT_TOKEN_EXPIRY_WARNING_SECONDS * 1000;

export type TokenState = { state: 'active' } | { state: 'expiring'; inMs: number } | { state: 'expired' };

/** What `token list` shows for a token at `now`. */
export function tokenState(token: StoredToken, now: number): TokenState {
  if (token.expiresAt === null) return { state: 'active' };
  const left = Date.parse(token.expiresAt) - now;
  if (left <= 0) return { state: 'expired' };
  return left <= EXPIRING_SOON_MS ? { state: 'expiring', inMs: left } : { state: 'active' };
}
