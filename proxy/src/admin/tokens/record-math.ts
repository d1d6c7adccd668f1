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

/** The stored form of a new token valid from `now` for `ttlMs` (null: never expires), with the TTL kept for the next rotation. */
export function storedToken(token: IssuedToken, now: number, ttlMs: number | null): StoredToken {
  return {
    id: token.id,
    hash: token.hash,
    createdAt: new Date(now).toISOString(),
    expiresAt: ttlMs === null ? null : new Date(now + ttlMs).toISOString(),
    ttlSeconds: ttlMs === null ? null : ttlMs / 1000,
  };
}

/** The TTL `token rotate` gives the next token when no --ttl is passed, and where it came from. */
export type InheritedTtl =
  | { ttlMs: number | null; from: 'stored' | 'span'; tokenId: string }
  /** The record has no token to take it from. */
  | { ttlMs: null; from: 'none' };

/**
 * The lifetime of the client's newest token: the `ttlSeconds` it was issued with, or, for
 * tokens written before that field existed, its createdAt → expiresAt span (the newest
 * token is never one a rotation cut short: a rotation adds a newer one).
 */
export function inheritedTtl(record: TokenRecord): InheritedTtl {
  const newest = record.tokens.reduce<StoredToken | null>(
    (latest, token) => (latest === null || Date.parse(token.createdAt) >= Date.parse(latest.createdAt) ? token : latest),
    null,
  );
  if (newest === null) return { ttlMs: null, from: 'none' };
  if (newest.ttlSeconds !== undefined) return { ttlMs: newest.ttlSeconds === null ? null : newest.ttlSeconds * 1000, from: 'stored', tokenId: newest.id };
  const span = newest.expiresAt === null ? null : Date.parse(newest.expiresAt) - Date.parse(newest.createdAt);
  // A hand-written record may hold an expiry at or before the creation: no lifetime to copy.
  if (span !== null && span <= 0) return { ttlMs: null, from: 'none' };
  return { ttlMs: span, from: 'span', tokenId: newest.id };
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
 * keep their expiry (so the record still says when they ended). Each token cut is marked
 * `rotatedAt` / `replacedBy` (a second rotation keeps the first mark), so expiry warnings
 * and `token list` can say that it was already rotated.
 */
export function rotate(record: TokenRecord, token: IssuedToken, now: number, graceMs: number, ttlMs: number | null): TokenRecord {
  const graceEnd = now + graceMs;
  const older = record.tokens.map((existing) => {
    if (!isValidAt(existing, now)) return existing;
    const end = existing.expiresAt === null ? graceEnd : Math.min(Date.parse(existing.expiresAt), graceEnd);
    return {
      ...existing,
      expiresAt: new Date(end).toISOString(),
      rotatedAt: existing.rotatedAt ?? new Date(now).toISOString(),
      replacedBy: existing.replacedBy ?? token.id,
    };
  });
  return { ...record, tokens: [...older, storedToken(token, now, ttlMs)] };
}

/** What a grant or ungrant did: the new record, and which of the named services changed or were already so. */
export interface GrantChange {
  record: TokenRecord;
  changed: string[];
  unchanged: string[];
}

/** Adds services to the client's record (kept in the record's order, new ones appended); the tokens stay. */
export function grant(record: TokenRecord, services: readonly string[]): GrantChange {
  const unchanged = services.filter((service) => record.services.includes(service));
  const changed = [...new Set(services.filter((service) => !record.services.includes(service)))];
  return { record: changed.length === 0 ? record : { ...record, services: [...record.services, ...changed] }, changed, unchanged };
}

/** Removes services from the client's record; the tokens stay. */
export function ungrant(record: TokenRecord, services: readonly string[]): GrantChange {
  const changed = record.services.filter((service) => services.includes(service));
  const unchanged = [...new Set(services.filter((service) => !record.services.includes(service)))];
  return {
    record: changed.length === 0 ? record : { ...record, services: record.services.filter((service) => !services.includes(service)) },
    changed,
    unchanged,
  };
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

export type TokenState =
  | { state: 'active' }
  | { state: 'expiring'; inMs: number }
  /** Cut by a rotation, still valid: the end of its grace period. */
  | { state: 'rotated'; inMs: number; replacedBy: string | null }
  | { state: 'expired' };

/** What `token list` shows for a token at `now`. */
export function tokenState(token: StoredToken, now: number): TokenState {
  if (token.expiresAt === null) return { state: 'active' };
  const left = Date.parse(token.expiresAt) - now;
  if (left <= 0) return { state: 'expired' };
  if (token.rotatedAt !== undefined) return { state: 'rotated', inMs: left, replacedBy: token.replacedBy ?? null };
  return left <= EXPIRING_SOON_MS ? { state: 'expiring', inMs: left } : { state: 'active' };
}
