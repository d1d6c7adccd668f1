/**
 * The audit log: one structured line per request, plus Vault authentication changes and
 * failed Vault calls. It only listens to the event bus, so the request path stays free of
 * logging calls.
 *
 * Levels, chosen so that `warn` and `error` mean someone should look:
 * - info: success, and any response relayed from the upstream (its 4xx/5xx is the API's
 *   answer, not a proxy failure);
 * - debug: successful ops requests (probes and scrapes would otherwise flood the log);
 * - warn: refusals the proxy made itself (4xx: bad token, unknown service, policy), the
 *   expected 503s of a proxy not ready or shutting down (the Vault events say why), and
 *   requests the client abandoned;
 * - error: failures on the Vault or upstream side, and any other 5xx the proxy produced.
 */
import type { Logger } from 'winston';
import { flatWriterOf } from './logger';
import type { ErrorCode } from '../contract/contract';
import type {
  AuthEvent,
  AuthThrottledEvent,
  CacheEvent,
  UpstreamTokenEvent,
  ClientErrorRecord,
  ProcessUnexpectedEvent,
  ProxyEvents,
  RequestRecord,
  UnexpectedErrorEvent,
  VaultCallEvent,
} from './events';

/** At most one line per this interval about connections refused at accept (a flood must not flood the log). */
const DROPPED_LOG_INTERVAL_MS = 10_000;

/** Proxy-made 503s that are states, not faults: probes hit them every few seconds while they last. */
const EXPECTED_UNAVAILABLE: ReadonlySet<ErrorCode> = new Set(['NOT_READY', 'SHUTTING_DOWN']);

/** The level of a request's audit line; see the module comment for the reasoning. */
export function requestLevel(record: RequestRecord): 'debug' | 'info' | 'warn' | 'error' {
  if (record.errorSource === 'vault' || record.errorSource === 'upstream') return 'error';
  if (record.errorCode !== null) return record.status >= 500 && !EXPECTED_UNAVAILABLE.has(record.errorCode) ? 'error' : 'warn';
  if (record.aborted) return 'warn';
  // No proxy error code: on the data plane the status is the upstream's own answer.
  if (record.route === 'forward') return 'info';
  if (record.status >= 500) return 'error';
  return record.route === 'ops' ? 'debug' : 'info';
}

/** Subscribes the audit log to the event bus. Returns a function that unsubscribes it. */
export function attachAuditLog(events: ProxyEvents, logger: Logger): () => void {
  // winston builds and formats a line before it drops it for its level; these listeners run
  // on every request (cache hits included), so a disabled level must cost nothing.
  const log = (level: string, message: string, fields: object): void => {
    if (logger.isLevelEnabled(level)) logger.log(level, message, fields);
  };
  // The one line per request: flat, so it takes the logger's cheap path (see flatLineWriter).
  const writeFlat = flatWriterOf(logger);
  const onRequest = (record: RequestRecord): void => {
    const level = requestLevel(record);
    if (logger.isLevelEnabled(level)) writeFlat(level, 'request', record);
  };
  const onAuth = (event: AuthEvent): void => {
    const level = event.state === 'failed' || event.state === 'expired' ? 'warn' : 'info';
    log(level, 'vault auth', { state: event.state, method: event.method, ttlSeconds: event.ttlSeconds, reason: event.reason });
  };
  const onVaultCall = (event: VaultCallEvent): void => {
    log(event.outcome === 'ok' ? 'debug' : 'warn', 'vault call', event);
  };
  // Serving a stale secret or failing closed is what an operator needs to see during a Vault outage.
  const onCache = (event: CacheEvent): void => {
    const level = event.result === 'stale' || event.result === 'expired' ? 'warn' : 'debug';
    log(level, 'secret cache', { result: event.result, secretPath: event.path });
  };
  // Token endpoint trouble is what an operator of an OAuth2 service needs to see; routine mints stay at debug.
  const onUpstreamToken = (event: UpstreamTokenEvent): void => {
    const level =
      event.kind === 'failure' || event.kind === 'writeback_conflict' || event.kind === 'claim_release_failed'
        ? 'warn'
        : event.kind === 'writeback'
          ? 'info'
          : 'debug';
    log(level, 'upstream token', event);
  };
  // One line when an address starts being throttled; its refused requests still get their own audit lines.
  const onThrottled = (event: AuthThrottledEvent): void => {
    log('warn', `throttling address ${event.address} after ${event.failures} failed tokens`, event);
  };

  // A connection the HTTP parser refused never becomes a request: this is its only line.
  const onClientError = (record: ClientErrorRecord): void => {
    log('warn', 'client error', record);
  };

  // A bug met in one request's path: that request ended with INTERNAL_ERROR; this line says what it was.
  const onUnexpected = (event: UnexpectedErrorEvent): void => {
    log('error', 'unexpected error', { requestId: event.requestId, error: event.error });
  };

  const onProcessUnexpected = (event: ProcessUnexpectedEvent): void => {
    log('error', 'unexpected error outside any request; the proxy keeps serving', { origin: event.origin, error: event.error });
  };

  // The first refused connection is logged at once, later ones as a count at most every DROPPED_LOG_INTERVAL_MS.
  let dropped = 0;
  let lastDroppedLine = -Infinity;
  const onConnectionDropped = (): void => {
    dropped++;
    const now = performance.now();
    if (now - lastDroppedLine < DROPPED_LOG_INTERVAL_MS) return;
    lastDroppedLine = now;
    log('warn', 'connections refused: listen.maxConnections are open', { dropped });
    dropped = 0;
  };

  events.on('request:finish', onRequest);
  events.on('request:unexpected', onUnexpected);
  events.on('process:unexpected', onProcessUnexpected);
  events.on('connection:dropped', onConnectionDropped);
  events.on('vault:auth', onAuth);
  events.on('vault:call', onVaultCall);
  events.on('secret:cache', onCache);
  events.on('auth:throttled', onThrottled);
  events.on('client:error', onClientError);
  events.on('upstream:token', onUpstreamToken);
  return () => {
    events.off('upstream:token', onUpstreamToken);
    events.off('request:finish', onRequest);
    events.off('request:unexpected', onUnexpected);
    events.off('process:unexpected', onProcessUnexpected);
    events.off('connection:dropped', onConnectionDropped);
    events.off('vault:auth', onAuth);
    events.off('vault:call', onVaultCall);
    events.off('secret:cache', onCache);
    events.off('auth:throttled', onThrottled);
    events.off('client:error', onClientError);
  };
}
