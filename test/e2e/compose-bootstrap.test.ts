/**
 * The compose trial's bootstrap (deploy/compose/bootstrap/bootstrap.mjs) end to end, without
 * compose: against the Vault emulator and a real n8n 2.41.1 that has the packed node package
 * (as a custom image would; the registry install runs only when n8n lacks it). After it, the
 * proxy started with the compose config and the AppRole credentials the bootstrap wrote
 * serves the workflow it created: the Secure Proxy Request node runs and the API receives
 * the Vault secret.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../support/cli';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';
import { createN8nInstance, outputItems, packPackage, type N8nInstance } from '../support/n8n-harness';
import { deadPort, waitFor } from '../support/secrets-harness';
import { describeEmulatorOnly, vaultCall } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

const ROOT = join(__dirname, '../..');

function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

describeEmulatorOnly('the compose bootstrap with a real n8n', () => {
  let vault: VaultTarget;
  let upstream: EchoUpstream;
  let n8n: N8nInstance;
  let folder: string;

  beforeAll(async () => {
    vault = await startVaultTarget();
    upstream = await startEchoUpstream();
    folder = mkdtempSync(join(tmpdir(), 'compose-bootstrap-'));
    n8n = await createN8nInstance();
    await n8n.installCommunityPackage(await packPackage());
    await n8n.start();
  }, 600_000);

  afterAll(async () => {
    await n8n?.close();
    await upstream?.close();
    await vault?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('ends with a workflow whose Secure Proxy Request node reaches the API with the Vault secret', async () => {
    // The compose config, with the sample API on loopback instead of the compose network.
    const config = join(folder, 'proxy.yaml');
    writeFileSync(config, readFileSync(join(ROOT, 'deploy/compose/proxy.yaml'), 'utf8').replace('http://echo-api:8080', upstream.url));
    const port = await deadPort();
    const owner = n8n.ownerLogin();
    const bootstrap = await runNode([join(ROOT, 'deploy/compose/bootstrap/bootstrap.mjs')], {
      VAULT_ADDR: vault.address,
      VAULT_TOKEN: vault.rootToken,
      BOOTSTRAP_OUT: folder,
      SECURE_PROXY_CONFIG: config,
      SECURE_PROXY_CLI: CLI_PATH,
      PROXY_URL: `http://127.0.0.1:${port}`,
      N8N_URL: n8n.baseUrl,
      N8N_OWNER_EMAIL: owner.email,
      N8N_OWNER_PASSWORD: owner.password,
    });
    expect(bootstrap).toEqual({ status: 0, output: expect.stringContaining('created the workflow "Secure Proxy trial"') });
    expect(bootstrap.output).toContain('n8n already has the package');

    const credentials = Object.fromEntries(
      readFileSync(join(folder, 'proxy.env'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    const proxy = spawn(process.execPath, [CLI_PATH, 'serve', '--config', config], {
      env: { PATH: process.env.PATH, VAULT_ADDR: vault.address, SECURE_PROXY_HOST: '127.0.0.1', SECURE_PROXY_PORT: String(port), ...credentials },
    });
    let proxyOutput = '';
    proxy.stdout.on('data', (chunk: Buffer) => (proxyOutput += chunk.toString()));
    const stopped = new Promise((resolve) => proxy.on('close', resolve));
    try {
      await waitFor('the proxy to listen', () => proxyOutput.includes('"msg":"proxy listening"') || proxy.exitCode !== null, 60_000, 100);
      const apiKey = await n8n.createOwnerAndApiKey();
      const listed = await n8n.api(apiKey, 'GET', `/workflows?name=${encodeURIComponent('Secure Proxy trial')}`);
      const [workflow] = (listed.body as { data: Array<{ id: string }> }).data;
      const result = await n8n.execute(workflow.id);
      expect({ code: result.code, error: result.run?.data.resultData.error }).toEqual({ code: 0, error: undefined });
      expect(outputItems(result, 'Secure Proxy Request')).toHaveLength(1);

      const secret = (await vaultCall(vault, 'GET', 'secret/data/secure-proxy/services/echo')).data.data.token as string;
      expect(upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
      expect(upstream.received.at(-1)?.url).toBe('/hello');
      expect(bootstrap.output).not.toContain(secret);
    } finally {
      proxy.kill('SIGTERM');
      await stopped;
    }
  }, 600_000);
});
