/**
 * `--ttl` and `--grace` values ("90d", "15m", "1.5h"), parsed by the `ms` library. A bare
 * number is refused (is "90" minutes or days?) except 0, and so is anything negative.
 */
import ms from 'ms';
import { TokenAdminUsageError } from './errors';

/** Milliseconds of a duration flag, or a usage error that shows the expected form. */
export function parseDurationFlag(flag: string, value: string): number {
  const text = value.trim();
  const parsed = text === '0' ? 0 : /[a-z]$/i.test(text) ? ms(text as ms.StringValue) : undefined;
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    throw new TokenAdminUsageError(`${flag} must be a duration with a unit such as 15m, 12h, 90d or 1y (or 0), got "${value}"`);
  }
  return parsed;
}

/** `--ttl`: a duration, or "never" for a token without expiry. */
export function parseTtlFlag(value: string): number | null {
  if (value.trim() === 'never') return null;
  const parsed = parseDurationFlag('--ttl', value);
  if (parsed === 0) throw new TokenAdminUsageError('--ttl must be longer than 0 (a token that is expired when issued is useless); use "never" for no expiry');
  return parsed;
}

/** A duration for people: "3 days", "15 minutes". */
export function humanDuration(milliseconds: number): string {
  return ms(milliseconds, { long: true });
}
