/**
 * Brute-force throttle for proxy tokens. Guessing a 256-bit token is hopeless, so this is not
 * about the odds: it keeps one address that keeps sending bad tokens (an attacker, or one
 * misconfigured workflow) from flooding the audit log and burning CPU on lookups, and from
 * triggering the token reloads a lookup miss will cost once token records live in Vault.
 *
 * Only failed authentications reach it (the authentication stage hands them over before it
 * refuses), so a valid token is always served, even from a throttled address, and a
 * successful request never counts. Counting is express-rate-limit's fixed window per address.
 */
import type { RequestHandler } from 'express';
import { MemoryStore, ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { ProxyError, refuse } from '../contract/proxy-error';
import type { ProxyConfig } from '../config/schema';
import type { ProxyEvents } from '../observability/events';

/**
 * IPv6 clients are counted per /64: a single host usually holds a whole /64 and can pick
 * any address inside it for free.
 */
const IPV6_GROUP_BITS = 64;
/** Shared bucket for the rare request whose socket has no peer address left; it fails closed with the others. */
const UNKNOWN_ADDRESS = 'unknown';

export type AuthThrottleConfig = ProxyConfig['authThrottle'];

export interface AuthThrottle {
  /**
   * Sees every failed authentication before it is refused: calls `next()` to let the usual
   * 401 go out, or answers 429 PROXY_TOKEN_THROTTLED itself.
   */
  readonly onFailure: RequestHandler;
  /** Stops the store's window timer and forgets every count. */
  close(): void;
}

/**
 * The counting key of a peer address. Always the socket's peer, never X-Forwarded-For or
 * req.ip: the proxy has no trusted-proxy setting, so any forwarding header is the caller's
 * own claim. IPv4-mapped IPv6 peers (dual-stack listeners) count as their IPv4 address.
 */
export function throttleKeyOf(address: string | undefined): string {
  return address === undefined || address === '' ? UNKNOWN_ADDRESS : ipKeyGenerator(address, IPV6_GROUP_BITS);
}

/** Whole seconds until the window frees up, at least 1 so a client never retries at once. */
export function retryAfterSeconds(resetTime: Date | undefined, windowSeconds: number, now: number = Date.now()): number {
  if (resetTime === undefined) return windowSeconds;
  return Math.max(1, Math.ceil((resetTime.getTime() - now) / 1000));
}

/** Builds the throttle, or null when `maxFailures` is 0 (turned off). */
export function createAuthThrottle(config: AuthThrottleConfig, events: ProxyEvents): AuthThrottle | null {
  if (config.maxFailures === 0) return null;
  // Memory stays bounded under a flood from many addresses: MemoryStore keeps two maps and
  // every windowMs drops the older one, so it only holds addresses that failed within the
  // last two windows (and IPv6 is grouped per /64 above).
  const store = new MemoryStore();
  const onFailure = rateLimit({
    windowMs: config.windowSeconds * 1000,
    limit: config.maxFailures,
    store,
    keyGenerator: (req) => throttleKeyOf(req.socket.remoteAddress),
    // RateLimit-* headers on a 401 would tell a guesser how many tries are left.
    standardHeaders: false,
    legacyHeaders: false,
    // A store failure must not let requests through unthrottled; it becomes INTERNAL_ERROR.
    passOnStoreError: false,
    // Its checks concern 'trust proxy' and X-Forwarded-For, which this key ignores on purpose,
    // and they print to the console; the window bound is checked by the config schema.
    validate: false,
    handler: (req, res) => {
      const info = (req as typeof req & { rateLimit: RateLimitInfo }).rateLimit;
      const retryAfter = retryAfterSeconds(info.resetTime, config.windowSeconds);
      // Counts are exact per address, so exactly one request per window sees limit + 1.
      if (info.used === info.limit + 1) {
        events.emit('auth:throttled', { address: info.key, failures: info.limit, windowSeconds: config.windowSeconds, retryAfterSeconds: retryAfter });
      }
      refuse(
        res,
        new ProxyError(
          'PROXY_TOKEN_THROTTLED',
          `Too many requests with bad proxy tokens came from this address; retry after ${retryAfter} s with a valid token (a valid token is always accepted).`,
          { headers: { 'retry-after': String(retryAfter) } },
        ),
      );
    },
  });
  return {
    onFailure,
    close: () => store.shutdown(),
  };
}
