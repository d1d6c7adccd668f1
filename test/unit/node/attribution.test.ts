/**
 * What the node tells the proxy about where a request comes from: the workflow, execution and
 * node, the AI-tool flag, and n8n's trace context when the execution has one; on every request
 * of an item (pages and redirects too), encoded and bounded as the contract says.
 */
import type { INode } from 'n8n-workflow';
import { SecureProxyRequest } from '../../../nodes/SecureProxyRequest/SecureProxyRequest.node';
import { encodeName, runsAsAiTool } from '../../../nodes/SecureProxyRequest/attribution';
import { createExecuteMock, jsonResponse, NODE, type ExecuteMockOptions } from '../../support/n8n-execute-mock';

const base = { service: 'echo', method: 'GET', path: '/hello' };
const node = new SecureProxyRequest();
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

async function sentHeaders(options: Partial<ExecuteMockOptions>): Promise<Array<Record<string, string>>> {
  const { ctx, requests } = createExecuteMock({ parameters: base, respond: () => jsonResponse(200, {}), ...options });
  await node.execute.call(ctx);
  return requests.map((request) => request.headers as Record<string, string>);
}

describe('attribution headers of the node', () => {
  it('sends the workflow id and name, execution id, node name and the AI-tool flag, percent-encoded', async () => {
    const [headers] = await sentHeaders({
      workflow: { id: 'V9xTRe2yW6kXnqDp', name: 'Nightly invoices 🧾' },
      executionId: '48213',
      node: { ...NODE, name: 'Charge "customer"' },
    });
    expect(headers).toMatchObject({
      'x-secure-proxy-workflow-id': 'V9xTRe2yW6kXnqDp',
      'x-secure-proxy-workflow-name': encodeURIComponent('Nightly invoices 🧾'),
      'x-secure-proxy-execution-id': '48213',
      'x-secure-proxy-node-name': encodeURIComponent('Charge "customer"'),
      'x-secure-proxy-ai-tool': 'false',
    });
    // Without n8n's trace hook (OpenTelemetry off) there is no trace context to send.
    expect(headers).not.toHaveProperty('traceparent');
    // Every value is plain ASCII, safe in any HTTP stack.
    for (const value of Object.values(headers)) expect(value).toMatch(/^[\x20-\x7e]*$/);
  });

  it('leaves out an id n8n does not have (a workflow never saved) rather than sending it malformed', async () => {
    const [headers] = await sentHeaders({ workflow: { name: 'My workflow' }, executionId: '' });
    expect(headers).not.toHaveProperty('x-secure-proxy-workflow-id');
    expect(headers).not.toHaveProperty('x-secure-proxy-execution-id');
    expect(headers['x-secure-proxy-workflow-name']).toBe('My%20workflow');
  });

  it('marks the tool variant n8n derives for AI agents', async () => {
    const tool: INode = { ...NODE, type: 'n8n-nodes-secure-proxy.secureProxyRequestTool' };
    const [headers] = await sentHeaders({ node: tool });
    expect(headers['x-secure-proxy-ai-tool']).toBe('true');
    expect(runsAsAiTool('n8n-nodes-secure-proxy.secureProxyRequest')).toBe(false);
  });

  it("sends n8n's trace context from the execution's OpenTelemetry hook, asked for this execution and node", async () => {
    const asked: Array<[string, string | undefined]> = [];
    const [headers] = await sentHeaders({
      executionId: '77',
      injectTraceHeaders: (executionId, nodeName, target) => {
        asked.push([executionId, nodeName]);
        target.traceparent = TRACEPARENT;
        target.tracestate = 'vendor=1';
      },
    });
    expect(asked).toEqual([['77', NODE.name]]);
    expect(headers).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'vendor=1' });
  });

  it('sends no trace context when the hook writes none, writes garbage, or throws, and the request still goes out', async () => {
    for (const inject of [
      () => undefined,
      (_e: string, _n: string | undefined, target: Record<string, string>) => void (target.traceparent = 'garbage\r\nx: y'),
      () => {
        throw new Error('tracer failed');
      },
    ]) {
      const sent = await sentHeaders({ injectTraceHeaders: inject });
      expect(sent).toHaveLength(1);
      expect(sent[0]).not.toHaveProperty('traceparent');
    }
  });

  it('sends the same attribution with every request of an item (each page of a paginated call)', async () => {
    const pages = [jsonResponse(200, { items: [1], next: '/forward/echo/hello?page=2' }), jsonResponse(200, { items: [2], next: null })];
    const { ctx, requests } = createExecuteMock({
      parameters: { ...base, options: { pagination: { pagination: { paginationMode: 'nextUrlInBody', nextUrlField: 'next' } } } },
      respond: (_request, index) => pages[index],
    });
    await node.execute.call(ctx);
    expect(requests).toHaveLength(2);
    for (const request of requests) expect((request.headers as Record<string, string>)['x-secure-proxy-workflow-id']).toBe('wfTest1');
  });
});

describe('encodeName', () => {
  it('cuts a long name to the bound at a character boundary, ending in …', () => {
    const decoded = decodeURIComponent(encodeName('é'.repeat(300)));
    expect(decoded).toHaveLength(256);
    expect(decoded.endsWith('…')).toBe(true);
    const astral = decodeURIComponent(encodeName('𝕏'.repeat(200)));
    expect(astral.length).toBeLessThanOrEqual(256);
    expect(astral.slice(0, -1)).toBe('𝕏'.repeat((astral.length - 1) / 2));
  });

  it('replaces a lone surrogate instead of throwing', () => {
    expect(decodeURIComponent(encodeName('a\uD800b'))).toBe('a\uFFFDb');
  });
});
