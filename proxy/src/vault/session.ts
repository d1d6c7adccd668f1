/**
 * The proxy's one authenticated connection to Vault. Owns the node-vault client; every Vault
 * call of the proxy goes through `call()`, which instruments it, recovers from a dead token,
 * and keeps readiness current. The token's life cycle lives in TokenKeeper.
 */
import NodeVault from 'node-vault';
import type { VaultConfig } from '../config/schema';
import type { ProxyEvents, VaultOperation, VaultOutcome } from '../observability/events';
import { createAuthStrategy, type AuthStrategy } from './auth';
import { classifyVaultError, vaultOutcome, VaultSessionError } from './errors';
import { backoff, OneShotTimer } from '../shared/timer';
import { TokenKeeper } from './token-keeper';
import { createVaultTransport, type VaultTransport } from './transport';

/** `/readyz` material: ready only when authenticated and the last Vault contact worked. */
export interface Readiness {
  ready: boolean;
  reason: string | null;
}

export interface VaultSessionOptions {
  vault: VaultConfig;
  events: ProxyEvents;
  /** Replaces the strategy built from `vault.auth` (tests). */
  strategy?: AuthStrategy;
}

const READY: Readiness = Object.freeze({ ready: true, reason: null });
/** A request does not trigger another login this soon after a failed one; it fails fast instead. */
const LOGIN_FLOOR_MS = 1_000;

/** Owns the node-vault client, instruments every call, and reports readiness. */
export class VaultSession {
  private readonly events: ProxyEvents;
  private readonly strategy: AuthStrategy;
  private readonly transport: VaultTransport;
  private readonly client: NodeVault.client;
  private readonly token: TokenKeeper;
  private readonly probeTimer = new OneShotTimer();

  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private contactReason: string | null = null;
  private probeFailures = 0;
  private deadCheck: { generation: number; result: Promise<boolean> } | null = null;

  constructor(options: VaultSessionOptions) {
    this.events = options.events;
    this.strategy = options.strategy ?? createAuthStrategy(options.vault.auth);
    this.transport = createVaultTransport({ timeoutMs: options.vault.timeoutMs, caFile: options.vault.caFile });
    // No requestOptions.headers here: node-vault would freeze the first token into that object.
    this.client = NodeVault({
      endpoint: options.vault.address,
      'request-promise': this.transport.requestPromise,
      noCustomHTTPVerbs: true,
      // node-vault's debug output (DEBUG=node-vault) prints request bodies: secret ids, JWTs.
      debug: () => undefined,
    });
    // node-vault falls back to VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX from the environment;
    // only the validated config may decide which token and namespace the proxy uses.
    const settable = this.client as NodeVault.client & { namespace?: string; pathPrefix: string };
    settable.token = '';
    settable.namespace = options.vault.namespace;
    settable.pathPrefix = '';
    this.token = new TokenKeeper({
      client: this.client,
      strategy: this.strategy,
      renewFraction: options.vault.renewFraction,
      timed: (operation, fn, forbiddenOutcome) => this.timed(operation, fn, forbiddenOutcome),
      confirmDead: (generation) => this.tokenIsDead(generation),
      events: this.events,
    });
  }

  /** The configured auth method, for logs and metrics. */
  get method(): AuthStrategy['method'] {
    return this.strategy.method;
  }

  /**
   * Authenticates (log in, or look up a static token). Never rejects for a Vault-side failure:
   * readiness says what is wrong and the session keeps retrying in the background.
   */
  async start(): Promise<void> {
    if (this.state === 'running') return;
    if (this.state === 'stopped') throw new Error('a stopped VaultSession cannot be started again');
    this.state = 'running';
    this.token.start();
    await this.token.authenticate();
  }

  /** Clears every timer and closes pooled sockets; in-flight calls fail. */
  stop(): Promise<void> {
    this.state = 'stopped';
    this.token.stop();
    this.probeTimer.clear();
    this.transport.close();
    return Promise.resolve();
  }

  /** Whether the proxy can use Vault now, and if not, why (safe text). */
  readiness(): Readiness {
    if (this.state !== 'running') {
      return { ready: false, reason: this.state === 'idle' ? 'the Vault session has not started' : 'the Vault session is stopped' };
    }
    if (!this.token.valid()) return { ready: false, reason: this.token.reason };
    if (this.contactReason !== null) return { ready: false, reason: this.contactReason };
    return READY;
  }

  /**
   * Runs one Vault call with the session's token. On a 403 it checks whether the token itself
   * died (lookup-self also 403); if so it logs in again once (shared by concurrent callers)
   * and retries the call once. Rejects with what node-vault rejected with, or a
   * VaultSessionError when no valid token can be had (`refusedByVault` when Vault refused the
   * proxy's credentials rather than being unreachable).
   */
  async call<T>(operation: VaultOperation, fn: (client: NodeVault.client) => Promise<T>): Promise<T> {
    if (this.state !== 'running') {
      throw new VaultSessionError({ kind: 'unavailable', status: null, reason: 'the Vault session is not running' });
    }
    if (!this.token.valid()) await this.ensureToken();
    const generation = this.token.generation;
    try {
      return await this.timed(operation, () => fn(this.client));
    } catch (err) {
      if (classifyVaultError(err).kind !== 'forbidden') throw err;
      if (!(await this.tokenIsDead(generation))) throw err;
      if (!(await this.replaceToken(generation))) throw this.noTokenError();
      return await this.timed(operation, () => fn(this.client));
    }
  }

  private noTokenError(): VaultSessionError {
    const refusal = this.token.refusal;
    if (refusal === null) {
      return new VaultSessionError(
        { kind: 'unavailable', status: null, reason: `the proxy is not authenticated to Vault: ${this.token.reason}` },
        { invalidToken: this.token.dead },
      );
    }
    // Still refused, even if a later attempt could not reach Vault at all: say both.
    const since = this.token.reason === refusal ? '' : ` (since then: ${this.token.reason})`;
    return new VaultSessionError({ kind: 'unavailable', status: null, reason: `${refusal}${since}` }, { invalidToken: this.token.dead, refusedByVault: true });
  }

  private async ensureToken(): Promise<void> {
    // A static token that has not been verified yet may still work: let Vault judge it.
    if (!this.strategy.canRelogin) {
      if (this.token.dead) throw this.noTokenError();
      return;
    }
    if (!this.token.loggingIn && Date.now() - this.token.lastFailureAt < LOGIN_FLOOR_MS) throw this.noTokenError();
    if (!(await this.token.authenticate())) throw this.noTokenError();
  }

  /**
   * True when the token of `generation` is dead (or was already replaced). Shared by concurrent
   * callers. Relies on lookup-self being allowed (Vault's default policy): a token without the
   * default policy would look dead on every 403.
   */
  private tokenIsDead(generation: number): Promise<boolean> {
    // Replaced since, or already found dead: no need to ask Vault again.
    if (generation !== this.token.generation || this.token.dead) return Promise.resolve(true);
    if (this.deadCheck?.generation !== generation) {
      const result = this.timed('lookup', () => this.client.tokenLookupSelf(), 'invalid_token')
        .then(
          () => false,
          (err: unknown) => classifyVaultError(err).kind === 'forbidden',
        )
        .then((forbidden) => {
          if (forbidden && generation === this.token.generation) this.token.markDead();
          if (this.deadCheck?.result === result) this.deadCheck = null;
          return forbidden || generation !== this.token.generation;
        });
      this.deadCheck = { generation, result };
    }
    return this.deadCheck.result;
  }

  private async replaceToken(generation: number): Promise<boolean> {
    if (generation !== this.token.generation) return this.token.valid();
    if (!this.strategy.canRelogin) return false;
    return this.token.authenticate();
  }

  /** Runs one Vault call with a 'vault:call' event and contact bookkeeping. */
  private async timed<T>(operation: VaultOperation, fn: () => Promise<T>, forbiddenOutcome: VaultOutcome = 'forbidden'): Promise<T> {
    const startedAt = performance.now();
    try {
      const result = await fn();
      this.events.emit('vault:call', { operation, outcome: 'ok', durationMs: performance.now() - startedAt, status: 200 });
      this.noteContact(null);
      return result;
    } catch (err) {
      const failure = classifyVaultError(err);
      const outcome = failure.kind === 'forbidden' ? forbiddenOutcome : vaultOutcome(failure);
      this.events.emit('vault:call', { operation, outcome, durationMs: performance.now() - startedAt, status: failure.status });
      if (failure.kind === 'unavailable') this.noteContact(failure.reason);
      else if (failure.status !== null) this.noteContact(null);
      throw err;
    }
  }

  /** Records the last contact; while it is failing, a background probe looks for recovery. */
  private noteContact(reason: string | null): void {
    this.contactReason = reason;
    if (reason === null) {
      this.probeFailures = 0;
      this.probeTimer.clear();
      return;
    }
    if (this.probeTimer.pending || this.state !== 'running') return;
    this.probeFailures += 1;
    this.probeTimer.set(() => this.probe(), backoff(this.probeFailures));
  }

  /** Without it, a not-ready proxy gets no traffic and so would never notice Vault is back. */
  private probe(): void {
    if (this.state !== 'running') return;
    this.call('lookup', (client) => client.tokenLookupSelf()).catch((err: unknown) => {
      // `timed` already rescheduled after a Vault answer; a failure before any call (no token
      // yet) still has to keep the probe going.
      const failure = classifyVaultError(err);
      if (failure.kind === 'unavailable' && !this.probeTimer.pending && !this.token.dead) this.noteContact(this.contactReason ?? failure.reason);
    });
  }
}
