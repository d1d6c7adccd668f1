/**
 * The life cycle of the proxy's Vault token: obtain it (single-flight), renew it at a
 * fraction of its TTL, log in again when renewal is capped, refused or not worth it, and
 * note when a token died or ran out. The session asks it for a valid token; it never
 * decides on its own that a token is dead (the session's 403 check does). It also remembers
 * when Vault refused the proxy's credentials, as opposed to being unreachable: the session
 * reports that differently so nothing cached outlives an admin's decision.
 */
import type NodeVault from 'node-vault';
import type { AuthEvent, ProxyEvents, VaultOperation, VaultOutcome } from '../observability/events';
import { leaseFromLogin, type AuthStrategy, type TokenLease } from './auth';
import { classifyVaultError, type VaultFailure } from './errors';
import { planNextAuthAction } from './lease-plan';
import { backoff, OneShotTimer } from '../shared/timer';

/** Runs one Vault call with events and contact bookkeeping (the session's). */
export type TimedCall = <T>(operation: VaultOperation, fn: () => Promise<T>, forbiddenOutcome?: VaultOutcome) => Promise<T>;

export interface TokenKeeperOptions {
  client: NodeVault.client;
  strategy: AuthStrategy;
  renewFraction: number;
  timed: TimedCall;
  /** The session's dead-token check (lookup-self); true when the token of `generation` is gone. */
  confirmDead: (generation: number) => Promise<boolean>;
  events: ProxyEvents;
}

/** Holds, renews and replaces the token on the node-vault client. */
export class TokenKeeper {
  private readonly client: NodeVault.client;
  private readonly strategy: AuthStrategy;
  private readonly renewFraction: number;
  private readonly timed: TimedCall;
  private readonly confirmDead: (generation: number) => Promise<boolean>;
  private readonly events: ProxyEvents;
  private readonly timer = new OneShotTimer();

  private running = false;
  private gen = 0;
  private hasToken = false;
  private isDead = false;
  private lease: TokenLease | null = null;
  private expiresAt: number | null = null;
  private why = 'not authenticated to Vault yet';
  private refusedWhy: string | null = null;
  private failures = 0;
  private failedAt = 0;
  private flight: Promise<boolean> | null = null;

  constructor(options: TokenKeeperOptions) {
    this.client = options.client;
    this.strategy = options.strategy;
    this.renewFraction = options.renewFraction;
    this.timed = options.timed;
    this.confirmDead = options.confirmDead;
    this.events = options.events;
  }

  /** Bumped whenever a new token is obtained; tells a stale failure from a current one. */
  get generation(): number {
    return this.gen;
  }

  /** The current token is known to be revoked or expired. */
  get dead(): boolean {
    return this.isDead;
  }

  /** Why there is no valid token (safe text). */
  get reason(): string {
    return this.hasToken && this.expired() ? 'the Vault token reached the end of its TTL' : this.why;
  }

  /**
   * Why Vault refused the proxy's credentials (a login answered 400/401/403/404, or a static
   * token found dead), or null. Stays set until a login succeeds: an outage after a refusal does
   * not make the proxy any less cut off.
   */
  get refusal(): string | null {
    return this.refusedWhy;
  }

  /** When the last login attempt failed (epoch ms, 0 if never). */
  get lastFailureAt(): number {
    return this.failedAt;
  }

  /** A login is in progress. */
  get loggingIn(): boolean {
    return this.flight !== null;
  }

  /** A token is held and has not run out. */
  valid(): boolean {
    return this.hasToken && !this.expired();
  }

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    this.timer.clear();
  }

  /** Logs in (or verifies a static token); single-flight. Resolves true when a token was obtained. */
  authenticate(): Promise<boolean> {
    this.flight ??= this.login().finally(() => {
      this.flight = null;
    });
    return this.flight;
  }

  /** The session found the current token dead (lookup-self answered 403). */
  markDead(): void {
    this.hasToken = false;
    this.isDead = true;
    this.lease = null;
    this.expiresAt = null;
    this.timer.clear();
    this.why = this.strategy.canRelogin
      ? 'the Vault token was revoked or expired; logging in again'
      : 'the configured Vault token is no longer valid (revoked or expired); configure a new token';
    // A static token cannot log in again: its death is Vault's final word. A re-login decides for the others.
    if (!this.strategy.canRelogin) this.refusedWhy = this.why;
    this.emit('expired', null, this.why);
  }

  private expired(): boolean {
    return this.expiresAt !== null && Date.now() >= this.expiresAt;
  }

  private async login(): Promise<boolean> {
    this.timer.clear();
    const first = this.gen === 0;
    const forbiddenOutcome: VaultOutcome = this.strategy.canRelogin ? 'forbidden' : 'invalid_token';
    try {
      const lease = await this.timed(this.strategy.operation, () => this.strategy.authenticate(this.client), forbiddenOutcome);
      if (!this.running) return false;
      this.gen += 1;
      this.hasToken = true;
      this.isDead = false;
      this.refusedWhy = null;
      this.failures = 0;
      this.applyLease(lease, false);
      this.emit(first ? 'authenticated' : 'relogin', lease.ttlSeconds, null);
      return true;
    } catch (err) {
      if (!this.running) return false;
      const failure = classifyVaultError(err);
      this.failures += 1;
      this.failedAt = Date.now();
      if (!this.strategy.canRelogin && failure.kind === 'forbidden') {
        this.markDead();
        return false;
      }
      const reason = this.loginFailureReason(failure);
      if (failure.kind === 'forbidden' || failure.kind === 'bad_request' || failure.kind === 'not_found') this.refusedWhy = reason;
      // A failed early re-login leaves a still valid older token in place.
      if (!this.valid()) {
        this.hasToken = false;
        this.why = reason;
      }
      this.emit('failed', null, reason);
      this.timer.set(() => void this.authenticate(), this.retryDelay());
      return false;
    }
  }

  private loginFailureReason(failure: VaultFailure): string {
    const what = this.strategy.canRelogin ? `${this.strategy.method} login` : 'token lookup';
    switch (failure.kind) {
      case 'unavailable':
      case 'error':
        return `Vault ${what} failed: ${failure.reason}`;
      case 'forbidden':
      case 'bad_request':
      case 'not_found':
        return `Vault refused the ${what} (${failure.status}): ${this.refusalMeaning(failure.status)}; check vault.auth (credentials, role and mount)`;
    }
  }

  /** What a refused login's status says, in the configured method's terms (never Vault's body text). */
  private refusalMeaning(status: number): string {
    if (status === 401 || status === 403) return 'permission denied';
    if (status === 404) return 'no such auth mount';
    switch (this.strategy.method) {
      case 'approle':
        return 'the role id or secret id is invalid, expired or destroyed';
      case 'kubernetes':
        return 'the role or the service account token was not accepted';
      case 'token':
        return 'the token was not accepted';
    }
  }

  /** Within a held token's life, retries must land before it runs out. */
  private retryDelay(): number {
    const delay = backoff(this.failures);
    if (this.expiresAt === null || !this.hasToken) return delay;
    return Math.max(100, Math.min(delay, (this.expiresAt - Date.now()) / 2));
  }

  private applyLease(lease: TokenLease, capped: boolean): void {
    this.lease = lease;
    this.expiresAt = lease.ttlSeconds > 0 ? Date.now() + lease.ttlSeconds * 1000 : null;
    const next = planNextAuthAction(lease, { canRelogin: this.strategy.canRelogin, capped, renewFraction: this.renewFraction });
    switch (next.action) {
      case 'none':
        return;
      case 'renew':
        return this.timer.set(() => void this.renew(), next.delayMs);
      case 'relogin':
        return this.timer.set(() => void this.authenticate(), next.delayMs);
      case 'expire':
        return this.timer.set(() => this.ranOut(), next.delayMs);
    }
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    const generation = this.gen;
    if (lease === null) return;
    try {
      // A plain write, not tokenRenewSelf: that one stores the answer's token on the client and
      // could put an old token back after a concurrent re-login.
      const response: unknown = await this.timed('renew', () => this.client.write('auth/token/renew-self', { increment: lease.incrementSeconds }));
      if (!this.running || generation !== this.gen) return;
      const renewed = { ...leaseFromLogin(response), incrementSeconds: lease.incrementSeconds };
      const capped = renewed.ttlSeconds < lease.incrementSeconds;
      this.applyLease(renewed, capped);
      const warning = capped
        ? `Vault capped the token renewal at ${renewed.ttlSeconds}s (asked for ${lease.incrementSeconds}s): the token is near its max TTL` +
          (this.strategy.canRelogin ? '; logging in again before it expires' : ' and cannot be extended much longer')
        : null;
      this.emit('renewed', renewed.ttlSeconds, warning);
    } catch (err) {
      if (!this.running || generation !== this.gen) return;
      await this.renewFailed(classifyVaultError(err), generation);
    }
  }

  private async renewFailed(failure: VaultFailure, generation: number): Promise<void> {
    // A 403 is a dead token only if lookup-self agrees; otherwise the policy lacks renew-self.
    const refused = failure.kind === 'bad_request' || (failure.kind === 'forbidden' && !(await this.confirmDead(generation)));
    if (!this.running || generation !== this.gen) return;
    if (refused) this.emit('failed', null, `Vault refused to renew the token (${failure.status})`);
    if (refused || this.isDead) {
      if (this.strategy.canRelogin) {
        await this.authenticate();
      } else if (refused && this.expiresAt !== null) {
        // A static token that cannot be renewed still works until it runs out.
        const left = this.expiresAt - Date.now();
        if (left > 0) this.timer.set(() => this.ranOut(), left);
        else this.ranOut();
      }
      return;
    }
    // Vault unreachable or failing: try again while the token still lives.
    this.failures += 1;
    if (!this.expired()) {
      this.timer.set(() => void this.renew(), this.retryDelay());
    } else if (this.strategy.canRelogin) {
      await this.authenticate();
    } else {
      this.ranOut();
    }
  }

  /** A static token reached the end of its TTL: only a new config can help. */
  private ranOut(): void {
    if (!this.running) return;
    this.hasToken = false;
    this.why = 'the configured Vault token reached the end of its TTL and cannot be renewed; configure a new token';
    this.emit('expired', 0, this.why);
  }

  private emit(state: AuthEvent['state'], ttlSeconds: number | null, reason: string | null): void {
    this.events.emit('vault:auth', { state, method: this.strategy.method, ttlSeconds, reason });
  }
}
