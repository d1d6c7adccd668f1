/**
 * Warns before proxy tokens expire, so the admin rotates them before n8n meets a refusal.
 * The expiry window (tokenExpiryWarningSeconds) is recomputed whenever the token index is
 * swapped (a tokenStore re-read) and every minute, since a token crosses into the window by
 * time passing alone. Each computation is published as a `tokens:expiry` event (the metrics
 * listen), and each token in the window gets one warn line per day: its id, client and
 * expiry, and the command that fixes it, or, for a token a rotation already replaced, that
 * this is the end of its grace period. Never a hash.
 */
import prettyMs from 'pretty-ms';
import type { Logger } from 'winston';
import type { ProxyEvents, TokenStoreRefreshEvent } from '../observability/events';
import { OneShotTimer } from '../shared/timer';
import { expiryWindow } from './expiry-window';
import type { TokenExpiry } from './token-index';

const RECHECK_MS = 60_000;
const WARN_EVERY_MS = 24 * 60 * 60 * 1000;

export interface ExpiryWatchOptions {
  /** The tokens served right now. */
  tokens: () => TokenExpiry[];
  /** tokenExpiryWarningSeconds; 0 turns the warn lines off (the gauges stay). */
  windowSeconds: number;
  events: ProxyEvents;
  logger: Logger;
  /** Injectable clock (tests). */
  now?: () => number;
}

/** What the warn line says about one token. */
export function expiryWarning(token: TokenExpiry, now: number): string {
  const client = token.clientId;
  const expiresAt = token.expiresAt as Date;
  const which = token.tokenId === null ? `a proxy token (without id) of client ${client}` : `proxy token ${token.tokenId} of client ${client}`;
  const left = prettyMs(Math.max(0, expiresAt.getTime() - now), { unitCount: 2, secondsDecimalDigits: 0 });
  if (token.replacedBy !== null) {
    // Rotating again would not help: the end of a grace period is expected, unless something still uses this token.
    return (
      `${which} was already rotated (replaced by ${token.replacedBy}); its grace period ends at ${expiresAt.toISOString()} (in ${left}). ` +
      `Nothing to do if n8n uses the new token; a request with this one after that gets PROXY_TOKEN_EXPIRED`
    );
  }
  // Config-file clients are not in Vault: `token rotate` refuses them, so name what works.
  const fix = token.fromConfigFile
    ? `issue a new one with secure-proxy token generate and add it to clients.${client}.tokenHashes in the config file`
    : `rotate it with secure-proxy token rotate --client ${client}`;
  return `${which} expires at ${expiresAt.toISOString()} (in ${left}); ${fix}`;
}

/** Keeps the expiry gauges current and warns about tokens close to their expiry. */
export class ExpiryWatch {
  private readonly options: ExpiryWatchOptions;
  private readonly now: () => number;
  private readonly timer = new OneShotTimer();
  /** When each token in the window was last warned about, so a refresh does not repeat the line. */
  private readonly lastWarned = new Map<string, number>();
  private stopped = false;
  private readonly onRefresh = (event: TokenStoreRefreshEvent): void => {
    if (event.outcome === 'ok') this.check();
  };

  constructor(options: ExpiryWatchOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.options.events.on('tokens:refresh', this.onRefresh);
    this.check();
  }

  stop(): void {
    this.stopped = true;
    this.timer.clear();
    this.options.events.off('tokens:refresh', this.onRefresh);
  }

  /** Recomputes the window now, publishes it and warns; then again in a minute. */
  check(): void {
    if (this.stopped) return;
    const now = this.now();
    const window = expiryWindow(this.options.tokens(), now, this.options.windowSeconds * 1000);
    this.options.events.emit('tokens:expiry', { clients: window.clients });
    this.warn(window.expiring, now);
    this.timer.set(() => this.check(), RECHECK_MS);
  }

  private warn(expiring: readonly TokenExpiry[], now: number): void {
    const inWindow = new Set<string>();
    for (const token of expiring) {
      const key = `${token.clientId}/${token.tokenId ?? (token.expiresAt as Date).toISOString()}`;
      inWindow.add(key);
      const last = this.lastWarned.get(key);
      if (last !== undefined && now - last < WARN_EVERY_MS) continue;
      this.lastWarned.set(key, now);
      this.options.logger.warn(expiryWarning(token, now), {
        client: token.clientId,
        tokenId: token.tokenId,
        expiresAt: (token.expiresAt as Date).toISOString(),
        rotated: token.replacedBy !== null,
      });
    }
    for (const key of this.lastWarned.keys()) if (!inWindow.has(key)) this.lastWarned.delete(key);
  }
}
