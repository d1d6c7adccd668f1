/**
 * Rate limit quotas (`sys/quotas/rate-limit/<name>`, `sys/quotas/config`): fixed-window
 * buckets per client address like the go-limiter store Vault uses, the most specific quota
 * (longest path) applies, and the 429 and X-Ratelimit-* headers Vault sends.
 */
import { VaultError, type VaultReply } from './http';

/** One rate limit quota as configured. */
export interface RateLimitQuota {
  readonly name: string;
  /** '' (global), a mount (`secret/`) or a path prefix (`secret/data/app`). */
  readonly path: string;
  readonly rate: number;
  readonly intervalSeconds: number;
  readonly blockIntervalSeconds: number;
}

interface Bucket {
  readonly start: number;
  tick: number;
  tokens: number;
}

interface QuotaState {
  quota: RateLimitQuota;
  buckets: Map<string, Bucket>;
  blockedAt: Map<string, number>;
}

/** Paths Vault exempts from rate limit quotas by default. */
const DEFAULT_EXEMPT_PATHS = [
  'sys/generate-recovery-token/attempt',
  'sys/generate-recovery-token/update',
  'sys/generate-root/attempt',
  'sys/generate-root/update',
  'sys/health',
  'sys/seal-status',
  'sys/unseal',
];

/** All quotas of an emulator plus the quota config. */
export class RateLimitQuotas {
  private readonly quotas = new Map<string, QuotaState>();
  /** `enable_rate_limit_response_headers`: send X-Ratelimit-* on every limited path. */
  responseHeaders = false;
  exemptPaths: string[] = [...DEFAULT_EXEMPT_PATHS];

  /** Creates or replaces a quota; counters restart, as Vault re-creates the limiter. */
  set(quota: RateLimitQuota): void {
    this.quotas.set(quota.name, { quota, buckets: new Map(), blockedAt: new Map() });
  }

  get(name: string): RateLimitQuota | undefined {
    return this.quotas.get(name)?.quota;
  }

  delete(name: string): void {
    this.quotas.delete(name);
  }

  names(): string[] {
    return [...this.quotas.keys()].sort();
  }

  /**
   * Applies the most specific quota to a request. Returns null when allowed with no extra
   * headers, a reply to send (429) when refused, or headers to add when allowed.
   */
  check(path: string, clientAddress: string): { refused: VaultReply | null; headers: Record<string, string> } {
    const none = { refused: null, headers: {} };
    if (this.exemptPaths.some((p) => path === p || path === `${p}/`)) return none;
    const state = this.mostSpecific(path);
    if (!state) return none;
    const { quota } = state;
    const now = Date.now();
    const headers: Record<string, string> = {};
    const blockedAt = state.blockedAt.get(clientAddress);
    if (blockedAt !== undefined) {
      const until = blockedAt + quota.blockIntervalSeconds * 1000;
      if (now < until) {
        if (this.responseHeaders) headers['Retry-After'] = String(Math.trunc((until - now) / 1000));
        return { refused: refusal(path, headers), headers };
      }
      state.blockedAt.delete(clientAddress);
    }
    const bucket = take(state, clientAddress, now);
    const resetSeconds = String(Math.trunc((bucket.resetAt - now) / 1000));
    if (this.responseHeaders) {
      headers['X-Ratelimit-Limit'] = String(Math.round(quota.rate));
      headers['X-Ratelimit-Remaining'] = String(bucket.remaining);
      headers['X-Ratelimit-Reset'] = resetSeconds;
    }
    if (bucket.allowed) return { refused: null, headers };
    let retryAfter = resetSeconds;
    if (quota.blockIntervalSeconds > 0) {
      state.blockedAt.set(clientAddress, now);
      retryAfter = String(quota.blockIntervalSeconds);
    }
    if (this.responseHeaders) headers['Retry-After'] = retryAfter;
    return { refused: refusal(path, headers), headers };
  }

  private mostSpecific(path: string): QuotaState | undefined {
    let best: QuotaState | undefined;
    for (const state of this.quotas.values()) {
      const prefix = state.quota.path.replace(/\*$/, '');
      if (!path.startsWith(prefix)) continue;
      if (!best || prefix.length > best.quota.path.replace(/\*$/, '').length) best = state;
    }
    return best;
  }
}

/** go-limiter's memorystore: a fixed window per client that refills at interval boundaries. */
function take(state: QuotaState, client: string, now: number): { allowed: boolean; remaining: number; resetAt: number } {
  const { quota } = state;
  const interval = quota.intervalSeconds * 1000;
  const max = Math.round(quota.rate);
  let bucket = state.buckets.get(client);
  if (!bucket) {
    bucket = { start: now, tick: 0, tokens: max };
    state.buckets.set(client, bucket);
  }
  const tick = Math.floor((now - bucket.start) / interval);
  if (tick > bucket.tick) {
    bucket.tick = tick;
    bucket.tokens = max;
  }
  const resetAt = bucket.start + (bucket.tick + 1) * interval;
  if (bucket.tokens > 0) {
    bucket.tokens -= 1;
    return { allowed: true, remaining: bucket.tokens, resetAt };
  }
  return { allowed: false, remaining: 0, resetAt };
}

function refusal(path: string, headers: Record<string, string>): VaultReply {
  return { status: 429, body: { errors: [`request path ${JSON.stringify(path)}: rate limit quota exceeded`] }, headers };
}

/** Validates a quota write body into a quota (Vault: rate must be positive). */
export function quotaFromBody(name: string, body: Record<string, unknown>, parseSeconds: (v: unknown, field: string) => number): RateLimitQuota {
  const rate = Number(body.rate);
  if (!Number.isFinite(rate) || rate <= 0) throw new VaultError(400, [`invalid rate: ${String(body.rate)}`]);
  const interval = body.interval === undefined ? 1 : parseSeconds(body.interval, 'interval');
  return {
    name,
    path: typeof body.path === 'string' ? body.path.replace(/^\/+/, '') : '',
    rate,
    intervalSeconds: interval > 0 ? interval : 1,
    blockIntervalSeconds: body.block_interval === undefined ? 0 : parseSeconds(body.block_interval, 'block_interval'),
  };
}
