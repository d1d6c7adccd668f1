/**
 * A workflow builder's first hour, in n8n 2.41's real editor: headless Chromium logs in as the
 * owner, opens a workflow with the Secure Proxy Request node, checks the credential dialog,
 * loads the service list from the proxy, runs the node from the editor, then stops the proxy
 * and checks what the builder sees: the saved service still there, and the same clear text
 * as an execution's error (never "[object Object]"). Everything runs on loopback; failed steps
 * leave a screenshot in a temp folder named in the output.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Locator } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { createN8nInstance, packPackage, type N8nInstance } from '../support/n8n-harness';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';

const UPSTREAM_SECRET = canary('e2e-editor-upstream');
const CREDENTIAL = { id: 'spCredEditor0001', name: 'Secure Proxy (editor)' };
const NODE_TYPE = 'n8n-nodes-secure-proxy.secureProxyRequest';
/** A loaded 2-core machine: n8n's editor can take a while to answer. */
const STEP_TIMEOUT = 300_000;

function startApi(): Promise<{ url: string; authorizations: string[]; close(): Promise<void> }> {
  const authorizations: string[] = [];
  const server = http.createServer((req, res) => {
    authorizations.push(String(req.headers.authorization ?? ''));
    const ok = req.headers.authorization === `Bearer ${UPSTREAM_SECRET}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { items: [{ id: 11 }, { id: 12 }] } : { message: 'bad credential' }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        authorizations,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

const workflow = {
  name: 'Editor check',
  nodes: [
    { id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
    // A new node: version 2, no service chosen yet.
    {
      id: 'v2',
      name: 'Proxy',
      type: NODE_TYPE,
      typeVersion: 2,
      position: [240, 0],
      parameters: { method: 'GET', path: '/items' },
      credentials: { secureProxyApi: CREDENTIAL },
    },
    // A node saved with version 1, whose service is a plain string.
    {
      id: 'v1',
      name: 'Proxy v1',
      type: NODE_TYPE,
      typeVersion: 1,
      position: [240, 220],
      parameters: { service: 'api', method: 'GET', path: '/items' },
      credentials: { secureProxyApi: CREDENTIAL },
    },
  ],
  connections: { Start: { main: [[{ node: 'Proxy', type: 'main', index: 0 }]] } },
  settings: {},
  active: false,
};

describe("the builder's first hour in n8n's editor", () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let harness: ProxyHarness;
  let t: TestProxy;
  let proxyServer: http.Server;
  let proxyUrl: string;
  let n8n: N8nInstance;
  let apiKey: string;
  let workflowId: string;
  let browser: TestBrowser;
  /** The page's HTML at every checkpoint, searched for secrets at the end. */
  const pages: string[] = [];

  beforeAll(async () => {
    api = await startApi();
    harness = await startHarness({ 'svc/api': { token: UPSTREAM_SECRET } });
    t = await startProxy(harness, (_base, token) => ({
      clients: { 'n8n-prod': { tokenHashes: [token('prod').hash], services: ['api', 'reports'] } },
      services: {
        api: { target: `${api.url}/api`, secret: 'svc/api', inject: { type: 'bearer', field: 'token' }, description: 'Items API', methods: ['GET', 'POST'] },
        reports: { target: `${api.url}/reports`, secret: 'svc/api', inject: { type: 'bearer', field: 'token' }, description: 'Monthly reports, read-only' },
      },
    }));
    proxyServer = http.createServer(t.proxy.app);
    await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;

    n8n = await createN8nInstance();
    await n8n.installCommunityPackage(await packPackage());
    await n8n.importCredentials([{ ...CREDENTIAL, type: 'secureProxyApi', data: { url: proxyUrl, token: t.tokens.prod.token } }]);
    workflowId = await n8n.importWorkflow(workflow);
    apiKey = await n8n.createOwnerAndApiKey();
    browser = await launchBrowser();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await n8n?.close();
    if (proxyServer?.listening) await stopProxy();
    await t?.proxy.stop();
    await harness?.close();
    await api?.close();
  }, 120_000);

  async function stopProxy(): Promise<void> {
    const closed = new Promise<void>((resolve) => proxyServer.close(() => resolve()));
    proxyServer.closeAllConnections();
    await closed;
  }

  async function checkpoint(): Promise<void> {
    pages.push(await browser.page.content());
  }

  async function openWorkflow(): Promise<void> {
    const { page } = browser;
    await page.goto(`${n8n.baseUrl}/workflow/${workflowId}`);
    await page.locator('[data-test-id="canvas-node"][data-node-name="Proxy"]').waitFor();
  }

  async function openNode(name: string): Promise<void> {
    const { page } = browser;
    await page.locator(`[data-test-id="canvas-node"][data-node-name="${name}"]`).dblclick();
    await page.locator('[data-test-id="ndv"]').waitFor();
  }

  async function closeNode(): Promise<void> {
    const ndv = browser.page.locator('[data-test-id="ndv"]');
    // Escape in a dialog or dropdown above it may have closed the node already.
    if (await ndv.isVisible()) await browser.page.locator('[data-test-id="ndv-close-button"]').click();
    await ndv.waitFor({ state: 'hidden' });
  }

  /** Waits until an input shows `expected` (the editor shows "Loading options..." first), and returns what it showed. */
  async function valueOf(input: Locator, expected: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let value = await input.inputValue();
    while (value !== expected && Date.now() < deadline) {
      await browser.page.waitForTimeout(250);
      value = await input.inputValue();
    }
    return value;
  }

  /** The Service field of a version 2 node and its list. */
  const serviceInput = () => browser.page.locator('[data-test-id="resource-locator-service"] [data-test-id="rlc-input"]');

  async function savedProxyNode(): Promise<Record<string, unknown>> {
    const response = await n8n.api(apiKey, 'GET', `/workflows/${workflowId}`);
    const nodes = (response.body as { nodes: Array<{ name: string; parameters: Record<string, unknown> }> }).nodes;
    return nodes.find((node) => node.name === 'Proxy')!.parameters;
  }

  it(
    'logs in as the owner and opens the workflow',
    async () => {
      await browser.step('login', async () => {
        const { page } = browser;
        const owner = n8n.ownerLogin();
        await page.goto(`${n8n.baseUrl}/signin`);
        await page.locator('input[name="emailOrLdapLoginId"]').fill(owner.email);
        await page.locator('input[name="password"]').fill(owner.password);
        await page.locator('[data-test-id="form-submit-button"]').click();
        await page.waitForURL((url) => !url.pathname.startsWith('/signin'));
        await openWorkflow();
        await checkpoint();
      });
    },
    STEP_TIMEOUT,
  );

  it(
    'shows in the credential dialog that the token only works in the Secure Proxy Request node, and no "Allowed HTTP Request Domains: All"',
    async () => {
      await browser.step('credential', async () => {
        const { page } = browser;
        await openNode('Proxy');
        await page.locator('[data-test-id="credential-edit-button"]').click();
        const dialog = page.locator('[data-test-id="credential-edit-dialog"]');
        await dialog.getByText('This credential works only in the Secure Proxy Request node').waitFor();
        await dialog.locator('[data-test-id="credentials-config-container-test-success"]').waitFor();
        const text = await dialog.innerText();
        expect(text).not.toContain('Allowed HTTP Request Domains');
        expect(text).not.toContain('Allowed Domains');
        await checkpoint();
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'hidden' });
        await closeNode();
      });
    },
    STEP_TIMEOUT,
  );

  it(
    'loads the service list from the proxy, each service with its description, and picks one',
    async () => {
      await browser.step('service list', async () => {
        const { page } = browser;
        await openNode('Proxy');
        await serviceInput().click();
        const items = page.locator('[data-test-id="rlc-item"]');
        await items.first().waitFor();
        expect(await items.allInnerTexts()).toEqual(['api — Items API · GET, POST', 'reports — Monthly reports, read-only']);
        await checkpoint();
        await items.filter({ hasText: 'Items API' }).click();
        expect(await serviceInput().inputValue()).toBe('api — Items API · GET, POST');
      });
    },
    STEP_TIMEOUT,
  );

  it(
    'runs the node from the editor: the output, and a hint naming the proxy client',
    async () => {
      await browser.step('run', async () => {
        const { page } = browser;
        const before = api.authorizations.length;
        await page.locator('[data-test-id="ndv"] [data-test-id="node-execute-button"]').click();
        const output = page.locator('[data-test-id="output-panel"]');
        await output.locator('[data-test-id="node-run-status-success"]').waitFor();
        await output.locator('[data-test-id="radio-button-json"]').click();
        await output.getByText('"id": 11').waitFor();
        expect(await output.locator('[data-test-id="node-hint"]').innerText()).toContain(
          'Sent through the secure proxy as client "n8n-prod" (services: api, reports; token does not expire)',
        );
        expect(api.authorizations.slice(before)).toEqual([`Bearer ${UPSTREAM_SECRET}`]);
        await checkpoint();
        await closeNode();
        // Saved (n8n also saves by itself): the choice outlives the page.
        await page.keyboard.press('Control+s');
        const deadline = Date.now() + 60_000;
        while (JSON.stringify((await savedProxyNode()).service ?? null).indexOf('"value":"api"') < 0) {
          if (Date.now() > deadline) throw new Error(`the service choice was not saved: ${JSON.stringify(await savedProxyNode())}`);
          await page.waitForTimeout(500);
        }
        expect((await savedProxyNode()).service).toEqual({ __rl: true, mode: 'list', value: 'api', cachedResultName: 'api — Items API · GET, POST' });
      });
    },
    STEP_TIMEOUT,
  );

  it(
    'with the proxy down, keeps the saved service visible and says why, in the words of an execution',
    async () => {
      await stopProxy();
      const unreachable = `The secure proxy is unreachable at ${proxyUrl}: connection refused (ECONNREFUSED)`;
      const whatToDo = 'Check that the proxy is running and listens on that host and port';
      await browser.step('proxy down: version 2 list', async () => {
        const { page } = browser;
        await openWorkflow();
        await openNode('Proxy');
        expect(await valueOf(serviceInput(), 'api — Items API · GET, POST')).toBe('api — Items API · GET, POST');
        await serviceInput().click();
        const error = page.locator('[data-test-id="rlc-error-container"]');
        await error.getByText('Could not load list').waitFor();
        expect(await error.locator('[data-test-id="rlc-error-message"]').innerText()).toBe(unreachable);
        expect(await error.innerText()).toContain(whatToDo);
        expect(await page.locator('[data-test-id="ndv"]').innerText()).not.toContain('[object Object]');
        await checkpoint();
        await page.keyboard.press('Escape');
      });
      await browser.step('proxy down: execution', async () => {
        const { page } = browser;
        await page.locator('[data-test-id="ndv"] [data-test-id="node-execute-button"]').click();
        const output = page.locator('[data-test-id="output-panel"]');
        expect(await output.locator('[data-test-id="node-error-message"]').innerText()).toBe(unreachable);
        expect(await output.locator('[data-test-id="node-error-description"]').innerText()).toContain(whatToDo);
        expect(await serviceInput().inputValue()).toBe('api — Items API · GET, POST');
        await checkpoint();
        await closeNode();
      });
      await browser.step('proxy down: version 1 dropdown', async () => {
        const { page } = browser;
        await openNode('Proxy v1');
        const select = page.locator('[data-test-id="parameter-input-service"] input').first();
        expect(await valueOf(select, 'api')).toBe('api');
        await select.click();
        const entries = page.locator('[data-test-id="parameter-input-item"]').filter({ hasText: unreachable });
        await entries.first().waitFor();
        expect(await entries.first().innerText()).toContain(whatToDo);
        expect(await page.locator('[data-test-id="parameter-input-item"]').filter({ hasText: 'The saved service' }).innerText()).toMatch(/^api\b/);
        expect(await page.locator('[data-test-id="ndv"]').innerText()).not.toContain('[object Object]');
        await checkpoint();
        await page.keyboard.press('Escape');
        await closeNode();
      });
    },
    STEP_TIMEOUT,
  );

  it('never showed a secret, and the page talked to loopback only', () => {
    expect(pages.length).toBeGreaterThanOrEqual(6);
    for (const html of pages) {
      expect(html).not.toContain(t.tokens.prod.token);
      expect(html).not.toContain(UPSTREAM_SECRET);
    }
    // Everything else was aborted before it left the machine; say what n8n's editor tried.
    if (browser.blocked.length > 0) console.warn(`editor test: blocked non-loopback requests: ${browser.blocked.join(', ')}`);
  });
});
