/**
 * Token rotation pushed straight into a real n8n 2.x: the proxy reads its tokens from Vault
 * (tokenStore on the Vault emulator), n8n's "Secure Proxy API" credential holds token A, and
 * `secure-proxy token rotate --n8n-url … --n8n-credential-id …` (the built command, with an
 * API key made headlessly) writes token B into that credential through n8n's public API.
 * The same workflow then runs with B, A ends after the grace, and neither token shows up in
 * n8n's CLI output, exported workflows or database.
 */
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { DEFAULT_API_KEY_SCOPES, createN8nInstance, outputItems, packPackage, type ExecuteResult, type N8nInstance } from '../support/n8n-harness';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';

const SECRET = canary('e2e-rotation-upstream');
const CREDENTIAL = { id: 'spCredRotation01', name: 'Secure Proxy (rotation)' };
// Two executions, an API key, the rotate push and a credential export: five n8n boots, each of
// which has taken more than 30 s on a loaded 2-core machine. A deadline for a hang, not a pace.
const FIVE_N8N_COMMANDS_MS = 480_000;
const idOf = (token: string) => /^spt_([a-z0-9]+)_/.exec(token)![1];

const workflow = {
  name: 'rotation',
  nodes: [
    { id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
    {
      id: 'node',
      name: 'Proxy',
      type: 'n8n-nodes-secure-proxy.secureProxyRequest',
      typeVersion: 1,
      position: [220, 0],
      parameters: { service: 'echo', method: 'GET', path: '/rotation' },
      credentials: { secureProxyApi: CREDENTIAL },
    },
  ],
  connections: { Start: { main: [[{ node: 'Proxy', type: 'main', index: 0 }]] } },
  settings: {},
  active: false,
};

describe('token rotate --n8n-url against a real n8n', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  let t: TestProxy;
  let proxyServer: http.Server;
  let n8n: N8nInstance;
  let workflowId: string;
  let tokenA: string;
  let tokenB = '';
  let apiKey = '';
  const n8nOutput: string[] = [];

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    store = await setUpTokenStore(harness);
    t = await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    proxyServer = http.createServer(t.proxy.app);
    await new Promise<void>((resolve) => proxyServer.listen(0, '127.0.0.1', resolve));
    tokenA = await store.issue(['create', '--client', 'n8n-prod', '--services', 'echo']);

    n8n = await createN8nInstance();
    await n8n.installCommunityPackage(await packPackage());
    const proxyUrl = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;
    await n8n.importCredentials([{ ...CREDENTIAL, type: 'secureProxyApi', data: { url: proxyUrl, token: tokenA } }]);
    workflowId = await n8n.importWorkflow(workflow);
  });

  afterAll(async () => {
    await n8n?.close();
    await new Promise<void>((resolve) => (proxyServer ? proxyServer.close(() => resolve()) : resolve()));
    await store?.close();
    await harness?.close();
  });

  async function execute(): Promise<ExecuteResult> {
    const result = await n8n.execute(workflowId);
    n8nOutput.push(result.stdout, result.stderr);
    return result;
  }

  /** The token id on the audit line of the latest request to the echo service. */
  function lastTokenId(): unknown {
    return t.logs
      .entries()
      .filter((e) => e.msg === 'request' && e.service === 'echo')
      .at(-1)?.tokenId;
  }

  it(
    'runs the workflow with token A, then with token B after the CLI pushed B into the credential',
    async () => {
      const before = await execute();
      expect(before.code).toBe(0);
      expect(outputItems(before, 'Proxy')[0]).toMatchObject({ method: 'GET', url: '/base/rotation' });
      expect(lastTokenId()).toBe(idOf(tokenA));

      apiKey = await n8n.createOwnerAndApiKey(DEFAULT_API_KEY_SCOPES);
      const rotated = await store.cli(['rotate', '--client', 'n8n-prod', '--grace', '2s', '--n8n-url', n8n.baseUrl, '--n8n-credential-id', CREDENTIAL.id], {
        N8N_API_KEY: apiKey,
      });
      expect(rotated.stderr).not.toMatch(/^secure-proxy:/m);
      expect(rotated.code).toBe(0);
      // Pushed, so nothing secret on stdout; the id and expiry are on stderr.
      expect(rotated.stdout).toBe('');
      const id = /^created token ([a-z0-9]+) for client "n8n-prod" \(expires \S+; services: echo\)$/m.exec(rotated.stderr)?.[1];
      expect(id).toBeDefined();
      expect(rotated.stderr).toContain(
        `the token was written to n8n credential ${CREDENTIAL.id} at ${n8n.baseUrl} and is not shown again; n8n uses it from its next execution`,
      );
      expect(rotated.stderr).not.toContain(apiKey);

      const after = await execute();
      expect(after.code).toBe(0);
      expect(lastTokenId()).toBe(id);
      expect(lastTokenId()).not.toBe(idOf(tokenA));
      // The API received the Vault secret every time (at least twice: a run n8n itself crashed in is run again).
      const authorizations = harness.upstream.received.filter((r) => r.url === '/base/rotation').map((r) => r.headers.authorization);
      expect(authorizations.length).toBeGreaterThanOrEqual(2);
      expect(new Set(authorizations)).toEqual(new Set([`Bearer ${SECRET}`]));

      // The credential's other fields survived the partial update, and it holds the new token.
      const exportFile = join(n8n.userFolder, 'credential-export.json');
      expect((await n8n.cli(['export:credentials', `--id=${CREDENTIAL.id}`, '--decrypted', `--output=${exportFile}`])).code).toBe(0);
      const data = (JSON.parse(readFileSync(exportFile, 'utf8')) as Array<{ data: { url: string; token: string } }>)[0].data;
      rmSync(exportFile);
      expect(data.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(idOf(data.token)).toBe(id);
      tokenB = data.token;
    },
    FIVE_N8N_COMMANDS_MS,
  );

  it('token A ends with the grace: PROXY_TOKEN_EXPIRED from the proxy', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const res = await request(t.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${tokenA}`);
    expect(res.status).toBe(401);
    expect(res.headers[ERROR_HEADER]).toBe('PROXY_TOKEN_EXPIRED');
    expect(res.body.error.source).toBe('proxy');
  });

  it('a credential id n8n does not have stops the push before Vault changes', async () => {
    expect(apiKey).not.toBe('');
    const result = await store.cli(['rotate', '--client', 'n8n-prod', '--n8n-url', n8n.baseUrl, '--n8n-credential-id', 'doesNotExist0001'], {
      N8N_API_KEY: apiKey,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // n8n 2.41.1 refuses GET /credentials/{id} to API keys (no credential:read scope), so the list is searched.
    expect(result.stderr).toBe(
      'secure-proxy: n8n has no credential with id doesNotExist0001 (looked through its credential list); check --n8n-credential-id; nothing was changed: no token was issued and Vault is untouched\n',
    );
  });

  it('keeps both tokens and the API secret out of n8n CLI output, the exported workflow and the database', async () => {
    expect(tokenB).toMatch(/^spt_/);
    const exported = await n8n.exportWorkflow(workflowId);
    const database = n8n.databaseBytes();
    for (const secret of [tokenA, tokenB, SECRET]) {
      expect(n8nOutput.join('\n')).not.toContain(secret);
      expect(exported).not.toContain(secret);
      expect(database.includes(Buffer.from(secret))).toBe(false);
      expect(store.stderrs.join('\n')).not.toContain(secret);
      expect(t.logs.text()).not.toContain(secret);
    }
    expect(exported).toContain(CREDENTIAL.id);
    // The leak check means something only if the database holds execution data.
    expect(database.includes(Buffer.from('/base/rotation'))).toBe(true);
  });
});
