/**
 * The cache between the hot path and Vault. A fresh value is answered from memory without
 * touching the reader; concurrent reads of one path share one reader call; a value near the
 * end of its TTL is refreshed in the background; while Vault is unavailable an expired value
 * keeps serving up to `maxStaleMs`, then the cache fails closed. A secret that Vault reports
 * missing or forbidden stops being served at once, and so does every secret once Vault refuses
 * the proxy's own login: stale serving bridges outages, not an admin cutting the proxy off.
 */
import { ProxyError } from '../contract/proxy-error';
import type { CacheEvent, ProxyEvents } from '../observability/events';
import { LoginRefusedError } from './login-refused';
import type { SecretData, SecretProvider, SecretReader } from './types';

export interface SecretCacheOptions {
  /** How long a value read from Vault is used before it is read again. */
  ttlMs: number;
  /** How long past the TTL a value may serve while Vault is unavailable. */
  maxStaleMs: number;
  events: ProxyEvents;
  /** Monotonic clock in ms (tests pass a fake one). */
  now?: () => number;
  /** Last fraction of the TTL in which a hit starts a background refresh. */
  refreshAheadFraction?: number;
  /**
   * After a failed refresh, how long the value keeps serving (fresh, or stale within bound)
   * before Vault is tried again; keeps a failing Vault from being called on every request.
   */
  retryMs?: number;
}

interface Entry {
  readonly value: SecretData;
  /** Resolved with `value`, returned on every hit so a hit allocates nothing. */
  readonly promise: Promise<SecretData>;
  readonly hit: CacheEvent;
  readonly stale: CacheEvent;
  readonly refreshAt: number;
  readonly expiresAt: number;
  readonly staleUntil: number;
  /** No reader call before this time (set after a failed refresh). */
  retryAt: number;
}

const DEFAULT_REFRESH_AHEAD = 0.15;
const DEFAULT_RETRY_MS = 1000;

function isCode(err: unknown, ...codes: string[]): err is ProxyError {
  return err instanceof ProxyError && codes.includes(err.code);
}

/** TTL cache with single-flight, refresh-ahead and bounded stale-if-error, in front of a SecretReader. */
export class SecretCache implements SecretProvider {
  private readonly reader: SecretReader;
  private readonly ttlMs: number;
  private readonly maxStaleMs: number;
  private readonly events: ProxyEvents;
  private readonly now: () => number;
  private readonly refreshAheadMs: number;
  private readonly retryMs: number;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<SecretData>>();
  /** Bumped by clear(), so a read that started before it does not refill the cache. */
  private epoch = 0;
  private failedBackgroundRefreshes = 0;

  constructor(reader: SecretReader, options: SecretCacheOptions) {
    this.reader = reader;
    this.ttlMs = options.ttlMs;
    this.maxStaleMs = options.maxStaleMs;
    this.events = options.events;
    this.now = options.now ?? (() => performance.now());
    this.refreshAheadMs = options.ttlMs * (options.refreshAheadFraction ?? DEFAULT_REFRESH_AHEAD);
    this.retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  }

  /** Background refreshes that failed; their effect (value kept or dropped) is already in the cache. */
  get backgroundFailures(): number {
    return this.failedBackgroundRefreshes;
  }

  /** The secret at `path`, from memory when fresh. Rejects with a ProxyError. */
  get(path: string): Promise<SecretData> {
    const entry = this.servable(path);
    if (entry !== undefined) return entry.promise;
    this.events.emit('secret:cache', { result: this.entries.has(path) ? 'expired' : 'miss', path });
    return this.inflight.get(path) ?? this.startRead(path);
  }

  /** The secret at `path` when fresh (or serving stale within bound), without a promise; undefined when `get` would read it. */
  peek(path: string): SecretData | undefined {
    return this.servable(path)?.value;
  }

  /** The entry a read of `path` is answered from now, counted as a hit (refreshing ahead when due); undefined when it must be read. */
  private servable(path: string): Entry | undefined {
    const entry = this.entries.get(path);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (now < entry.expiresAt) {
      if (now >= entry.refreshAt && now >= entry.retryAt && !this.inflight.has(path)) this.refreshInBackground(path);
      this.events.emit('secret:cache', entry.hit);
      return entry;
    }
    // Expired, and a refresh just failed: keep serving within bound without calling Vault again.
    if (now < entry.retryAt && now < entry.staleUntil) {
      this.events.emit('secret:cache', entry.stale);
      return entry;
    }
    return undefined;
  }

  /** Drops every cached value; reads in flight finish for their callers but are not stored. */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
    this.inflight.clear();
  }

  private refreshInBackground(path: string): void {
    this.events.emit('secret:cache', { result: 'refresh', path });
    // Nobody awaits this promise; `settle` has already kept or dropped the value.
    this.startRead(path).catch(() => {
      this.failedBackgroundRefreshes += 1;
    });
  }

  private startRead(path: string): Promise<SecretData> {
    const epoch = this.epoch;
    let pending: Promise<SecretData>;
    try {
      pending = this.reader.read(path);
    } catch (err) {
      // A reader that throws instead of rejecting still must not break the caller's promise chain.
      pending = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const read = pending.then(
      (value) => this.store(path, value, epoch),
      (err: unknown) => this.settleFailure(path, err, epoch),
    );
    const shared = read.finally(() => {
      if (this.inflight.get(path) === shared) this.inflight.delete(path);
    });
    this.inflight.set(path, shared);
    return shared;
  }

  private store(path: string, value: SecretData, epoch: number): SecretData {
    if (epoch !== this.epoch) return value;
    const readAt = this.now();
    this.entries.set(path, {
      value,
      promise: Promise.resolve(value),
      hit: Object.freeze({ result: 'hit', path }),
      stale: Object.freeze({ result: 'stale', path }),
      refreshAt: readAt + this.ttlMs - this.refreshAheadMs,
      expiresAt: readAt + this.ttlMs,
      staleUntil: readAt + this.ttlMs + this.maxStaleMs,
      retryAt: 0,
    });
    return value;
  }

  /** Decides what a failed read means for the cached value: keep, serve stale, drop, or fail closed. */
  private settleFailure(path: string, err: unknown, epoch: number): SecretData {
    const entry = epoch === this.epoch ? this.entries.get(path) : undefined;
    if (entry === undefined) throw err;
    if (isCode(err, 'SECRET_NOT_FOUND', 'VAULT_FORBIDDEN') || err instanceof LoginRefusedError) {
      // Deleted in Vault, access revoked, or the proxy itself refused: stop serving it now.
      this.entries.delete(path);
      throw err;
    }
    if (!isCode(err, 'VAULT_UNAVAILABLE')) throw err;
    const now = this.now();
    entry.retryAt = now + this.retryMs;
    if (now < entry.expiresAt) return entry.value;
    if (now < entry.staleUntil) {
      this.events.emit('secret:cache', entry.stale);
      return entry.value;
    }
    this.entries.delete(path);
    // Keep Vault's reason in front: "older than allowed" alone would hide why Vault failed.
    throw new ProxyError('VAULT_UNAVAILABLE', `${err.message}; the cached secret for ${path} is older than the allowed staleness (cache.maxStaleSeconds)`, {
      cause: err,
      headers: { ...err.headers },
    });
  }
}
