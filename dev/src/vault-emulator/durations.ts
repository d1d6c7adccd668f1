/**
 * Durations and timestamps the way Vault writes and reads them: Go duration strings
 * ("90s", "1h30m"), seconds as numbers, RFC 3339 timestamps with trimmed fractions.
 */
import { VaultError } from './http';

/** Vault's default lease TTL (32 days), in seconds: what a token or KV v1 read gets by default. */
export const SYSTEM_DEFAULT_TTL_SECONDS = 768 * 3600;
/** Vault's system maximum lease TTL (32 days), in seconds: no token outlives it. */
export const SYSTEM_MAX_TTL_SECONDS = 768 * 3600;

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const GO_DURATION = /^(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const GO_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;

/**
 * Parses a TTL parameter like Vault's parseutil.ParseDurationSecond: a number or numeric
 * string is seconds, "Nd" is days, anything else must be a Go duration. Missing means 0.
 * Returns null when the value is not a duration.
 */
export function tryParseDurationSeconds(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Math.floor(Number(text));
  const days = /^(\d+)d$/.exec(text);
  if (days) return Number(days[1]) * 86_400;
  if (!GO_DURATION.test(text)) return null;
  let ms = 0;
  for (const part of text.matchAll(GO_PART)) ms += Number(part[1]) * (UNIT_MS[part[2]] ?? 0);
  return Math.floor(ms / 1000);
}

/** Like tryParseDurationSeconds, but a bad value is the 400 Vault answers for it. */
export function parseDurationSeconds(value: unknown, field: string): number {
  const seconds = tryParseDurationSeconds(value);
  if (seconds === null)
    throw new VaultError(400, [`error converting input ${JSON.stringify(value)} for field "${field}": time: invalid duration "${String(value)}"`]);
  return seconds;
}

/** Formats whole seconds like Go's time.Duration.String(): 3600 → "1h0m0s", 90 → "1m30s". */
export function goDurationString(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  if (total === 0) return '0s';
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * Vault's humanDuration (sdk/framework/lease.go): Go's format minus zero tails, so renewal
 * warnings read `"1h"` and `"9m59s"` exactly like the real server's.
 */
export function humanDuration(seconds: number): string {
  let text = goDurationString(seconds);
  if (text === '0s') return text;
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  const idx = text.indexOf('h0m');
  if (idx > 0) text = text.slice(0, idx + 1) + text.slice(idx + 3);
  return text;
}

/** Current time in milliseconds with sub-millisecond digits, for realistic nanosecond timestamps. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Formats like Go's time.RFC3339Nano in UTC: fraction digits without trailing zeros, and
 * no fraction at all when it is zero ("2024-05-01T10:00:00.123456Z").
 */
export function rfc3339Nano(ms: number): string {
  const whole = Math.floor(ms);
  const base = new Date(whole).toISOString().slice(0, 19);
  const nanos = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1e6);
  const fraction = String(Math.min(nanos, 999_999_999)).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? `${base}Z` : `${base}.${fraction}Z`;
}
