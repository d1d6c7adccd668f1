/**
 * The one metric labelled by workflow: only requests under a per-workflow rule count, a
 * workflow id becomes a label only once the rule allowed it, and a cap bounds the labels.
 */
import { Registry } from 'prom-client';
import { NO_ATTRIBUTION, type RequestRecord } from '../../../proxy/src/observability/events';
import { createWorkflowMetrics } from '../../../proxy/src/observability/workflow-metrics';

function record(overrides: Partial<RequestRecord>): RequestRecord {
  return {
    requestId: 'r',
    method: 'GET',
    path: '/forward/payments/x',
    route: 'forward',
    status: 200,
    clientId: 'n8n-prod',
    tokenId: null,
    service: 'payments',
    errorCode: null,
    errorSource: null,
    errorDetail: null,
    durationMs: 1,
    secretMs: 0,
    upstreamMs: 1,
    remoteAddress: null,
    aborted: false,
    ...NO_ATTRIBUTION,
    ...overrides,
  };
}

async function series(registry: Registry): Promise<Array<Record<string, string | number>>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'secure_proxy_workflow_requests_total');
  return (metric?.values ?? []).map((v) => ({ ...v.labels, value: v.value }));
}

describe('secure_proxy_workflow_requests_total', () => {
  it('counts only requests under a rule: allowed ones by workflow id, refused ones with an empty label', async () => {
    const registry = new Registry();
    const count = createWorkflowMetrics([registry]);
    count(record({ workflowId: 'wfA', workflowRule: 'allowed' }), 'payments', '2xx');
    count(record({ workflowId: 'wfA', workflowRule: 'allowed' }), 'payments', '2xx');
    count(record({ workflowId: 'made-up-1', workflowRule: 'refused', status: 403 }), 'payments', '4xx');
    count(record({ workflowId: 'made-up-2', workflowRule: 'refused', status: 403 }), 'payments', '4xx');
    count(record({ workflowId: 'no-rule', workflowRule: null, executionId: '123' }), 'github', '2xx');
    expect(await series(registry)).toEqual([
      { service: 'payments', workflow: 'wfA', status_class: '2xx', value: 2 },
      { service: 'payments', workflow: '', status_class: '4xx', value: 2 },
    ]);
  });

  it('counts ids beyond the cap as "other"', async () => {
    const registry = new Registry();
    const count = createWorkflowMetrics([registry], 2);
    for (const id of ['a', 'b', 'c', 'd', 'a']) count(record({ workflowId: id, workflowRule: 'allowed' }), 'payments', '2xx');
    expect((await series(registry)).map((s) => [s.workflow, s.value])).toEqual([
      ['a', 2],
      ['b', 1],
      ['other', 2],
    ]);
  });
});
