/**
 * Per-workflow rules and service limits change without a restart and without dropping a
 * request: SIGHUP to a running `secure-proxy serve` applies new rules and limits while
 * requests of the old configuration finish and keep their in-flight slots, and the bucket is
 * not refilled; rules in Vault token records, written with `secure-proxy token create|grant
 * --workflows`, reach a running replica with its next refresh.
 */
import { writeFileSync } from 'node:fs';
import request from 'supertest';
import { generateToken } from '../../proxy/src/auth/token-format';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { eventually, waitFor } from '../support/secrets-harness';
import { createServeFolder, expectOutputHides, startServe, stopServe, waitForOutput, type ServeFolder, type ServeProcess } from '../support/serve-process';
import { RECORDS_PATH, setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { describeEmulatorOnly, vaultCall } from '../support/vault-setup';

const SECRET = canary('attribution-reload');
jest.setTimeout(180_000);

describeEmulatorOnly('per-workflow rules and service limits across a SIGHUP reload', () => {
  let harness: ProxyHarness;
  let folder: ServeFolder;
  let proc: ServeProcess;
  let url: string;
  const token = generateToken();

  /** The config file (JSON is YAML): `narrowMax` caps `narrow`, `rules` narrows the client's services. */
  function writeConfig(narrowMax: number, rules: Record<string, string[]> | undefined): void {
    const service = (path: string, limits?: object) => ({
      target: `${harness.upstream.url}/${path}`,
      secret: 'svc/echo',
      inject: { type: 'bearer' },
      ...(limits === undefined ? {} : { limits }),
    });
    const config = {
      listen: { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 30000 },
      logging: { level: 'info' },
      vault: {
        address: harness.vault.address,
        auth: { method: 'approle', roleId: '${VAULT_ROLE_ID}', secretId: '${VAULT_SECRET_ID}', mount: harness.approleMount },
        kvMount: harness.mount,
      },
      clients: { 'n8n-prod': { tokenHashes: [token.hash], services: ['narrow', 'metered', 'payments'], ...(rules === undefined ? {} : { workflows: rules }) } },
      services: {
        narrow: service('narrow', { maxConcurrent: narrowMax }),
        // One token per 1000 s: only the burst is ever available during the test.
        metered: service('metered', { requestsPerSecond: 0.001, burst: 2 }),
        payments: service('payments'),
      },
    };
    writeFileSync(folder.configFile, JSON.stringify(config, null, 2));
  }

  const get = (path: string, workflowId?: string) => {
    const req = request(url).get(path).set('authorization', `Bearer ${token.token}`);
    return workflowId === undefined ? req : req.set('x-secure-proxy-workflow-id', workflowId);
  };

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    folder = createServeFolder(harness, 'sp-attribution-reload-');
    writeConfig(2, undefined);
    ({ proc, url } = await startServe(harness, folder.configFile));
  });

  afterAll(async () => {
    await stopServe(proc);
    await harness?.close();
    folder?.remove();
  });

  afterEach(() => expectOutputHides(proc, [SECRET, token.token, harness.appRole.secretId]));

  it('applies new rules and limits at once, keeps the old requests and their slots, and does not refill the bucket', async () => {
    // Before: the bucket's burst is used up, two requests hold both slots, every workflow may use payments.
    expect((await get('/forward/metered/a')).status).toBe(200);
    expect((await get('/forward/metered/b')).status).toBe(200);
    expect((await get('/forward/metered/c')).headers[ERROR_HEADER]).toBe('SERVICE_RATE_LIMITED');
    const started = harness.upstream.started();
    const old = [0, 1].map(() => get('/forward/narrow/slow/12000').then((res) => res.status));
    await waitFor('two requests of the old configuration at the upstream', () => harness.upstream.started() >= started + 2, 30_000);
    expect((await get('/forward/narrow/x')).headers[ERROR_HEADER]).toBe('SERVICE_RATE_LIMITED');
    expect((await get('/forward/payments/x', 'wfB')).status).toBe(200);

    writeConfig(3, { payments: ['wfA'] });
    proc.child.kill('SIGHUP');
    await waitForOutput(proc, /"msg":"configuration reloaded[^\n]*"generation":2,/);

    // Limits: one more slot, the two old requests still hold theirs; the bucket stayed empty.
    const third = get('/forward/narrow/slow/1000').then((res) => res.status);
    await waitFor('the new request at the upstream', () => harness.upstream.started() >= started + 3, 30_000);
    const fourth = await get('/forward/narrow/x');
    expect(fourth.status).toBe(429);
    expect(fourth.body.error.message).toContain('at most 3 requests in flight');
    expect((await get('/forward/metered/d')).headers[ERROR_HEADER]).toBe('SERVICE_RATE_LIMITED');

    // Rules: payments is now for wfA only.
    const refused = await get('/forward/payments/x', 'wfB');
    expect(refused.status).toBe(403);
    expect(refused.headers[ERROR_HEADER]).toBe('WORKFLOW_NOT_ALLOWED');
    expect(refused.body.error.message).toContain('clients.n8n-prod.workflows.payments in the proxy config');
    expect((await get('/forward/payments/x', 'wfA')).status).toBe(200);

    // Nothing in flight was dropped, and finished requests gave their slots back.
    expect(await Promise.all([...old, third])).toEqual([200, 200, 200]);
    expect((await get('/forward/narrow/x')).status).toBe(200);
    await waitForOutput(proc, new RegExp(`"msg":"request"[^\\n]*"requestId":"${refused.headers['x-request-id']}"[^\\n]*"workflowId":"wfB"`));
  });
});

describe('per-workflow rules in Vault token records', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  let replica: TestProxy;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    store = await setUpTokenStore(harness, {
      services: { payments: { target: `${harness.upstream.url}/payments`, secret: 'svc/echo', inject: { type: 'bearer' } } },
    });
    replica = await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
  });

  afterAll(async () => {
    await store?.close();
    await harness?.close();
    expectNothingHidden([store.stderrs.join('\n'), replica.logs.text()], [...store.issued, SECRET, store.adminToken]);
  });

  const forward = (token: string, workflowId?: string) => {
    const req = request(replica.proxy.app).get('/forward/payments/charges').set('authorization', `Bearer ${token}`);
    return workflowId === undefined ? req : req.set('x-secure-proxy-workflow-id', workflowId);
  };

  it('create --workflows narrows the service; grant --workflows widens the list; "service=" opens it again', async () => {
    const token = await store.issue(['create', '--client', 'n8n-wf', '--services', 'echo', '--workflows', 'payments=wfA']);
    const record = await vaultCall(harness.vault, 'GET', `${harness.mount}/data/${RECORDS_PATH}/n8n-wf`);
    expect(record.data.data).toMatchObject({ services: ['echo', 'payments'], workflows: { payments: ['wfA'] } });

    expect((await forward(token, 'wfA')).status).toBe(200);
    const refused = await forward(token, 'wfB');
    expect(refused.status).toBe(403);
    expect(refused.headers[ERROR_HEADER]).toBe('WORKFLOW_NOT_ALLOWED');
    expect(refused.body.error.message).toBe(
      "Client 'n8n-wf' may use service 'payments' only from one listed workflow (workflows.payments in the client's token record in Vault); this request came from workflow 'wfB'.",
    );
    expect((await forward(token)).headers[ERROR_HEADER]).toBe('WORKFLOW_NOT_ALLOWED');
    // The other service of the client has no rule.
    expect((await request(replica.proxy.app).get('/forward/echo/x').set('authorization', `Bearer ${token}`)).status).toBe(200);

    const widened = await store.cli(['grant', '--client', 'n8n-wf', '--workflows', 'payments=wfA,wfB']);
    expect(widened.code).toBe(0);
    expect(widened.stderr).toContain('  workflows: payments=wfA → payments=wfA,wfB\n');
    expect(await eventually(async () => (await forward(token, 'wfB')).status === 200)).toBe(true);

    const opened = await store.cli(['grant', '--client', 'n8n-wf', '--workflows', 'payments=']);
    expect(opened.code).toBe(0);
    expect(opened.stderr).toContain('  workflows: payments=wfA,wfB → (none: any workflow)\n');
    expect(await eventually(async () => (await forward(token)).status === 200)).toBe(true);
    const after = await vaultCall(harness.vault, 'GET', `${harness.mount}/data/${RECORDS_PATH}/n8n-wf`);
    expect(after.data.data).not.toHaveProperty('workflows');
  });

  it('refuses a malformed workflow id in --workflows before Vault is touched (exit 2)', async () => {
    const bad = await store.cli(['grant', '--client', 'n8n-wf', '--workflows', 'payments=not an id']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--workflows payments: "not an id" is not a workflow id');
  });
});
