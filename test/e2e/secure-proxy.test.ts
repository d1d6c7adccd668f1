/**
 * The product, end to end, inside a real n8n 2.x: our packed package installed the way the
 * Community Nodes UI installs it, a "Secure Proxy API" credential and workflows imported
 * headlessly, executed with `n8n execute`, through the real proxy (Vault emulator + a
 * loopback API). Proves the API receives the Vault secret while n8n never holds it: not in
 * outputs (even when the API echoes it), not in CLI output, not in exported workflows, not
 * in n8n's database.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createN8nInstance, outputItems, packPackage, type ExecuteResult, type N8nInstance } from '../support/n8n-harness';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';

const UPSTREAM_SECRET = canary('e2e-upstream');
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(300, 7)]);

/** A small API on loopback; only /api/echo-auth echoes the credential it received (some APIs do). */
function startApi(): Promise<{ url: string; authorizations: string[]; paths: string[]; close(): Promise<void> }> {
  const authorizations: string[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    authorizations.push(String(req.headers.authorization ?? ''));
    paths.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://api.local');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${UPSTREAM_SECRET}`) return json(401, { message: 'bad credential' });
    if (url.pathname === '/api/items') {
      const page = Number(url.searchParams.get('page') ?? '1');
      const items = page <= 3 ? [{ id: page * 10 + 1 }, { id: page * 10 + 2 }] : [];
      return json(200, { page, items });
    }
    if (url.pathname === '/api/echo-auth') return json(200, { receivedAuthorization: req.headers.authorization });
    if (url.pathname === '/api/report.pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="report.pdf"' });
      return res.end(PDF);
    }
    return json(404, { message: `no such resource ${url.pathname}` });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        authorizations,
        paths,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

const trigger = { id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };
const CREDENTIAL = { id: 'spCred0000000001', name: 'Secure Proxy (prod)' };

function workflow(name: string, node: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    nodes: [trigger, { id: 'node', position: [220, 0], ...node }],
    connections: { Start: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
    settings: {},
    active: false,
  };
}

/** The node as saved in a workflow; version 1 (a plain service name) unless told otherwise. */
function proxyNode(parameters: Record<string, unknown>, typeVersion = 1): Record<string, unknown> {
  return {
    name: 'Proxy',
    type: 'n8n-nodes-secure-proxy.secureProxyRequest',
    typeVersion,
    parameters: { service: 'api', method: 'GET', ...parameters },
    credentials: { secureProxyApi: CREDENTIAL },
  };
}

function nodeError(result: ExecuteResult, node: string): { message?: string; description?: string } {
  return result.runData?.[node]?.[0]?.error ?? {};
}

describe('Secure Proxy Request inside a real n8n', () => {
  let harness: ProxyHarness;
  let t: TestProxy;
  let proxyServer: http.Server;
  let api: Awaited<ReturnType<typeof startApi>>;
  let n8n: N8nInstance;
  const workflowIds: string[] = [];
  const cliOutput: string[] = [];

  beforeAll(async () => {
    api = await startApi();
    harness = await startHarness({ 'svc/api': { token: UPSTREAM_SECRET } });
    t = await startProxy(harness, (_base, token) => ({
      clients: { 'n8n-prod': { tokenHashes: [token('prod').hash], services: ['api', 'unconfigured'] } },
      services: {
        api: { target: api.url, secret: 'svc/api', inject: { type: 'bearer', field: 'token' }, description: 'Items API' },
        unconfigured: { target: api.url, secret: 'svc/not-in-vault', inject: { type: 'bearer' } },
      },
    }));
    proxyServer = http.createServer(t.proxy.app);
    await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;

    n8n = await createN8nInstance();
    await n8n.installCommunityPackage(await packPackage());
    await n8n.importCredentials([{ ...CREDENTIAL, type: 'secureProxyApi', data: { url: proxyUrl, token: t.tokens.prod.token } }]);
  });

  afterAll(async () => {
    await n8n?.close();
    await new Promise<void>((resolve) => (proxyServer ? proxyServer.close(() => resolve()) : resolve()));
    await t?.proxy.stop();
    await harness?.close();
    await api?.close();
  });

  async function run(name: string, node: Record<string, unknown>): Promise<ExecuteResult> {
    const id = await n8n.importWorkflow(workflow(name, node));
    workflowIds.push(id);
    const result = await n8n.execute(id);
    cliOutput.push(result.stdout, result.stderr);
    return result;
  }

  it('sends a JSON request through the proxy; the API receives the Vault secret, n8n only the answer', async () => {
    const before = api.authorizations.length;
    const result = await run('json', proxyNode({ path: '/api/items' }));
    expect(result.code).toBe(0);
    expect(outputItems(result, 'Proxy')).toEqual([{ page: 1, items: [{ id: 11 }, { id: 12 }] }]);
    expect(api.authorizations.slice(before)).toEqual([`Bearer ${UPSTREAM_SECRET}`]);
  });

  it('runs a version 2 node, whose service is chosen from the list, like a version 1 node saved with a plain name', async () => {
    const v2 = await run(
      'json-v2',
      proxyNode({ path: '/api/items', service: { __rl: true, mode: 'list', value: 'api', cachedResultName: 'api — Items API' } }, 2),
    );
    expect(v2.code).toBe(0);
    expect(outputItems(v2, 'Proxy')).toEqual([{ page: 1, items: [{ id: 11 }, { id: 12 }] }]);
    const byName = await run('json-v2-name', proxyNode({ path: '/api/items', service: { __rl: true, mode: 'name', value: 'api' } }, 2));
    expect(outputItems(byName, 'Proxy')).toEqual([{ page: 1, items: [{ id: 11 }, { id: 12 }] }]);
  }, 240_000);

  it('returns a binary response as a file with name and MIME type', async () => {
    const result = await run('binary', proxyNode({ path: '/api/report.pdf', options: { response: { response: { responseFormat: 'file' } } } }));
    expect(result.code).toBe(0);
    const item = result.runData!.Proxy[0].data!.main[0]![0] as { binary?: Record<string, { fileName?: string; mimeType?: string; fileSize?: string }> };
    expect(item.binary?.data).toMatchObject({ fileName: 'report.pdf', mimeType: 'application/pdf' });
  });

  it('follows page numbers until the results are empty', async () => {
    const before = api.paths.length;
    const result = await run(
      'pages',
      proxyNode({
        path: '/api/items',
        options: {
          pagination: { pagination: { paginationMode: 'pageNumber', parameterName: 'page', stopWhen: 'responseIsEmpty', resultsField: 'items', maxPages: 10 } },
        },
      }),
    );
    expect(result.code).toBe(0);
    expect(api.paths.slice(before)).toEqual(['/api/items?page=1', '/api/items?page=2', '/api/items?page=3', '/api/items?page=4']);
    const pages = (outputItems(result, 'Proxy') as Array<{ page: number }>).map((item) => item.page);
    expect(pages).toEqual([1, 2, 3]);
  });

  it('tells a proxy-side refusal and an API error apart', async () => {
    const proxySide = await run('proxy-error', proxyNode({ service: 'unconfigured', path: '/api/items' }));
    const apiSide = await run('api-error', proxyNode({ path: '/api/nope' }));
    expect(proxySide.code).not.toBe(0);
    expect(apiSide.code).not.toBe(0);
    const proxyError = nodeError(proxySide, 'Proxy');
    const apiError = nodeError(apiSide, 'Proxy');
    expect(`${proxyError.message} ${proxyError.description}`).toMatch(/SECRET_NOT_FOUND/);
    expect(`${proxyError.message} ${proxyError.description}`).toMatch(/Vault/);
    expect(apiError.message).toMatch(/404/);
    expect(`${apiError.message} ${apiError.description}`).toContain('no such resource /api/nope');
    expect(apiError.message).not.toEqual(proxyError.message);
  });

  it('scrubs the secret from an API answer that echoes it, before it reaches n8n', async () => {
    const result = await run('echo', proxyNode({ path: '/api/echo-auth' }));
    expect(result.code).toBe(0);
    expect(outputItems(result, 'Proxy')).toEqual([{ receivedAuthorization: 'Bearer [REDACTED]' }]);
    expect(api.authorizations.at(-1)).toBe(`Bearer ${UPSTREAM_SECRET}`);
  });

  it("refuses the credential in n8n's own HTTP Request node before anything is sent", async () => {
    const before = api.paths.length;
    const result = await run('steal', {
      name: 'HTTP',
      type: 'n8n-nodes-base.httpRequest',
      typeVersion: 4.2,
      parameters: { url: `${api.url}/steal`, authentication: 'predefinedCredentialType', nodeCredentialType: 'secureProxyApi', options: {} },
      credentials: { secureProxyApi: CREDENTIAL },
    });
    expect(result.code).not.toBe(0);
    // Refused for the right reason (n8n-core: credential "... is restricted to specific nodes").
    expect(`${result.stdout}\n${result.stderr}`).toMatch(/restricted to specific nodes/);
    expect(api.paths.length).toBe(before);
  });

  it('keeps the API secret and the proxy token out of CLI output, exported workflows and the database', async () => {
    expect(workflowIds.length).toBeGreaterThanOrEqual(7);
    const exported = await Promise.all(workflowIds.map((id) => n8n.exportWorkflow(id)));
    const database = n8n.databaseBytes();
    for (const secret of [UPSTREAM_SECRET, t.tokens.prod.token]) {
      expect(cliOutput.join('\n')).not.toContain(secret);
      expect(exported.join('\n')).not.toContain(secret);
      expect(database.includes(Buffer.from(secret))).toBe(false);
    }
    // The workflow refers to the credential by id only.
    expect(exported[0]).toContain(CREDENTIAL.id);
    // The proof is only worth something if the database does hold execution data.
    expect(database.includes(Buffer.from('no such resource /api/nope'))).toBe(true);
  });
});
