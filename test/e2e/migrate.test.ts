/**
 * The migrator, end to end, inside a real n8n 2.x: a workflow whose HTTP Request node holds a
 * pasted API key is scanned, rewritten with --to-vault (the key goes into Vault, the node
 * becomes a Secure Proxy Request node), imported with `n8n import:workflow`, and run through
 * the proxy, configured with the services snippet the rewrite printed. The API receives the
 * key, now from Vault; n8n never holds it again.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { cleanEnv, runCli } from '../support/cli';
import { createN8nInstance, outputItems, packPackage, type N8nInstance } from '../support/n8n-harness';
import { listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';
import { vaultFetch } from '../support/vault-setup';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A fake GitHub-format token, built at run time: the pasted key of the legacy workflow. */
const PASTED_KEY = ['gh', 'p_', Array.from({ length: 36 }, () => ALNUM[randomInt(ALNUM.length)]).join('')].join('');
const CREDENTIAL = { id: 'spCredMigrate001', name: 'Secure Proxy (prod)' };

/** An API on loopback that answers only with the right key. */
function startApi(): Promise<{ url: string; host: string; authorizations: string[]; close(): Promise<void> }> {
  const authorizations: string[] = [];
  const server = http.createServer((req, res) => {
    authorizations.push(String(req.headers.authorization ?? ''));
    const ok = req.headers.authorization === `Bearer ${PASTED_KEY}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { path: req.url, repos: [{ name: 'app' }] } : { message: 'bad credential' }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({ url: `http://${host}`, host, authorizations, close: () => new Promise<void>((done) => server.close(() => done())) });
    }),
  );
}

/** The legacy workflow: an HTTP Request node with the key pasted into its Authorization header. */
function legacyWorkflow(id: string, apiUrl: string): Record<string, unknown> {
  return {
    id,
    name: 'Legacy: repos with a pasted key',
    nodes: [
      { id: 'n1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
      {
        id: 'n2',
        name: 'List repos',
        type: 'n8n-nodes-base.httpRequest',
        typeVersion: 4.2,
        position: [220, 0],
        parameters: {
          url: `${apiUrl}/api/orgs/acme/repos?type=public`,
          sendHeaders: true,
          headerParameters: {
            parameters: [
              { name: 'Accept', value: 'application/json' },
              { name: 'Authorization', value: `Bearer ${PASTED_KEY}` },
            ],
          },
          options: {},
        },
      },
    ],
    connections: { Start: { main: [[{ node: 'List repos', type: 'main', index: 0 }]] } },
    settings: { executionOrder: 'v1' },
    active: false,
  };
}

describe('migrate rewrite inside a real n8n', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let harness: ProxyHarness;
  let t: TestProxy | undefined;
  let listener: ProxyListener | undefined;
  let n8n: N8nInstance;
  let scratch: string;

  beforeAll(async () => {
    api = await startApi();
    harness = await startHarness({});
    scratch = mkdtempSync(join(tmpdir(), 'migrate-e2e-'));
    n8n = await createN8nInstance();
    await n8n.installCommunityPackage(await packPackage());
  });

  afterAll(async () => {
    await n8n?.close();
    await listener?.close();
    await t?.proxy.stop();
    await Promise.all([harness?.close(), api?.close()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('scans, rewrites into Vault, imports and runs through the proxy', async () => {
    const legacy = legacyWorkflow('WlegacyPasted001', api.url);
    const legacyFile = join(scratch, 'legacy.json');
    writeFileSync(legacyFile, JSON.stringify(legacy, null, 2));
    writeFileSync(join(scratch, 'services.yaml'), `"${api.host}": { service: repos, target: "${api.url}/api", secret: svc/repos }\n`);

    const scan = await runCli(['migrate', 'scan', legacyFile, '--json']);
    expect(scan.code).toBe(1);
    expect(JSON.parse(scan.stdout).findings).toEqual([expect.objectContaining({ node: 'List repos', kind: 'github-token', location: 'header' })]);

    const rewrite = await runCli(
      [
        'migrate',
        'rewrite',
        legacyFile,
        '--services',
        join(scratch, 'services.yaml'),
        '--out',
        join(scratch, 'out'),
        '--to-vault',
        '--kv-mount',
        harness.mount,
        '--credential-name',
        CREDENTIAL.name,
      ],
      { env: { ...cleanEnv(), VAULT_ADDR: harness.vault.address, VAULT_TOKEN: harness.vault.rootToken } },
    );
    expect(rewrite.code).toBe(0);
    for (const text of [scan.stdout, scan.stderr, rewrite.stdout, rewrite.stderr]) expect(text).not.toContain(PASTED_KEY);
    const stored = await vaultFetch(harness.vault, 'GET', `${harness.mount}/data/svc/repos`);
    expect(stored.body.data.data).toEqual({ token: PASTED_KEY });

    const rewrittenText = readFileSync(join(scratch, 'out', 'legacy.json'), 'utf8');
    expect(rewrittenText).not.toContain(PASTED_KEY);

    // The proxy runs with exactly the services the rewrite printed.
    const snippet = parseYaml(rewrite.stdout.slice(rewrite.stdout.indexOf('services:'))) as { services: Record<string, unknown> };
    t = await startProxy(harness, (_base, token) => ({
      clients: { 'n8n-prod': { tokenHashes: [token('prod').hash], services: ['repos'] } },
      services: snippet.services as never,
    }));
    listener = await listenProxy(t);
    await n8n.importCredentials([{ ...CREDENTIAL, type: 'secureProxyApi', data: { url: listener.url, token: t.tokens.prod.token } }]);

    const id = await n8n.importWorkflow(JSON.parse(rewrittenText) as Record<string, unknown>);
    const before = api.authorizations.length;
    const result = await n8n.execute(id);
    expect(result.code).toBe(0);
    expect(outputItems(result, 'List repos')).toEqual([{ path: '/api/orgs/acme/repos?type=public', repos: [{ name: 'app' }] }]);
    expect(api.authorizations.slice(before)).toEqual([`Bearer ${PASTED_KEY}`]);

    // What n8n holds now: a Secure Proxy Request node bound to the imported credential, no key.
    const exported = await n8n.exportWorkflow(id);
    expect(exported).not.toContain(PASTED_KEY);
    const node = (JSON.parse(exported) as Array<{ nodes: Array<{ name: string; type: string; credentials?: unknown }> }>)[0].nodes.find(
      (n) => n.name === 'List repos',
    );
    expect(node).toMatchObject({ type: 'n8n-nodes-secure-proxy.secureProxyRequest', credentials: { secureProxyApi: CREDENTIAL } });
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASTED_KEY);
  }, 600_000);

  it('scans the workflows of the running n8n through its public API: only the one still holding the key is reported', async () => {
    await n8n.importWorkflow({ ...legacyWorkflow('WlegacyPasted002', api.url), name: 'Legacy, not migrated yet' });
    const apiKey = await n8n.createOwnerAndApiKey(['workflow:list', 'workflow:read']);
    const scan = await runCli(['migrate', 'scan', '--n8n-url', n8n.baseUrl, '--json'], { env: { ...cleanEnv(), N8N_API_KEY: apiKey } });
    expect(scan.code).toBe(1);
    const findings = (JSON.parse(scan.stdout) as { findings: Array<Record<string, string>> }).findings;
    expect(findings).toEqual([
      expect.objectContaining({ workflowId: 'WlegacyPasted002', workflowName: 'Legacy, not migrated yet', node: 'List repos', kind: 'github-token' }),
    ]);
    for (const text of [scan.stdout, scan.stderr]) {
      expect(text).not.toContain(PASTED_KEY);
      expect(text).not.toContain(apiKey);
    }
  }, 600_000);
});
