/**
 * Prometheus metrics, fed by the event bus. Each instance has its own registry so two apps
 * in one process (tests) never share counters.
 *
 * Label values are a fixed vocabulary: routes, configured service names, normalised methods,
 * status classes, error codes and sources, Vault operations and outcomes. Never a path, a
 * client token or anything caller-chosen that could grow without bound or leak a secret.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES, type ErrorCode } from '../contract';
import type { AuthEvent, CacheEvent, ProxyEvents, RequestRecord, VaultCallEvent } from './events';

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
  /** Registers prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
}

/** What the app gets back: the registry, rendering for `/metrics`, and the gauges others set. */
export interface ProxyMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text for `/metrics`. */
  render(): Promise<string>;
  /** Number of proxy tokens expiring within the warning window; set by the token code. */
  readonly tokensExpiringSoon: Gauge;
  /** Detaches from the event bus. The registry stays readable. */
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

/** Creates the metrics for one app and subscribes them to its events. */
export function createMetrics(events: ProxyEvents, options: MetricsOptions = {}): ProxyMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'secure_proxy_requests_total',
    help: 'Requests handled, by route, service, method, status class and the side that failed (empty when none).',
    labelNames: ['route', 'service', 'method', 'status_class', 'error_source'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'secure_proxy_request_duration_seconds',
    help: 'Time from request arrival to response finished (or connection closed).',
    labelNames: ['route', 'service'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'secure_proxy_errors_total',
    help: 'Proxy-made error responses, by source and contract error code.',
    labelNames: ['source', 'code'] as const,
    registers,
  });
  const upstreamDuration = new Histogram({
    name: 'secure_proxy_upstream_duration_seconds',
    help: 'Time from sending upstream to upstream response headers.',
    labelNames: ['service'] as const,
    buckets: REQUEST_BUCKETS,
    registers,
  });
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
  const secretCache = new Counter({
    name: 'secure_proxy_secret_cache_total',
    help: 'Secret cache lookups, by result (hit, miss, stale, refresh, expired).',
    labelNames: ['result'] as const,
    registers,
  });
  const tokensExpiringSoon = new Gauge({
    name: 'secure_proxy_tokens_expiring_soon',
    help: 'Proxy tokens that expire within the warning window.',
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

  // Zero series for every code, so rate() and alerts work before the first error.
  for (const [code, spec] of Object.entries(ERROR_CODES)) errors.inc({ source: spec.source, code }, 0);

  const seenServices = new Set<string>();
  const maxServices = options.maxServiceLabels ?? 200;
  const serviceLabel = (record: RequestRecord): string => {
    const name = record.service;
    if (name === null || record.errorCode === 'SERVICE_UNKNOWN' || !SERVICE_NAME.test(name)) return '';
    if (options.isKnownService && !options.isKnownService(name)) return '';
    if (seenServices.has(name)) return name;
    if (seenServices.size >= maxServices) return 'other';
    seenServices.add(name);
    return name;
  };

  const onRequest = (record: RequestRecord): void => {
    const route = ROUTES.has(record.route) ? record.route : 'other';
    const service = serviceLabel(record);
    requests.inc({
      route,
      service,
      method: methodLabel(record.method),
      status_class: statusClass(record.status),
      error_source: record.errorSource ?? '',
    });
    requestDuration.observe({ route, service }, record.durationMs / 1000);
    if (record.upstreamMs !== null) upstreamDuration.observe({ service }, record.upstreamMs / 1000);
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
  const onCache = (event: CacheEvent): void => {
    secretCache.inc({ result: event.result });
  };

  events.on('request:finish', onRequest);
  events.on('vault:call', onVaultCall);
  events.on('vault:auth', onAuth);
  events.on('secret:cache', onCache);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    tokensExpiringSoon,
    stop() {
      events.off('request:finish', onRequest);
      events.off('vault:call', onVaultCall);
      events.off('vault:auth', onAuth);
      events.off('secret:cache', onCache);
    },
  };
}
