/**
 * Prometheus metrics, fed by the event bus. Each instance has its own registry so two apps
 * in one process (tests) never share counters.
 *
 * Label values are a fixed vocabulary: routes, configured service names, normalised methods,
 * status classes, error codes and sources, Vault operations and outcomes. Never a path, a
 * client token or anything caller-chosen that could grow without bound or leak a secret.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundCounter, BoundHistogram, type CounterSeries, type HistogramSeries } from './bound-series';
import { ERROR_CODES, type ErrorCode } from '../contract/contract';
import type {
  AuthEvent,
  CacheEvent,
  ClientErrorRecord,
  ProxyEvents,
  RequestRecord,
  TokenExpiryEvent,
  TokenStoreRefreshEvent,
  UpstreamTokenEvent,
  VaultCallEvent,
} from './events';
import { createWorkflowMetrics } from './workflow-metrics';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ROUTES = new Set<string>(['forward', 'control', 'ops', 'other']);
/** Same shape the config allows for service names. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Upstream calls can be slow by nature; the top buckets tell "slow API" from "timeout". */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const VAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  /**
   * Says whether a name is a configured service. Without it, any well-formed name is trusted
   * except on SERVICE_UNKNOWN, and the cap below is the last bound.
   */
  isKnownService?: (name: string) => boolean;
  /** Distinct service label values before further ones are counted as "other". */
  maxServiceLabels?: number;
  /**
   * Registers prom-client's process and Node.js metrics (default true). Once per process: they
   * install a GC observer and an event-loop-delay monitor that stop() cannot remove, and each
   * keeps this registry (and everything it references) alive for the life of the process.
   */
  defaultMetrics?: boolean;
}

/** What the app gets back: the registry, rendering for `/metrics`, and the gauges others set. */
export interface ProxyMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text for `/metrics`. */
  render(): Promise<string>;
  /**
   * Counts the events of another bus too, into the same series: a config reload builds a new
   * app with its own bus, and the counters carry on instead of starting from zero. Returns
   * the function that detaches this bus alone (the old app's, once it has drained).
   */
  observe(events: ProxyEvents, options?: Pick<MetricsOptions, 'isKnownService'>): () => void;
  /** Detaches from every event bus. The registry stays readable. */
  stop(): void;
}

/** `2xx`…`5xx`; anything outside 100–599 is `other`. */
export function statusClass(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : 'other';
}

/** Upper-case standard methods as themselves, anything else (custom verbs) as `OTHER`. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : 'OTHER';
}

/** Creates the metrics and subscribes them to `events` (none yet when null: see `observe`). */
export function createMetrics(events: ProxyEvents | null, options: MetricsOptions = {}): ProxyMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  // The metrics every request updates (these three and the secret cache's) are bound-series ones (see bound-series.ts); the rest
  // change on errors, Vault calls and the like, and stay prom-client's own.
  const requests = new BoundCounter(
    'secure_proxy_requests_total',
    'Requests handled, by route, service, method, status class and the side that failed (empty when none).',
    ['route', 'service', 'method', 'status_class', 'error_source'] as const,
    registers,
  );
  const requestDuration = new BoundHistogram(
    'secure_proxy_request_duration_seconds',
    'Time from request arrival to response finished (or connection closed).',
    ['route', 'service'] as const,
    REQUEST_BUCKETS,
    registers,
  );
  const errors = new Counter({
    name: 'secure_proxy_errors_total',
    help: 'Proxy-made error responses, by source and contract error code.',
    labelNames: ['source', 'code'] as const,
    registers,
  });
  const upstreamDuration = new BoundHistogram(
    'secure_proxy_upstream_duration_seconds',
    'Time from sending upstream to upstream response headers.',
    ['service'] as const,
    REQUEST_BUCKETS,
    registers,
  );
  const vaultRequests = new Counter({
    name: 'secure_proxy_vault_requests_total',
    help: 'Calls to Vault, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const vaultDuration = new Histogram({
    name: 'secure_proxy_vault_request_duration_seconds',
    help: 'Duration of calls to Vault, by operation.',
    labelNames: ['operation'] as const,
    buckets: VAULT_BUCKETS,
    registers,
  });
  // Counted on every request that reads a secret (cache hits included).
  const secretCache = new BoundCounter(
    'secure_proxy_secret_cache_total',
    'Secret cache lookups, by result (hit, miss, stale, refresh, expired).',
    ['result'] as const,
    registers,
  );
  const cacheSeries = new Map<string, CounterSeries>();
  // Episodes, not requests: each refused request is already in secure_proxy_errors_total{code="PROXY_TOKEN_THROTTLED"}.
  // No address label: addresses are caller-chosen and unbounded.
  const authThrottled = new Counter({
    name: 'secure_proxy_auth_throttled_total',
    help: 'Times an address started being throttled for bad proxy tokens (once per address per window).',
    registers,
  });
  // No address label: addresses are caller-chosen and unbounded.
  const connectionsDropped = new Counter({
    name: 'secure_proxy_connections_dropped_total',
    help: 'Client connections closed as they arrived because listen.maxConnections were open.',
    registers,
  });
  const unexpectedErrors = new Counter({
    name: 'secure_proxy_unexpected_errors_total',
    help: 'Exceptions nothing expected (a bug): in a request path (that request ended with INTERNAL_ERROR) or anywhere else in the process, which kept serving.',
    labelNames: ['where'] as const,
    registers,
  });
  unexpectedErrors.inc({ where: 'request' }, 0);
  unexpectedErrors.inc({ where: 'process' }, 0);
  const upstreamTokens = new Counter({
    name: 'secure_proxy_upstream_tokens_total',
    help: 'OAuth2 token endpoint activity per service: mint (no usable token), refresh (ahead of expiry or after a 401), failure, writeback (a rotated refresh token stored in Vault), writeback_conflict (another replica wrote first), claim_release_failed (Vault did not take the release of a refresh claim: other replicas wait for its deadline).',
    labelNames: ['service', 'grant', 'kind'] as const,
    registers,
  });
  const tokenStoreRefreshes = new Counter({
    name: 'secure_proxy_token_store_refreshes_total',
    help: 'Re-reads of the proxy token records in Vault, by trigger (start, schedule, miss) and outcome; a failure keeps the last good records.',
    labelNames: ['trigger', 'outcome'] as const,
    registers,
  });
  const tokenStoreLastSuccess = new Gauge({
    name: 'secure_proxy_token_store_last_success_timestamp_seconds',
    help: 'Unix time of the last successful re-read of the proxy token records in Vault.',
    registers,
  });
  const tokenStoreTokens = new Gauge({
    name: 'secure_proxy_token_store_tokens',
    help: 'Proxy tokens (expired ones included) served from the Vault token records.',
    registers,
  });
  // Client names are bounded by the config and the token records, so they may be labels.
  const tokensExpiringSoon = new Gauge({
    name: 'secure_proxy_tokens_expiring_soon',
    help: 'Valid proxy tokens that expire within tokenExpiryWarningSeconds, by client.',
    labelNames: ['client'] as const,
    registers,
  });
  const tokenExpiryTimestamp = new Gauge({
    name: 'secure_proxy_token_expiry_timestamp_seconds',
    help: "Unix time of the earliest expiry among each client's valid proxy tokens; no series for a client whose tokens never expire.",
    labelNames: ['client'] as const,
    registers,
  });

  // The Vault token's remaining TTL is computed at scrape time, so it counts down between renewals.
  let vaultTokenHeld = false;
  let vaultTokenExpiresAt: number | null = null;
  const now = (): number => performance.now();
  const ttlLeft = (): number | null => (vaultTokenExpiresAt === null ? null : Math.max(0, (vaultTokenExpiresAt - now()) / 1000));
  new Gauge({
    name: 'secure_proxy_vault_token_ttl_seconds',
    help: "Remaining TTL of the proxy's Vault token; not updated for a token without a known TTL.",
    registers,
    collect() {
      const left = ttlLeft();
      if (left !== null) this.set(left);
    },
  });
  new Gauge({
    name: 'secure_proxy_vault_authenticated',
    help: '1 while the proxy holds a Vault token that has not expired, else 0.',
    registers,
    collect() {
      const left = ttlLeft();
      this.set(vaultTokenHeld && (left === null || left > 0) ? 1 : 0);
    },
  });

  const countWorkflowRequest = createWorkflowMetrics(registers);

  // Zero series for every code, so rate() and alerts work before the first error.
  for (const [code, spec] of Object.entries(ERROR_CODES)) errors.inc({ source: spec.source, code }, 0);

  const seenServices = new Set<string>();
  const maxServices = options.maxServiceLabels ?? 200;
  const serviceLabel = (record: RequestRecord, isKnownService: MetricsOptions['isKnownService']): string => {
    const name = record.service;
    if (name === null || record.errorCode === 'SERVICE_UNKNOWN' || !SERVICE_NAME.test(name)) return '';
    if (isKnownService && !isKnownService(name)) return '';
    if (seenServices.has(name)) return name;
    if (seenServices.size >= maxServices) return 'other';
    seenServices.add(name);
    return name;
  };

  // One entry per label set, bound once: a request's update is a Map lookup and three updates of
  // plain numbers, not three label objects built and hashed. Label values are a fixed
  // vocabulary (services are capped above), so the map is bounded.
  interface RequestSeries {
    count: CounterSeries;
    duration: HistogramSeries;
    upstream: HistogramSeries;
  }
  const requestSeries = new Map<string, RequestSeries>();
  const seriesOf = (route: string, service: string, method: string, statusClass: string, errorSource: string): RequestSeries => {
    const key = `${route} ${service} ${method} ${statusClass} ${errorSource}`;
    let series = requestSeries.get(key);
    if (series === undefined) {
      series = {
        count: requests.bind({ route, service, method, status_class: statusClass, error_source: errorSource }),
        duration: requestDuration.bind({ route, service }),
        upstream: upstreamDuration.bind({ service }),
      };
      requestSeries.set(key, series);
    }
    return series;
  };

  const onRequest = (record: RequestRecord, isKnownService: MetricsOptions['isKnownService']): void => {
    const route = ROUTES.has(record.route) ? record.route : 'other';
    const service = serviceLabel(record, isKnownService);
    const status = statusClass(record.status);
    const series = seriesOf(route, service, methodLabel(record.method), status, record.errorSource ?? '');
    series.count.inc();
    countWorkflowRequest(record, service, status);
    series.duration.observe(record.durationMs / 1000);
    if (record.upstreamMs !== null) series.upstream.observe(record.upstreamMs / 1000);
    if (record.errorCode !== null) {
      const known = Object.hasOwn(ERROR_CODES, record.errorCode);
      const code: ErrorCode | 'OTHER' = known ? record.errorCode : 'OTHER';
      errors.inc({ source: record.errorSource ?? (known ? ERROR_CODES[record.errorCode].source : 'proxy'), code });
    }
  };
  const onVaultCall = (event: VaultCallEvent): void => {
    vaultRequests.inc({ operation: event.operation, outcome: event.outcome });
    vaultDuration.observe({ operation: event.operation }, event.durationMs / 1000);
  };
  const onAuth = (event: AuthEvent): void => {
    switch (event.state) {
      case 'authenticated':
      case 'renewed':
      case 'relogin':
        vaultTokenHeld = true;
        vaultTokenExpiresAt = event.ttlSeconds === null ? null : now() + event.ttlSeconds * 1000;
        break;
      case 'expired':
        vaultTokenHeld = false;
        vaultTokenExpiresAt = now();
        break;
      case 'failed':
        // A failed renewal or re-login leaves the current token (if any) valid until its TTL runs out.
        break;
    }
  };
  // Results are a fixed vocabulary (CacheEvent['result']), so the map stays small.
  const onCache = (event: CacheEvent): void => {
    let series = cacheSeries.get(event.result);
    if (series === undefined) {
      series = secretCache.bind({ result: event.result });
      cacheSeries.set(event.result, series);
    }
    series.inc();
  };
  const onUpstreamToken = (event: UpstreamTokenEvent): void => {
    upstreamTokens.inc({ service: event.service, grant: event.grant, kind: event.kind });
  };
  const onTokenStoreRefresh = (event: TokenStoreRefreshEvent): void => {
    tokenStoreRefreshes.inc({ trigger: event.trigger, outcome: event.outcome });
    if (event.outcome === 'ok') tokenStoreLastSuccess.set(Date.now() / 1000);
    tokenStoreTokens.set(event.tokens);
  };
  // Replaced whole, so a client whose tokens are gone or expired drops out of both gauges.
  const onTokenExpiry = (event: TokenExpiryEvent): void => {
    tokensExpiringSoon.reset();
    tokenExpiryTimestamp.reset();
    for (const entry of event.clients) {
      tokensExpiringSoon.set({ client: entry.client }, entry.expiringSoon);
      if (entry.earliestExpiryMs !== null) tokenExpiryTimestamp.set({ client: entry.client }, entry.earliestExpiryMs / 1000);
    }
  };
  const onAuthThrottled = (): void => {
    authThrottled.inc();
  };
  // Refused by the HTTP parser before becoming a request: an error response, but no request series.
  const onClientError = (record: ClientErrorRecord): void => {
    errors.inc({ source: ERROR_CODES[record.errorCode].source, code: record.errorCode });
  };

  const onConnectionDropped = (): void => {
    connectionsDropped.inc();
  };
  const onRequestUnexpected = (): void => {
    unexpectedErrors.inc({ where: 'request' });
  };
  const onProcessUnexpected = (): void => {
    unexpectedErrors.inc({ where: 'process' });
  };

  const detachers = new Set<() => void>();
  const observe = (bus: ProxyEvents, observeOptions: Pick<MetricsOptions, 'isKnownService'> = {}): (() => void) => {
    const onBusRequest = (record: RequestRecord): void => onRequest(record, observeOptions.isKnownService);
    const subscription = (method: 'on' | 'off'): void => {
      bus[method]('request:finish', onBusRequest);
      bus[method]('vault:call', onVaultCall);
      bus[method]('vault:auth', onAuth);
      bus[method]('secret:cache', onCache);
      bus[method]('upstream:token', onUpstreamToken);
      bus[method]('auth:throttled', onAuthThrottled);
      bus[method]('tokens:refresh', onTokenStoreRefresh);
      bus[method]('tokens:expiry', onTokenExpiry);
      bus[method]('client:error', onClientError);
      bus[method]('connection:dropped', onConnectionDropped);
      bus[method]('request:unexpected', onRequestUnexpected);
      bus[method]('process:unexpected', onProcessUnexpected);
    };
    subscription('on');
    const detach = (): void => {
      detachers.delete(detach);
      subscription('off');
    };
    detachers.add(detach);
    return detach;
  };
  if (events !== null) observe(events, options);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observe,
    stop() {
      for (const detach of [...detachers]) detach();
    },
  };
}
