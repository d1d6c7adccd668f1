import { NodeApiError, NodeOperationError, type INodeExecutionData } from 'n8n-workflow';
import { SecureProxyRequest } from '../../../nodes/SecureProxyRequest/SecureProxyRequest.node';
import { createExecuteMock, jsonResponse, networkError, NODE, TEST_TOKEN, type ExecuteMockOptions } from '../../support/n8n-execute-mock';

const base = { service: 'echo', method: 'GET', path: '/hello' };
const node = new SecureProxyRequest();

async function execute(options: ExecuteMockOptions) {
  const { ctx, requests } = createExecuteMock(options);
  const output = await node.execute.call(ctx);
  return { output: output[0], requests };
}

const proxyError = (code: string, status: number, source: string) =>
  jsonResponse(
    status,
    { error: { code, message: `${code} happened.`, source, requestId: 'req-9' } },
    { 'x-secure-proxy-error': code, 'x-request-id': 'req-9' },
  );

describe('SecureProxyRequest.execute', () => {
  it('sends each item to /forward/{service}/{path} and returns JSON items paired with their input', async () => {
    const { output, requests } = await execute({
      parameters: [
        { ...base, path: '/users/1' },
        { ...base, path: '/users/2' },
      ],
      items: [{ json: { id: 1 } }, { json: { id: 2 } }],
      respond: (request) => jsonResponse(200, [{ url: request.url }, { n: 2 }]),
    });
    expect(requests.map((r) => r.url)).toEqual(['http://proxy.test:8080/forward/echo/users/1', 'http://proxy.test:8080/forward/echo/users/2']);
    expect(output).toEqual([
      { json: { url: 'http://proxy.test:8080/forward/echo/users/1' }, pairedItem: { item: 0 } },
      { json: { n: 2 }, pairedItem: { item: 0 } },
      { json: { url: 'http://proxy.test:8080/forward/echo/users/2' }, pairedItem: { item: 1 } },
      { json: { n: 2 }, pairedItem: { item: 1 } },
    ]);
  });

  it('never puts the proxy token into the request options it builds (n8n adds it), nor into outputs', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const { output } = await execute({ parameters: base, respond: (request) => (seen.push({ ...request.headers }), jsonResponse(200, { ok: true })) });
    // The mock adds Authorization the way n8n's generic authenticate does; the node itself sends no Authorization.
    expect(Object.keys(seen[0]).filter((h) => h.toLowerCase() === 'authorization')).toEqual(['Authorization']);
    expect(JSON.stringify(output)).not.toContain(TEST_TOKEN);
  });

  it('returns a file as binary data', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]);
    const { output } = await execute({
      parameters: { ...base, path: '/files/logo.png' },
      respond: () => ({ statusCode: 200, headers: { 'content-type': 'image/png' }, body: png }),
    });
    expect(output).toEqual([
      { json: {}, binary: { data: { data: png.toString('base64'), mimeType: 'image/png', fileName: 'logo.png', fileSize: '6' } }, pairedItem: { item: 0 } },
    ]);
  });

  it('paginates and returns every page', async () => {
    const pages = [jsonResponse(200, { items: [1], next: '/forward/echo/hello?page=2' }), jsonResponse(200, { items: [2], next: null })];
    const { output, requests } = await execute({
      parameters: { ...base, options: { pagination: { pagination: { paginationMode: 'nextUrlInBody', nextUrlField: 'next' } } } },
      respond: (_request, index) => pages[index],
    });
    expect(requests.map((r) => r.url)).toEqual(['http://proxy.test:8080/forward/echo/hello', 'http://proxy.test:8080/forward/echo/hello?page=2']);
    expect(output.map((item) => item.json.items)).toEqual([[1], [2]]);
    expect(output.every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
  });

  it('gives a proxy error and an API error different messages', async () => {
    const proxy = await execute({ parameters: base, respond: () => proxyError('SERVICE_NOT_ALLOWED', 403, 'proxy') }).catch((e: unknown) => e);
    const api = await execute({ parameters: base, respond: () => jsonResponse(403, { message: 'Resource not accessible by integration' }) }).catch(
      (e: unknown) => e,
    );
    const down = await execute({
      parameters: base,
      respond: () => {
        throw new NodeApiError(NODE, networkError('ECONNREFUSED'));
      },
    }).catch((e: unknown) => e);
    expect((proxy as NodeApiError).message).toBe(
      'The secure proxy refused the request for service "echo" (SERVICE_NOT_ALLOWED): Pick another service from the Service list (it shows the services this token may use), or ask the proxy admin to grant this one to your proxy client.',
    );
    expect((proxy as NodeApiError).description).toMatch(/^The proxy said: SERVICE_NOT_ALLOWED happened\./);
    expect((api as NodeApiError).message).toBe('The API of service "echo" answered with 403');
    expect((api as NodeApiError).description).toContain('Resource not accessible by integration');
    expect((down as NodeApiError).message).toBe('The secure proxy is unreachable at http://proxy.test:8080: connection refused (ECONNREFUSED)');
    for (const error of [proxy, api, down]) {
      expect(error).toBeInstanceOf(NodeApiError);
      expect((error as NodeApiError).context.itemIndex).toBe(0);
    }
  });

  it('returns non-2xx responses as items with Never Error, including the full response', async () => {
    const { output } = await execute({
      parameters: { ...base, options: { response: { response: { neverError: true, fullResponse: true } } } },
      respond: () => proxyError('SECRET_NOT_FOUND', 502, 'vault'),
    });
    expect(output[0].json).toMatchObject({
      statusCode: 502,
      headers: { 'x-secure-proxy-error': 'SECRET_NOT_FOUND' },
      body: { error: { code: 'SECRET_NOT_FOUND' } },
    });
  });

  it('with Continue On Fail, outputs the error for the failing item and goes on', async () => {
    const { output } = await execute({
      parameters: [base, { ...base, path: 'http://elsewhere.example/x' }, base],
      items: [{ json: {} }, { json: {} }, { json: {} }],
      continueOnFail: true,
      respond: (_request, index) => (index === 0 ? jsonResponse(200, { ok: 1 }) : proxyError('VAULT_UNAVAILABLE', 503, 'vault')),
    });
    expect(output).toEqual<INodeExecutionData[]>([
      { json: { ok: 1 }, pairedItem: { item: 0 } },
      { json: expect.objectContaining({ error: 'The path "http://elsewhere.example/x" is a full URL' }), pairedItem: { item: 1 } },
      {
        json: expect.objectContaining({
          error: expect.stringContaining('could not get the API credential for service "echo" from Vault (VAULT_UNAVAILABLE)'),
          httpCode: '503',
          proxyErrorCode: 'VAULT_UNAVAILABLE',
          proxyErrorSource: 'vault',
          proxyRequestId: 'req-9',
        }),
        pairedItem: { item: 2 },
      },
    ]);
  });

  it('without Continue On Fail, stops at the first failing item in item order', async () => {
    const error = await execute({
      parameters: [base, { ...base, method: 'BREW' }, { ...base, path: '//x/y' }],
      items: [{ json: {} }, { json: {} }, { json: {} }],
      respond: () => jsonResponse(200, {}),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeOperationError);
    expect((error as NodeOperationError).message).toBe('Unknown method "BREW"');
    expect((error as NodeOperationError).context.itemIndex).toBe(1);
  });

  it('sends batches of the configured size', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { output } = await execute({
      parameters: { ...base, options: { batching: { batch: { batchSize: 2, batchInterval: 0 } } } },
      items: Array.from({ length: 5 }, () => ({ json: {} })),
      respond: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return jsonResponse(200, { ok: true });
      },
    });
    expect(output.map((item) => (item.pairedItem as { item: number }).item)).toEqual([0, 1, 2, 3, 4]);
    expect(maxInFlight).toBe(2);
  });

  it('refuses an unusable credential before sending anything', async () => {
    const { ctx, requests } = createExecuteMock({
      parameters: base,
      credentials: { url: 'not a url', token: TEST_TOKEN },
      respond: () => jsonResponse(200, {}),
    });
    await expect(node.execute.call(ctx)).rejects.toThrow(/is not an http:\/\/ or https:\/\/ URL/);
    expect(requests).toHaveLength(0);
  });

  it('follows a redirect inside the service', async () => {
    const { output, requests } = await execute({
      parameters: base,
      respond: (_request, index) => (index === 0 ? { statusCode: 302, headers: { location: '/forward/echo/moved' } } : jsonResponse(200, { moved: true })),
    });
    expect(requests.map((r) => r.url)).toEqual(['http://proxy.test:8080/forward/echo/hello', 'http://proxy.test:8080/forward/echo/moved']);
    expect(output[0].json).toEqual({ moved: true });
  });
});

describe('version 2 Service (resource locator)', () => {
  it.each([
    ['From List', { __rl: true, mode: 'list', value: 'github', cachedResultName: 'github — GitHub REST API · GET' }],
    ['By Name', { __rl: true, mode: 'name', value: 'github' }],
    ['version 1 plain string', 'github'],
  ])('sends to the service chosen %s', async (_label, service) => {
    const { requests } = await execute({ parameters: { ...base, service }, respond: () => jsonResponse(200, {}) });
    expect(requests[0].url).toBe('http://proxy.test:8080/forward/github/hello');
  });

  it('refuses an empty choice with what to do in the editor', async () => {
    const error = await execute({ parameters: { ...base, service: { __rl: true, mode: 'list', value: '' } }, respond: () => jsonResponse(200, {}) }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('No service selected');
    expect((error as { description?: string }).description).toMatch(/^Pick a service from the Service list/);
  });
});
