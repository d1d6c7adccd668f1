import express from 'express';
import supertest from 'supertest';
import { ProxyEvents, type RequestRecord } from '../../../proxy/src/observability/events';
import { healthz, metricsHandler, READINESS_SUMMARY, readyz, type Readiness } from '../../../proxy/src/observability/health';
import { createMetrics } from '../../../proxy/src/observability/metrics';
import { requestTracking } from '../../../proxy/src/observability/request-log';
import { waitFor } from '../../support/secrets-harness';

function app(check: () => Readiness) {
  const events = new ProxyEvents();
  const records: RequestRecord[] = [];
  events.on('request:finish', (r) => records.push(r));
  const metrics = createMetrics(events, { defaultMetrics: false });
  const a = express();
  a.use(requestTracking(events, { route: () => 'ops' }));
  a.get('/healthz', healthz);
  a.get('/readyz', readyz(check));
  a.get('/metrics', metricsHandler(metrics));
  return { app: a, records, metrics };
}

describe('health endpoints', () => {
  it('/healthz answers 200 {"status":"ok"} without consulting anything', async () => {
    const check = jest.fn(() => ({ ready: false, reason: 'Vault is sealed' }));
    const res = await supertest(app(check).app).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(check).not.toHaveBeenCalled();
  });

  it('/readyz answers 200 {"status":"ready"} when the check says ready', async () => {
    const res = await supertest(app(() => ({ ready: true, reason: null })).app)
      .get('/readyz')
      .expect(200);
    expect(res.body).toEqual({ status: 'ready' });
    expect(res.headers['x-secure-proxy-error']).toBeUndefined();
  });

  it('/readyz answers the NOT_READY contract error with the reason when not ready', async () => {
    const h = app(() => ({ ready: false, reason: 'Vault is sealed' }));
    const res = await supertest(h.app).get('/readyz').expect(503);
    expect(res.headers['x-secure-proxy-error']).toBe('NOT_READY');
    expect(res.body).toEqual({
      error: { code: 'NOT_READY', source: 'proxy', message: expect.stringContaining('Vault is sealed'), requestId: res.headers['x-request-id'] },
    });
    // The audit record knows this response was made by the proxy.
    await waitFor('the request record', () => h.records.length > 0);
    expect(h.records[0]).toMatchObject({ status: 503, errorCode: 'NOT_READY', errorSource: 'proxy' });
  });

  it("/readyz in summary mode (the main listener) says not ready without the reason, which may name Vault's auth method", async () => {
    const a = express();
    const events = new ProxyEvents();
    a.use(requestTracking(events, { route: () => 'ops' }));
    a.get(
      '/readyz',
      readyz(() => ({ ready: false, reason: 'Vault approle login failed: connection refused' }), 'summary'),
    );
    const res = await supertest(a).get('/readyz').expect(503);
    expect(res.headers['x-secure-proxy-error']).toBe('NOT_READY');
    expect(res.body.error.message).toBe(`Not ready: ${READINESS_SUMMARY}.`);
    expect(res.text).not.toMatch(/approle|refused/);
  });

  it('/readyz treats a throwing check as not ready without echoing its message', async () => {
    const res = await supertest(
      app(() => {
        throw new TypeError('boom with hvs.secretish-detail');
      }).app,
    )
      .get('/readyz')
      .expect(503);
    expect(res.headers['x-secure-proxy-error']).toBe('NOT_READY');
    expect(res.text).not.toContain('boom');
    expect(res.body.error.message).toContain('TypeError');
  });

  it('/metrics serves the Prometheus exposition of the instance registry', async () => {
    const h = app(() => ({ ready: true, reason: null }));
    await supertest(h.app).get('/healthz').expect(200);
    const res = await supertest(h.app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe(h.metrics.contentType);
    expect(res.text).toMatch(/^secure_proxy_requests_total\{route="ops",service="",method="GET",status_class="2xx",error_source=""\} 1$/m);
  });
});
