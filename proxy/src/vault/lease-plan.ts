/**
 * What to do next with the proxy's Vault token, decided from its lease alone. Pure, so the
 * rules are testable without timers or a Vault.
 */
import type { TokenLease } from './auth';

/** Below this TTL a renewal buys too little to be worth a round trip; log in again instead. */
export const MIN_RENEWABLE_TTL_SECONDS = 2;
/** Never schedule tighter than this, whatever the TTL says. */
export const MIN_DELAY_MS = 100;

/** The next token action and when to take it (ms from now). */
export type NextAuthAction =
  | { action: 'none' }
  /** POST auth/token/renew-self. */
  | { action: 'renew'; delayMs: number }
  /** Log in again (AppRole / Kubernetes) before the token runs out. */
  | { action: 'relogin'; delayMs: number }
  /** Nothing can extend a static token: note its end when it comes. */
  | { action: 'expire'; delayMs: number };

export interface PlanOptions {
  /** Whether the auth method can obtain a fresh token (not a static token). */
  canRelogin: boolean;
  /** The last renewal returned less than was asked: the token is near its max TTL. */
  capped: boolean;
  /** Act once this fraction of the TTL has passed. */
  renewFraction: number;
}

/**
 * Plans on the TTL Vault returned (never on what was asked). A capped renewal means the
 * token cannot be extended further, so a method that can log in does that at the usual
 * fraction of what is left; a static token keeps renewing on the shrinking TTL while that
 * is still worth it.
 */
export function planNextAuthAction(lease: TokenLease, options: PlanOptions): NextAuthAction {
  // 0: a token without expiry (root, or unlimited); nothing to schedule.
  if (lease.ttlSeconds <= 0) return { action: 'none' };
  const ttlMs = lease.ttlSeconds * 1000;
  const atFraction = Math.max(MIN_DELAY_MS, Math.floor(ttlMs * options.renewFraction));
  const worthRenewing = lease.renewable && lease.ttlSeconds >= MIN_RENEWABLE_TTL_SECONDS && !(options.capped && options.canRelogin);
  if (worthRenewing) return { action: 'renew', delayMs: atFraction };
  if (options.canRelogin) return { action: 'relogin', delayMs: atFraction };
  return { action: 'expire', delayMs: ttlMs };
}
