/**
 * Attribution end to end, inside a real n8n 2.x with OpenTelemetry on: the workflow's id and
 * name, the node's name and the execution's id (as n8n's public API lists it) arrive in the
 * proxy's audit line, and for a run of n8n's server (a webhook) n8n's trace id too; a service narrowed to that workflow refuses a second
 * workflow with WORKFLOW_NOT_ALLOWED, which n8n shows with the proxy's rule; the API never
 * sees an attribution header.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_API_KEY_SCOPES, createN8nInstance, outputItems, packPackage, type ExecuteResult, type N8nInstance } from '../support/n8n-harness';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { waitFor } from '../support/secrets-harness';

const UPSTREAM_SECRET = canary('e2e-attribution');
const PAYMENTS_WORKFLOW = { id: 'wfPayAttrib0001A', name: 'Nightly invoices 🧾 "EU" – 夜間' };
const OTHER_WORKFLOW = { id: 'wfOtherAttrib02B', name: 'Someone else’s workflow' };
const WEBHOOK_WORKFLOW = { id: 'wfHookAttrib003C', name: 'Charge on webhook' };
const WEBHOOK_PATH = 'attribution-charge';
/** The trace the webhook's caller started; n8n continues it, and the proxy must record its id. */
const CALLER_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const NODE_NAME = 'Charge customer ✓';
const CREDENTIAL = { id: 'spCredAttrib0001', name: 'Secure Proxy (attribution)' };

/** A loopback API that records the headers it received. */
function startApi(): Promise<{ url: string; received: http.IncomingHttpHeaders[]; close(): Promise<void> }> {
  const received: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    received.push(req.headers);
    res.writeHead(req.headers.authorization === `Bearer ${UPSTREAM_SECRET}` ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ charged: true }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        received,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

/** Where n8n exports its traces: a loopback OTLP/HTTP sink that accepts them (nothing leaves the machine). */
function startTraceSink(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

function workflow(meta: { id: string; name: string }, viaWebhook = false): Record<string, unknown> {
  const trigger = viaWebhook
    ? {
        id: 'trigger',
        name: 'Start',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: WEBHOOK_PATH,
        parameters: { path: WEBHOOK_PATH, httpMethod: 'GET' },
      }
    : { id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };
  const node = {
    id: 'node',
    name: NODE_NAME,
    position: [220, 0],
    type: 'n8n-nodes-secure-proxy.secureProxyRequest',
    typeVersion: 1,
    parameters: { service: 'payments', method: 'POST', path: '/v1/charges' },
    credentials: { secureProxyApi: CREDENTIAL },
  };
  return { ...meta, nodes: [trigger, node], connections: { Start: { main: [[{ node: NODE_NAME, type: 'main', index: 0 }]] } }, settings: {}, active: false };
}

describe('attribution from a real n8n', () => {
  let harness: ProxyHarness;
  let t: TestProxy;
  let proxyServer: http.Server;
  let api: Awaited<ReturnType<typeof startApi>>;
  let sink: Awaited<ReturnType<typeof startTraceSink>>;
  let n8n: N8nInstance;
  const cliOutput: string[] = [];

  beforeAll(async () => {
    api = await startApi();
    sink = await startTraceSink();
    harness = await startHarness({ 'svc/payments': { token: UPSTREAM_SECRET } });
    t = await startProxy(harness, (_base, token) => ({
      clients: {
        'n8n-prod': { tokenHashes: [token('prod').hash], services: ['payments'], workflows: { payments: [PAYMENTS_WORKFLOW.id, WEBHOOK_WORKFLOW.id] } },
      },
      services: { payments: { target: api.url, secret: 'svc/payments', inject: { type: 'bearer' } } },
    }));
    proxyServer = http.createServer(t.proxy.app);
    await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;

    n8n = await createN8nInstance({
      env: {
        N8N_OTEL_ENABLED: 'true',
        N8N_OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        // `n8n execute` runs in cli mode, which n8n traces only when told to trace every execution.
        N8N_OTEL_TRACES_PRODUCTION_ONLY: 'false',
      },
    });
    await n8n.installCommunityPackage(await packPackage());
    await n8n.importCredentials([{ ...CREDENTIAL, type: 'secureProxyApi', data: { url: proxyUrl, token: t.tokens.prod.token } }]);
    await n8n.importWorkflow(workflow(PAYMENTS_WORKFLOW));
    await n8n.importWorkflow(workflow(OTHER_WORKFLOW));
    await n8n.importWorkflow(workflow(WEBHOOK_WORKFLOW, true));
  });

  afterAll(async () => {
    await n8n?.close();
    await new Promise<void>((resolve) => (proxyServer ? proxyServer.close(() => resolve()) : resolve()));
    await t?.proxy.stop();
    await harness?.close();
    await api?.close();
    await sink?.close();
    expectNothingHidden([...cliOutput, t.logs.text()], [UPSTREAM_SECRET, t.tokens.prod.token]);
  });

  async function execute(id: string): Promise<ExecuteResult> {
    const result = await n8n.execute(id);
    cliOutput.push(result.stdout, result.stderr);
    return result;
  }

  /** One public-API key for the suite (n8n refuses a second key of the same label); starts the server. */
  let apiKey = '';
  const startWithApiKey = async (): Promise<void> => {
    if (apiKey === '') apiKey = await n8n.createOwnerAndApiKey([...DEFAULT_API_KEY_SCOPES, 'workflow:activate']);
    else await n8n.start();
  };

  const auditLines = () => t.logs.entries().filter((entry) => entry.msg === 'request' && entry.route === 'forward');

  it("records the workflow's id and name, the node's name and the execution's id in the audit line", async () => {
    const result = await execute(PAYMENTS_WORKFLOW.id);
    expect(result.code).toBe(0);
    expect(outputItems(result, NODE_NAME)).toEqual([{ charged: true }]);

    const lines = auditLines().filter((line) => line.workflowId === PAYMENTS_WORKFLOW.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      status: 200,
      clientId: 'n8n-prod',
      service: 'payments',
      workflowName: PAYMENTS_WORKFLOW.name,
      nodeName: NODE_NAME,
      aiTool: false,
      attributionInvalid: null,
      workflowRule: 'allowed',
    });
    expect(lines[0].executionId).toMatch(/^\d+$/);

    // The API got the request without any attribution header.
    const headers = api.received.at(-1)!;
    expect(Object.keys(headers).filter((name) => name.startsWith('x-secure-proxy'))).toEqual([]);

    // The execution id is the one n8n lists for the workflow.
    await startWithApiKey();
    const executions = await n8n.api(apiKey, 'GET', `/executions?workflowId=${PAYMENTS_WORKFLOW.id}`);
    expect(executions.status).toBe(200);
    const ids = (executions.body as { data: Array<{ id: string | number }> }).data.map((execution) => String(execution.id));
    expect(ids).toContain(lines[0].executionId);
    await n8n.stop();
  });

  it('refuses a second workflow with WORKFLOW_NOT_ALLOWED, which n8n shows with the rule, and audits it', async () => {
    const before = api.received.length;
    const result = await execute(OTHER_WORKFLOW.id);
    expect(result.code).not.toBe(0);
    const error: { message?: string; description?: string } = result.runData?.[NODE_NAME]?.[0]?.error ?? {};
    const shown = `${error.message ?? ''}\n${error.description ?? ''}`;
    expect(shown).toContain('WORKFLOW_NOT_ALLOWED');
    expect(shown).toContain(
      "Client 'n8n-prod' may use service 'payments' only from 2 listed workflows (clients.n8n-prod.workflows.payments in the proxy config)",
    );
    expect(api.received.length).toBe(before);

    const lines = auditLines().filter((line) => line.workflowId === OTHER_WORKFLOW.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      status: 403,
      errorCode: 'WORKFLOW_NOT_ALLOWED',
      workflowRule: 'refused',
      workflowName: OTHER_WORKFLOW.name,
      nodeName: NODE_NAME,
    });
    expect(lines[0].executionId).toMatch(/^\d+$/);
  });

  it("records n8n's trace id for a production run (n8n traces what its server runs, continuing the caller's trace)", async () => {
    // `n8n execute` starts no OpenTelemetry; the server does, for the webhook's production run.
    await startWithApiKey();
    const activated = await n8n.api(apiKey, 'POST', `/workflows/${WEBHOOK_WORKFLOW.id}/activate`);
    expect(activated.status).toBe(200);
    // n8n registers an activated workflow's webhook shortly after answering the activation.
    let called: { status: number; body: string } = { status: 0, body: '' };
    const deadline = Date.now() + 60_000;
    do {
      const response = await fetch(`${n8n.baseUrl}/webhook/${WEBHOOK_PATH}`, { headers: { traceparent: `00-${CALLER_TRACE_ID}-b7ad6b7169203331-01` } });
      called = { status: response.status, body: await response.text() };
      if (called.status !== 404) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } while (Date.now() < deadline);
    expect(called).toMatchObject({ status: 200 });

    await waitFor('the audit line of the webhook run', () => auditLines().some((line) => line.workflowId === WEBHOOK_WORKFLOW.id), 60_000);
    const line = auditLines().find((entry) => entry.workflowId === WEBHOOK_WORKFLOW.id)!;
    expect(line).toMatchObject({ status: 200, workflowName: WEBHOOK_WORKFLOW.name, nodeName: NODE_NAME, traceId: CALLER_TRACE_ID, workflowRule: 'allowed' });
    expect(line.executionId).toMatch(/^\d+$/);
    // The API gets the trace context too, as from any traced n8n request; never the attribution headers.
    const headers = api.received.at(-1)!;
    expect(headers.traceparent).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(Object.keys(headers).filter((name) => name.startsWith('x-secure-proxy'))).toEqual([]);
  });
});
