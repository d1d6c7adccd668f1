/**
 * Attribution, per-workflow rules and service limits through the real app: the node's
 * attribution headers (any spelling) never reach the upstream, every audit line (accepted and
 * refused requests alike) records them, WORKFLOW_NOT_ALLOWED comes from config rules, limits
 * answer 429 with Retry-After in the counts the config says, and no secret or token shows in
 * any of it. Real loopback upstream, real node-vault against the Vault emulator (or a real Vault).
 */
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import type { ProxyConfigInput } from '../../proxy/src/config/schema';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { waitFor } from '../support/secrets-harness';

const SECRET = canary('attribution');
jest.setTimeout(120_000);

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const WORKFLOW_NAME = 'Nightly invoices 🧾 "EU"';

/** The headers the node sends for workflow `workflowId`. */
function attributionFor(workflowId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'x-secure-proxy-workflow-id': workflowId,
    'x-secure-proxy-workflow-name': encodeURIComponent(WORKFLOW_NAME),
    'x-secure-proxy-execution-id': '48213',
    'x-secure-proxy-node-name': encodeURIComponent('Charge customer'),
    'x-secure-proxy-ai-tool': 'false',
    traceparent: TRACEPARENT,
    ...extra,
  };
}

describe('attribution through the proxy', () => {
  let harness: ProxyHarness;
  let t: TestProxy;
  let token: string;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    const service = (path: string, extra: Partial<ProxyConfigInput['services'][string]> = {}) => ({
      target: `${harness.upstream.url}/${path}`,
      secret: 'svc/echo',
      inject: { type: 'bearer' as const },
      ...extra,
    });
    t = await startProxy(harness, (_base, tokens) => ({
      clients: {
        'n8n-prod': {
          tokenHashes: [tokens('prod').hash],
          services: ['echo', 'payments', 'metered', 'narrow'],
          workflows: { payments: ['wfPay1', 'wfPay2'] },
        },
      },
      services: {
        echo: service('echo'),
        payments: service('payments'),
        // One token per 1000 s: the burst is all a test run can use, whatever the machine's speed.
        metered: service('metered', { limits: { requestsPerSecond: 0.001, burst: 3 } }),
        narrow: service('narrow', { limits: { maxConcurrent: 2 } }),
      },
    }));
    token = t.tokens.prod.token;
  });

  afterAll(async () => {
    await t?.proxy.stop();
    await harness?.close();
    expectNothingHidden([t.logs.text()], [SECRET, token]);
  });

  const requestLine = (requestId: string): Record<string, unknown> => {
    const line = t.logs.entries().find((entry) => entry.msg === 'request' && entry.requestId === requestId);
    if (line === undefined) throw new Error(`no audit line for ${requestId}`);
    return line;
  };
  const auditOf = async (requestId: string): Promise<Record<string, unknown>> => {
    await waitFor(`the audit line of ${requestId}`, () => t.logs.entries().some((entry) => entry.msg === 'request' && entry.requestId === requestId));
    return requestLine(requestId);
  };

  it('strips every attribution header, in any spelling, before the upstream; passes traceparent on; records them all', async () => {
    harness.upstream.clear();
    const res = await request(t.proxy.app)
      .get('/forward/echo/hello')
      .set('authorization', `Bearer ${token}`)
      .set({
        ...attributionFor('wfEcho'),
        'X-Secure-Proxy-Ai-Tool': 'true',
        x_secure_proxy_workflow_id: 'spoofed-underscore',
        'x-secure-proxy-anything-else': 'x',
      });
    expect(res.status).toBe(200);
    const received = harness.upstream.received.at(-1)!;
    const names = Object.keys(received.headers);
    expect(names.filter((name) => /secure.proxy/i.test(name.replaceAll('_', '-')))).toEqual([]);
    expect(received.rawHeaders.join('\n')).not.toMatch(/Nightly|Charge%20customer|wfEcho|48213/);
    expect(received.headers.traceparent).toBe(TRACEPARENT);
    expect(received.headers.authorization).toBe(`Bearer ${SECRET}`);

    expect(await auditOf(res.headers['x-request-id'])).toMatchObject({
      level: 'info',
      status: 200,
      clientId: 'n8n-prod',
      service: 'echo',
      workflowId: 'wfEcho',
      workflowName: WORKFLOW_NAME,
      executionId: '48213',
      nodeName: 'Charge customer',
      aiTool: true,
      traceId: TRACE_ID,
      attributionInvalid: null,
      workflowRule: null,
    });
  });

  it.each([
    ['a bad proxy token', '/forward/echo/x', 'Bearer spt_nope_nopenopenopenopenopenopenopenopenope12', 'PROXY_TOKEN_INVALID'],
    ['no proxy token', '/forward/echo/x', null, 'PROXY_TOKEN_MISSING'],
    ['an unknown service', '/forward/nope/x', 'token', 'SERVICE_UNKNOWN'],
    ['a path that leaves the service', '/forward/echo/%2e%2e/x', 'token', 'PATH_REJECTED'],
    ['no route at all', '/nowhere', 'token', 'ROUTE_NOT_FOUND'],
  ])('records the attribution of a request refused for %s', async (_what, path, authorization, code) => {
    let req = request(t.proxy.app).get(path).set(attributionFor('wfRefused'));
    if (authorization !== null) req = req.set('authorization', authorization === 'token' ? `Bearer ${token}` : authorization);
    const res = await req;
    expect(res.headers[ERROR_HEADER]).toBe(code);
    expect(await auditOf(res.headers['x-request-id'])).toMatchObject({
      level: 'warn',
      errorCode: code,
      workflowId: 'wfRefused',
      workflowName: WORKFLOW_NAME,
      executionId: '48213',
      nodeName: 'Charge customer',
      aiTool: false,
      traceId: TRACE_ID,
    });
  });

  it('names malformed attribution in the audit line and still serves the request', async () => {
    const res = await request(t.proxy.app).get('/forward/echo/x').set('authorization', `Bearer ${token}`).set({
      'x-secure-proxy-workflow-name': 'raw name with spaces',
      'x-secure-proxy-node-name': 'a%0Ab',
      traceparent: 'bogus',
      'x-secure-proxy-workflow-id': 'ok1',
    });
    expect(res.status).toBe(200);
    expect(await auditOf(res.headers['x-request-id'])).toMatchObject({
      workflowId: 'ok1',
      workflowName: null,
      nodeName: null,
      traceId: null,
      attributionInvalid: ['workflowName', 'nodeName', 'traceId'],
    });
  });

  describe('per-workflow rules from the config', () => {
    it('lets a listed workflow use the service', async () => {
      const res = await request(t.proxy.app).get('/forward/payments/charges').set('authorization', `Bearer ${token}`).set(attributionFor('wfPay2'));
      expect(res.status).toBe(200);
      expect(await auditOf(res.headers['x-request-id'])).toMatchObject({ workflowRule: 'allowed', workflowId: 'wfPay2' });
    });

    it.each([
      ['another workflow', attributionFor('wfOther'), "this request came from workflow 'wfOther'"],
      ['no workflow id (a plain HTTP client)', {}, 'this request named no workflow'],
      ['a malformed workflow id', { 'x-secure-proxy-workflow-id': 'wf Pay1' }, 'not a valid workflow id'],
    ])('refuses %s with WORKFLOW_NOT_ALLOWED naming the rule, before anything is forwarded', async (_what, headers, claimed) => {
      harness.upstream.clear();
      const res = await request(t.proxy.app).post('/forward/payments/charges').set('authorization', `Bearer ${token}`).set(headers).send({ amount: 1 });
      expect(res.status).toBe(403);
      expect(res.headers[ERROR_HEADER]).toBe('WORKFLOW_NOT_ALLOWED');
      expect(res.body.error).toMatchObject({ code: 'WORKFLOW_NOT_ALLOWED', source: 'proxy' });
      expect(res.body.error.message).toContain(
        "Client 'n8n-prod' may use service 'payments' only from 2 listed workflows (clients.n8n-prod.workflows.payments in the proxy config)",
      );
      expect(res.body.error.message).toContain(claimed);
      expect(res.body.error.message).not.toMatch(/wfPay1|wfPay2/);
      expect(harness.upstream.received).toHaveLength(0);
      expect(await auditOf(res.headers['x-request-id'])).toMatchObject({ errorCode: 'WORKFLOW_NOT_ALLOWED', workflowRule: 'refused', level: 'warn' });
    });

    it('leaves the services without a rule open to every workflow of the client', async () => {
      const res = await request(t.proxy.app).get('/forward/echo/x').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
    });

    it('counts workflow ids in metrics only once a rule allowed them, never execution ids', async () => {
      const text = await t.proxy.metrics.render();
      const series = text.split('\n').filter((line) => line.startsWith('secure_proxy_workflow_requests_total{'));
      expect(series.some((line) => line.includes('workflow="wfPay2"') && line.includes('service="payments"'))).toBe(true);
      expect(series.some((line) => line.includes('workflow=""') && line.includes('service="payments"'))).toBe(true);
      expect(text).not.toMatch(/wfOther|wfEcho|wfRefused|48213/);
      expect(text).toMatch(/secure_proxy_errors_total\{source="proxy",code="WORKFLOW_NOT_ALLOWED"\} [1-9]/);
    });
  });

  describe('service limits', () => {
    it('lets the burst through and answers the rest 429 SERVICE_RATE_LIMITED with Retry-After, forwarding none of them', async () => {
      harness.upstream.clear();
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => request(t.proxy.app).get('/forward/metered/x').set('authorization', `Bearer ${token}`).set(attributionFor('wfM'))),
      );
      const ok = answers.filter((res) => res.status === 200);
      const limited = answers.filter((res) => res.status === 429);
      expect(ok).toHaveLength(3);
      expect(limited).toHaveLength(7);
      expect(harness.upstream.received.filter((r) => r.url.startsWith('/metered'))).toHaveLength(3);
      for (const res of limited) {
        expect(res.headers[ERROR_HEADER]).toBe('SERVICE_RATE_LIMITED');
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(res.body.error.source).toBe('proxy');
        expect(res.body.error.message).toContain("Service 'metered' allows 0.001 requests per second (burst 3) on this proxy replica");
      }
      expect(await auditOf(limited[0].headers['x-request-id'])).toMatchObject({ errorCode: 'SERVICE_RATE_LIMITED', errorDetail: 'rate', workflowId: 'wfM' });
    });

    it('caps requests in flight and gives the slot back when an answer ends', async () => {
      const started = harness.upstream.started();
      const slow = [0, 1].map(() =>
        request(t.proxy.app)
          .get('/forward/narrow/slow/1500')
          .set('authorization', `Bearer ${token}`)
          .then((res) => res.status),
      );
      await waitFor('two slow requests at the upstream', () => harness.upstream.started() >= started + 2, 30_000);
      const third = await request(t.proxy.app).get('/forward/narrow/x').set('authorization', `Bearer ${token}`);
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBe('1');
      expect(third.body.error.message).toContain("Service 'narrow' allows at most 2 requests in flight on this proxy replica");
      expect(await Promise.all(slow)).toEqual([200, 200]);
      const after = await request(t.proxy.app).get('/forward/narrow/x').set('authorization', `Bearer ${token}`);
      expect(after.status).toBe(200);
    });
  });
});
