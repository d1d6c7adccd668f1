/**
 * The proxy's view of its clients when token records live in Vault: the static clients of
 * the config file plus every client record under `tokenStore.path`, re-read every
 * `refreshSeconds` and swapped in whole. A revoked token therefore stops working on every
 * replica within `refreshSeconds`.
 *
 * A token the index does not know (just issued, or a guess) triggers a re-read, at most one
 * per `missRefreshIntervalMs` and shared by every request waiting for it, so a flood of bad
 * tokens costs Vault at most one re-read per interval. Only reads a miss may have caused
 * (the first one, and miss re-reads) count against that interval: a scheduled re-read that
 * started before a token was written cannot know it, so it must not hold off the re-read
 * that will. A miss that arrives while such a read runs waits for it, then gets a re-read of
 * its own when the interval allows.
 *
 * When Vault cannot be read, the last good index keeps serving (tokens keep working) and the
 * failure is logged and counted; until the first good read, only the static clients work.
 */
import type { Logger } from 'winston';
import { ClientRegistry, type ClientTokens, type TokenExpiry, type TokenLookup } from '../token-index';
import type { TokenDirectory } from '../bearer';
import type { ProxyConfig, TokenStoreConfig } from '../../config/schema';
import type { ProxyEvents, TokenStoreRefreshEvent } from '../../observability/events';
import { OneShotTimer } from '../../shared/timer';
import { grantsFromRecords } from './grants';
import { TokenStoreError, type TokenRecordStore } from './kv-records';

export interface TokenStoreDirectoryOptions {
  config: TokenStoreConfig;
  staticClients: ProxyConfig['clients'];
  knownServices: ReadonlySet<string>;
  store: TokenRecordStore;
  events: ProxyEvents;
  logger: Logger;
  /** Injectable clock for the miss-refresh interval (tests). */
  now?: () => number;
}

type Trigger = TokenStoreRefreshEvent['trigger'];

/** Static plus Vault clients, kept fresh. */
export class TokenStoreDirectory implements TokenDirectory {
  private readonly options: TokenStoreDirectoryOptions;
  private readonly now: () => number;
  private readonly timer = new OneShotTimer();
  private index: ClientRegistry;
  private running: Promise<void> | null = null;
  /** When the last read that answers misses (the first read, or a miss re-read) started. */
  private lastMissWindowStartedAt = -Infinity;
  private stopped = false;
  /** Whether the last re-read failed: failures are logged when they start and end, not every time. */
  private failing = false;
  /** Problems already logged, by key, so each is logged once while it lasts. */
  private readonly reported = new Set<string>();
  /** Clients and tokens taken from Vault by the index now serving. */
  private served = { clients: 0, tokens: 0 };

  constructor(options: TokenStoreDirectoryOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.index = new ClientRegistry(options.staticClients);
  }

  lookup(token: string): TokenLookup {
    return this.index.lookup(token);
  }

  expiries(): TokenExpiry[] {
    return this.index.expiries();
  }

  refreshAfterMiss(): Promise<void> | null {
    // The read under way started before this miss: it may not know the token. Wait for it,
    // then re-read if the interval allows (concurrent misses join that one re-read).
    if (this.running !== null) return this.running.then(() => this.missReread() ?? undefined);
    return this.missReread();
  }

  /** A re-read for a miss, or the one already running, or null while the interval holds it off. */
  private missReread(): Promise<void> | null {
    if (this.running !== null) return this.running;
    if (this.stopped || this.now() - this.lastMissWindowStartedAt < this.options.config.missRefreshIntervalMs) return null;
    return this.refresh('miss');
  }

  /** Reads the records once, then keeps re-reading every refreshSeconds. Never rejects. */
  async start(): Promise<void> {
    await this.refresh('start');
  }

  stop(): void {
    this.stopped = true;
    this.timer.clear();
  }

  /** Re-reads now, or joins the re-read already running. Never rejects. */
  refresh(trigger: Trigger): Promise<void> {
    this.running ??= this.readAndSwap(trigger).finally(() => {
      this.running = null;
      if (!this.stopped) this.timer.set(() => void this.refresh('schedule'), this.options.config.refreshSeconds * 1000);
    });
    return this.running;
  }

  private async readAndSwap(trigger: Trigger): Promise<void> {
    if (trigger !== 'schedule') this.lastMissWindowStartedAt = this.now();
    try {
      const clients = await this.readClients();
      const next = new ClientRegistry(this.options.staticClients, clients);
      if (this.stopped) return;
      this.index = next;
      if (next.ambiguousHashes > 0) {
        this.reportOnce('ambiguous', null, `${next.ambiguousHashes} token hash(es) appear in the records of two clients; those tokens are refused`);
      }
      if (this.failing) this.options.logger.info('token records read from Vault again', { location: this.options.store.location });
      this.failing = false;
      this.served = { clients: clients.length, tokens: clients.reduce((sum, c) => sum + c.tokens.length, 0) };
      this.emit(trigger, 'ok', null);
    } catch (err) {
      // Never thrown on: a timer or a waiting request is the caller, and the last good index must keep serving.
      const reason =
        err instanceof TokenStoreError ? advice(err, this.options.store.location) : `unexpected error (${err instanceof Error ? err.name : typeof err})`;
      if (!this.failing) {
        this.options.logger.error('cannot read the token records from Vault; tokens known from the last successful read keep working', {
          location: this.options.store.location,
          reason,
        });
      }
      this.failing = true;
      this.emit(trigger, 'failed', reason);
    }
  }

  /** Reads every record. Sequential on purpose: gentle on Vault, and a refresh is not latency-critical. */
  private async readClients(): Promise<ClientTokens[]> {
    const { store } = this.options;
    const names = await store.listClients();
    const records: Array<{ client: string; raw: unknown }> = [];
    const seen = new Set<string>();
    for (const client of names) {
      try {
        records.push({ client, raw: (await store.read(client)).raw });
      } catch (err) {
        // A record the proxy may not read fails closed for that client alone; an outage fails the whole re-read.
        if (!(err instanceof TokenStoreError) || !err.forbidden) throw err;
        seen.add(`forbidden:${client}`);
        this.reportOnce(
          `forbidden:${client}`,
          client,
          `Vault denied reading the token record (${err.apiPath}); grant the proxy's policy read on it; its tokens are refused`,
        );
      }
    }
    const { clients, problems } = grantsFromRecords({
      staticClients: new Set(Object.keys(this.options.staticClients)),
      knownServices: this.options.knownServices,
      records,
    });
    for (const problem of problems) {
      seen.add(problem.key);
      this.reportOnce(problem.key, problem.client, problem.message);
    }
    // A problem that went away may be logged again if it comes back.
    for (const key of this.reported) if (key !== 'ambiguous' && !seen.has(key)) this.reported.delete(key);
    return clients;
  }

  private reportOnce(key: string, client: string | null, message: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.options.logger.warn(`token record: ${message}`, { client, location: this.options.store.location });
  }

  private emit(trigger: Trigger, outcome: 'ok' | 'failed', reason: string | null): void {
    this.options.events.emit('tokens:refresh', { trigger, outcome, ...this.served, reason });
  }
}

/** What went wrong and what to do, for the proxy's operator. */
function advice(err: TokenStoreError, location: string): string {
  if (err.forbidden) {
    const capability = err.operation === 'list' ? 'list' : 'read';
    return `${err.message}; the proxy's Vault policy needs "${capability}" on ${err.apiPath} (token records at ${location}; see docs/vault-admin.md)`;
  }
  return err.message;
}
