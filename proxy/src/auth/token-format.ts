/**
 * Proxy token format: `spt_<id>_<secret>`. The `spt_` prefix lets secret scanners match a
 * leaked token; the id names the token in logs, whoami and rotation records without
 * revealing it; the secret is 32 random bytes. Only `sha256:<hex>` of the whole string is
 * ever stored: a 256-bit random secret needs no slow hash.
 */
import { hash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'spt_';
const TOKEN_SHAPE = /^spt_([a-z0-9]{1,32})_([A-Za-z0-9_-]{32,128})$/;
/** Anything longer is not one of ours; refuse before hashing attacker-sized input. */
export const MAX_TOKEN_LENGTH = 256;

export interface GeneratedToken {
  id: string;
  /** The whole token; show once, never log or store. */
  token: string;
  /** `sha256:<hex>`, what configs and Vault records hold. */
  hash: string;
}

/** Creates a fresh token with a 12-character id and a 256-bit secret. */
export function generateToken(): GeneratedToken {
  const id = randomBytes(8).toString('hex').slice(0, 12);
  const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, token, hash: hashToken(token) };
}

/** `sha256:<hex>` of the whole token string (every request hashes its token: the one-shot form, without a Hash object). */
export function hashToken(token: string): string {
  return `sha256:${hash('sha256', token, 'hex')}`;
}

/** The id part of an `spt_` token, or null for a token of another shape. Never the secret. */
export function tokenIdOf(token: string): string | null {
  const match = TOKEN_SHAPE.exec(token);
  return match ? match[1] : null;
}

/**
 * Characters a bearer token may contain (RFC 6750 token68). Tokens of other shapes than
 * `spt_` are accepted when configured by hash, so existing tokens can be migrated.
 */
export function isPlausibleToken(token: string): boolean {
  return token.length > 0 && token.length <= MAX_TOKEN_LENGTH && /^[A-Za-z0-9._~+/-]+=*$/.test(token);
}
