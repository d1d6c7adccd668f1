/**
 * Access tokens, cached per OAuth2 client: a token is used until shortly before it expires,
 * refreshed in the background once most of its life has passed, and minted once for any
 * number of concurrent requests that find none. The broker lives as long as the process and
 * outlives a config reload (a reloaded service with the same client finds its token), and
 * each replica has its own: losing it costs one token request.
 */
import type { UpstreamTokenEvent } from '../../../observability/events';
import type { Injection } from '../types';

/** What happened at a token endpoint, for metrics and the audit log; never a value. */
export type TokenEvent = UpstreamTokenEvent;

/** A token ready for the wire. */
export interface CachedToken {
  readonly injection: Injection;
  /** Seconds of life the endpoint granted. */
  readonly lifetimeMs: number;
}

interface Entry {
  token: CachedToken | null;
  issuedAt: number;
  inflight: Promise<Injection> | null;
}

/** Used when the endpoint does not say how long a token lives (RFC 6749 leaves it to the server's docs). */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;
/** A token is renewed in the background once this share of its usable life has passed. */
const REFRESH_AHEAD_AT = 0.75;
/**
 * A token is not used this close to its end, so it does not expire on the way: a tenth of its
 * life, at least a second (expires_in is counted in whole seconds, and the endpoint may have
 * rounded its own clock down) and at most 30 s.
 */
const MIN_EXPIRY_MARGIN_MS = 1_000;
const MAX_EXPIRY_MARGIN_MS = 30_000;

/** How long a token of `lifetimeMs` is used. */
export function usableLifeMs(lifetimeMs: number): number {
  return lifetimeMs - Math.min(MAX_EXPIRY_MARGIN_MS, Math.max(MIN_EXPIRY_MARGIN_MS, lifetimeMs / 10));
}

/** Who is told about token events and minted values; an app attaches one and detaches it when it stops. */
export interface TokenListener {
  onEvent?: (event: TokenEvent) => void;
  /** Called with every minted secret value (access and refresh tokens), e.g. for the log redactor. */
  onSecret?: (values: readonly string[]) => void;
}

export interface TokenBrokerOptions {
  /** Monotonic clock in ms (tests pass a fake one). */
  now?: () => number;
}

/** The process's token cache; see the module comment. */
export class TokenBroker {
  private readonly entries = new Map<string, Entry>();
  /** The key each handed-out token was minted under, whichever compiled injector asked. */
  private readonly keys = new WeakMap<Injection, string>();
  private readonly listeners = new Set<TokenListener>();
  private readonly now: () => number;

  constructor(options: TokenBrokerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Adds a listener; returns its removal. */
  observe(listener: TokenListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reports a token event (the token modules call it). */
  emit(event: TokenEvent): void {
    for (const listener of this.listeners) listener.onEvent?.(event);
  }

  /** Hands minted values to the log redactor (the token modules call it). */
  registerSecrets(values: readonly string[]): void {
    for (const listener of this.listeners) listener.onSecret?.(values);
  }

  /**
   * The current token for `key`: at once (no promise) when a usable one is cached, else the
   * one mint shared by every caller. `mint` is called at most once at a time per key.
   */
  get(key: string, mint: (reason: 'mint' | 'refresh') => Promise<CachedToken>): Injection | Promise<Injection> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { token: null, issuedAt: 0, inflight: null };
      this.entries.set(key, entry);
    }
    const now = this.now();
    const token = entry.token;
    if (token !== null) {
      const age = now - entry.issuedAt;
      const usable = usableLifeMs(token.lifetimeMs);
      if (age < usable) {
        if (age >= usable * REFRESH_AHEAD_AT && entry.inflight === null) {
          // Background: callers keep the current token; a failure leaves it in place until it expires.
          this.start(key, entry, mint, 'refresh').catch(() => undefined);
        }
        return token.injection;
      }
    }
    return entry.inflight ?? this.start(key, entry, mint, token === null ? 'mint' : 'refresh');
  }

  /**
   * The API refused `injection`'s token: drop it, if it is still the current one, so the next
   * `get` mints. False for a token this broker did not hand out.
   */
  reject(injection: Injection): boolean {
    const key = this.keys.get(injection);
    if (key === undefined) return false;
    const entry = this.entries.get(key);
    if (entry?.token?.injection === injection) entry.token = null;
    return true;
  }

  private start(key: string, entry: Entry, mint: (reason: 'mint' | 'refresh') => Promise<CachedToken>, reason: 'mint' | 'refresh'): Promise<Injection> {
    const startedAt = this.now();
    const pending = mint(reason).then((token) => {
      this.keys.set(token.injection, key);
      entry.token = token;
      entry.issuedAt = startedAt;
      return token.injection;
    });
    const shared = pending.finally(() => {
      if (entry.inflight === shared) entry.inflight = null;
    });
    entry.inflight = shared;
    return shared;
  }
}
