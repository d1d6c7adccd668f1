import { register as globalRegistry } from 'prom-client';
import { ERROR_CODES } from '../../../proxy/src/contract/contract';
import { NO_ATTRIBUTION, ProxyEvents, type RequestRecord } from '../../../proxy/src/observability/events';
import { createMetrics, methodLabel, statusClass, type ProxyMetrics } from '../../../proxy/src/observability/metrics';

function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: 'req-1',
    method: 'GET',
    path: '/forward/github/user?page=',
    route: 'forward',
    status: 200,
    clientId: 'n8n-prod',
    tokenId: 'abc123',
    service: 'github',
    errorCode: null,
    errorSource: null,
    errorDetail: null,
    durationMs: 120,
    secretMs: 3,
    upstreamMs: 100,
    remoteAddress: '127.0.0.1',
    aborted: false,
    ...NO_ATTRIBUTION,
    ...overrides,
  };
}

type Value = { value: number; labels: Record<string, string | number>; metricName?: string };

async function values(metrics: ProxyMetrics, name: string): Promise<Value[]> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  return (await metric.get()).values as Value[];
}

async function valueOf(metrics: ProxyMetrics, name: string, labels: Record<string, string>, metricName?: string): Promise<number | undefined> {
  const found = (await values(metrics, name)).find(
    (v) => (metricName === undefined || v.metricName === metricName) && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return found?.value;
}

describe('createMetrics', () => {
  let events: ProxyEvents;
  let metrics: ProxyMetrics;

  beforeEach(() => {
    events = new ProxyEvents();
    metrics = createMetrics(events);
  });
  afterEach(() => metrics.stop());

  it('counts requests with bounded labels', async () => {
    events.emit('request:finish', record());
    events.emit('request:finish', record({ method: 'post', status: 404 }));
    expect(
      await valueOf(metrics, 'secure_proxy_requests_total', { route: 'forward', service: 'github', method: 'GET', status_class: '2xx', error_source: '' }),
    ).toBe(1);
    expect(await valueOf(metrics, 'secure_proxy_requests_total', { method: 'POST', status_class: '4xx' })).toBe(1);
  });

  it('labels proxy errors with their source and counts them by code', async () => {
    events.emit('request:finish', record({ status: 503, errorCode: 'VAULT_UNAVAILABLE', errorSource: 'vault', upstreamMs: null }));
    expect(await valueOf(metrics, 'secure_proxy_requests_total', { status_class: '5xx', error_source: 'vault' })).toBe(1);
    expect(await valueOf(metrics, 'secure_proxy_errors_total', { source: 'vault', code: 'VAULT_UNAVAILABLE' })).toBe(1);
  });

  it('exposes a zero series for every error code before any error', async () => {
    const series = await values(metrics, 'secure_proxy_errors_total');
    expect(series).toHaveLength(Object.keys(ERROR_CODES).length);
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(await valueOf(metrics, 'secure_proxy_errors_total', { code, source: spec.source })).toBe(0);
    }
  });

  it('observes request and upstream durations in seconds', async () => {
    events.emit('request:finish', record({ durationMs: 120, upstreamMs: 100 }));
    events.emit('request:finish', record({ service: null, route: 'ops', path: '/healthz', upstreamMs: null, durationMs: 2 }));
    expect(
      await valueOf(metrics, 'secure_proxy_request_duration_seconds', { route: 'forward', service: 'github' }, 'secure_proxy_request_duration_seconds_sum'),
    ).toBeCloseTo(0.12);
    expect(await valueOf(metrics, 'secure_proxy_request_duration_seconds', { route: 'ops', service: '' }, 'secure_proxy_request_duration_seconds_count')).toBe(
      1,
    );
    expect(await valueOf(metrics, 'secure_proxy_upstream_duration_seconds', { service: 'github' }, 'secure_proxy_upstream_duration_seconds_sum')).toBeCloseTo(
      0.1,
    );
    expect(await valueOf(metrics, 'secure_proxy_upstream_duration_seconds', { service: '' }, 'secure_proxy_upstream_duration_seconds_count')).toBeUndefined();
  });

  it('counts Vault calls and cache results', async () => {
    events.emit('vault:call', { operation: 'read', outcome: 'ok', durationMs: 20, status: 200 });
    events.emit('vault:call', { operation: 'read', outcome: 'forbidden', durationMs: 10, status: 403 });
    events.emit('vault:call', { operation: 'login', outcome: 'unavailable', durationMs: 5000, status: null });
    events.emit('secret:cache', { result: 'hit', path: 'team/github' });
    events.emit('secret:cache', { result: 'hit', path: 'team/other' });
    events.emit('secret:cache', { result: 'stale', path: 'team/github' });
    expect(await valueOf(metrics, 'secure_proxy_vault_requests_total', { operation: 'read', outcome: 'ok' })).toBe(1);
    expect(await valueOf(metrics, 'secure_proxy_vault_requests_total', { operation: 'read', outcome: 'forbidden' })).toBe(1);
    expect(
      await valueOf(metrics, 'secure_proxy_vault_request_duration_seconds', { operation: 'read' }, 'secure_proxy_vault_request_duration_seconds_count'),
    ).toBe(2);
    expect(
      await valueOf(metrics, 'secure_proxy_vault_request_duration_seconds', { operation: 'login' }, 'secure_proxy_vault_request_duration_seconds_sum'),
    ).toBeCloseTo(5);
    expect(await valueOf(metrics, 'secure_proxy_secret_cache_total', { result: 'hit' })).toBe(2);
    expect(await valueOf(metrics, 'secure_proxy_secret_cache_total', { result: 'stale' })).toBe(1);
    expect(await metrics.render()).not.toContain('team/github');
  });

  it('tracks Vault authentication and counts the token TTL down', async () => {
    expect(await valueOf(metrics, 'secure_proxy_vault_authenticated', {})).toBe(0);
    events.emit('vault:auth', { state: 'authenticated', method: 'approle', ttlSeconds: 3600, reason: null });
    expect(await valueOf(metrics, 'secure_proxy_vault_authenticated', {})).toBe(1);
    const ttl = (await valueOf(metrics, 'secure_proxy_vault_token_ttl_seconds', {}))!;
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);

    // A failed renewal leaves the current token valid until it runs out.
    events.emit('vault:auth', { state: 'failed', method: 'approle', ttlSeconds: null, reason: 'Vault is sealed' });
    expect(await valueOf(metrics, 'secure_proxy_vault_authenticated', {})).toBe(1);

    events.emit('vault:auth', { state: 'expired', method: 'approle', ttlSeconds: null, reason: 'token expired' });
    expect(await valueOf(metrics, 'secure_proxy_vault_authenticated', {})).toBe(0);
    expect(await valueOf(metrics, 'secure_proxy_vault_token_ttl_seconds', {})).toBe(0);

    events.emit('vault:auth', { state: 'relogin', method: 'approle', ttlSeconds: 60, reason: null });
    expect(await valueOf(metrics, 'secure_proxy_vault_authenticated', {})).toBe(1);
  });

  it('reports not authenticated once a TTL has run out without renewal', async () => {
    events.emit('vault:auth', { state: 'authenticated', method: 'token', ttlSeconds: 0.001, reason: null });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await valueOf(metrics, 'secure_proxy_vault_authenticated', {})).toBe(0);
    expect(await valueOf(metrics, 'secure_proxy_vault_token_ttl_seconds', {})).toBe(0);
  });

  it('sets the token expiry gauges per client from each tokens:expiry event, dropping clients that are gone', async () => {
    events.emit('tokens:expiry', {
      clients: [
        { client: 'n8n-prod', expiringSoon: 2, earliestExpiryMs: 1_900_000_000_000 },
        { client: 'n8n-dev', expiringSoon: 0, earliestExpiryMs: null },
      ],
    });
    const text = await metrics.render();
    expect(text).toMatch(/^secure_proxy_tokens_expiring_soon\{client="n8n-prod"\} 2$/m);
    expect(text).toMatch(/^secure_proxy_tokens_expiring_soon\{client="n8n-dev"\} 0$/m);
    expect(text).toMatch(/^secure_proxy_token_expiry_timestamp_seconds\{client="n8n-prod"\} 1900000000$/m);
    expect(text).not.toMatch(/^secure_proxy_token_expiry_timestamp_seconds\{client="n8n-dev"\}/m);
    events.emit('tokens:expiry', { clients: [{ client: 'n8n-dev', expiringSoon: 1, earliestExpiryMs: 1_800_000_000_000 }] });
    const after = await metrics.render();
    expect(after).not.toContain('client="n8n-prod"');
    expect(after).toMatch(/^secure_proxy_tokens_expiring_soon\{client="n8n-dev"\} 1$/m);
  });

  it('renders default process metrics on its own registry, not the global one', async () => {
    const text = await metrics.render();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(globalRegistry.getSingleMetric('secure_proxy_requests_total')).toBeUndefined();
  });

  it('keeps two instances apart', async () => {
    const other = createMetrics(new ProxyEvents(), { defaultMetrics: false });
    events.emit('request:finish', record());
    expect(await valueOf(other, 'secure_proxy_requests_total', {})).toBeUndefined();
    other.stop();
  });

  it('stops listening after stop()', async () => {
    metrics.stop();
    events.emit('request:finish', record());
    events.emit('vault:call', { operation: 'read', outcome: 'ok', durationMs: 1, status: 200 });
    expect(await values(metrics, 'secure_proxy_requests_total')).toEqual([]);
    expect(await values(metrics, 'secure_proxy_vault_requests_total')).toEqual([]);
  });

  it('never puts paths, client ids, token ids or request ids into the exposition', async () => {
    events.emit(
      'request:finish',
      record({ path: '/forward/github/repos/secret-repo-name?token=', clientId: 'client-canary', tokenId: 'tokenid-canary', requestId: 'reqid-canary' }),
    );
    const text = await metrics.render();
    for (const canary of ['secret-repo-name', 'client-canary', 'tokenid-canary', 'reqid-canary', '127.0.0.1']) expect(text).not.toContain(canary);
  });
});

describe('label cardinality', () => {
  it('stays bounded under caller-chosen methods, services, statuses and paths', async () => {
    const events = new ProxyEvents();
    const metrics = createMetrics(events, { defaultMetrics: false, maxServiceLabels: 5 });
    for (let i = 0; i < 2000; i++) {
      events.emit(
        'request:finish',
        record({
          method: `VERB${i}`,
          path: `/forward/s${i}/p${i}`,
          status: 100 + (i % 600),
          service: i % 2 === 0 ? `svc${i}` : `bad name/${i}`,
          errorCode: i % 3 === 0 ? 'SERVICE_UNKNOWN' : null,
          errorSource: i % 3 === 0 ? 'proxy' : null,
        }),
      );
    }
    const series = await values(metrics, 'secure_proxy_requests_total');
    const distinct = (label: string) => new Set(series.map((s) => s.labels[label]));
    expect(distinct('method')).toEqual(new Set(['OTHER']));
    expect(distinct('service').size).toBeLessThanOrEqual(5 + 2); // cap + '' + 'other'
    expect(distinct('status_class')).toEqual(new Set(['1xx', '2xx', '3xx', '4xx', '5xx', 'other']));
    expect(series.length).toBeLessThan(100);
    metrics.stop();
  });

  it('drops the service label on SERVICE_UNKNOWN and for names the app does not know', async () => {
    const events = new ProxyEvents();
    const metrics = createMetrics(events, { defaultMetrics: false, isKnownService: (name) => name === 'github' });
    events.emit('request:finish', record({ service: 'attacker-chosen', errorCode: 'SERVICE_UNKNOWN', errorSource: 'proxy', status: 404 }));
    events.emit('request:finish', record({ service: 'not-configured', errorCode: 'PROXY_TOKEN_MISSING', errorSource: 'proxy', status: 401 }));
    events.emit('request:finish', record({ service: 'github' }));
    const services = new Set((await values(metrics, 'secure_proxy_requests_total')).map((s) => s.labels.service));
    expect(services).toEqual(new Set(['', 'github']));
    metrics.stop();
  });

  it.each([
    ['GET', 'GET'],
    ['get', 'GET'],
    ['DELETE', 'DELETE'],
    ['OPTIONS', 'OPTIONS'],
    ['PROPFIND', 'OTHER'],
    ['TRACE', 'OTHER'],
  ])('method %s → %s', (method, label) => {
    expect(methodLabel(method)).toBe(label);
  });

  it.each([
    [200, '2xx'],
    [204, '2xx'],
    [301, '3xx'],
    [499, '4xx'],
    [503, '5xx'],
    [0, 'other'],
    [600, 'other'],
    [200.5, 'other'],
  ])('status %d → %s', (status, label) => {
    expect(statusClass(status)).toBe(label);
  });
});
