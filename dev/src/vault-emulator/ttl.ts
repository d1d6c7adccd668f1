/**
 * Vault's TTL arithmetic for logins and renewals (sdk/framework/lease.go CalculateTTL):
 * which TTL a token gets, and the warning when a max TTL caps it.
 */
import { SYSTEM_DEFAULT_TTL_SECONDS, SYSTEM_MAX_TTL_SECONDS, humanDuration } from './durations';
import { VaultError, multiError } from './http';

/** Inputs of Vault's CalculateTTL, all in seconds except the start time. */
export interface TtlInputs {
  increment: number;
  backendTtl: number;
  period: number;
  backendMaxTtl: number;
  explicitMaxTtl: number;
  /** When the token was issued (epoch ms). */
  startMs: number;
  nowMs: number;
}

/**
 * Vault's framework.CalculateTTL: the TTL a renewal (or login) gets, capped by the smallest
 * of the system, backend and explicit max TTLs counted from issue time, with Vault's
 * warning text when capping happened.
 */
export function calculateTtl(inputs: TtlInputs): { ttl: number; warnings: string[] } {
  const warnings: string[] = [];
  // Vault truncates both times to whole seconds before comparing.
  const now = Math.floor(inputs.nowMs / 1000);
  const start = Math.floor(inputs.startMs / 1000);
  let maxTtl = SYSTEM_MAX_TTL_SECONDS;
  if (inputs.backendMaxTtl > 0 && inputs.backendMaxTtl < maxTtl) maxTtl = inputs.backendMaxTtl;
  if (inputs.explicitMaxTtl > 0 && inputs.explicitMaxTtl < maxTtl) maxTtl = inputs.explicitMaxTtl;

  let ttl: number;
  let maxValid: number | null = null;
  if (inputs.period > 0) {
    ttl = inputs.period;
    if (ttl > maxTtl) {
      warnings.push(`period of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxTtl)}"; period value is capped accordingly`);
      ttl = maxTtl;
    }
    if (inputs.explicitMaxTtl > 0) maxValid = start + inputs.explicitMaxTtl;
  } else {
    ttl = inputs.increment > 0 ? inputs.increment : inputs.backendTtl > 0 ? inputs.backendTtl : SYSTEM_DEFAULT_TTL_SECONDS;
    maxValid = start + maxTtl;
  }
  if (maxValid !== null) {
    const maxValidTtl = maxValid - now;
    // Vault returns this as a plain error from the renewal, which the HTTP layer makes a 500.
    if (maxValidTtl <= 0) throw new VaultError(500, [multiError('past the max TTL, cannot renew')]);
    if (ttl > maxValidTtl) {
      warnings.push(`TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxValidTtl)}"; TTL value is capped accordingly`);
      ttl = maxValidTtl;
    }
  }
  return { ttl, warnings };
}
