/**
 * The compose trial's bootstrap (deploy/compose/bootstrap/bootstrap.mjs), Vault half, against
 * the Vault emulator: it leaves a Vault in which the compose proxy config passes
 * `secure-proxy check` with the AppRole credentials it wrote (login, policy, the sample
 * secret, the token record of client n8n-trial), and it prints no secret id or token.
 * The n8n half (package install, credential, workflow) runs only inside compose: no container
 * engine runs here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../support/cli';
import { describeEmulatorOnly } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

const ROOT = join(__dirname, '../..');
const CONFIG = join(ROOT, 'deploy/compose/proxy.yaml');

/** Runs a Node.js script to its end without blocking this process, which hosts the Vault emulator. */
function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describeEmulatorOnly('the compose bootstrap against Vault', () => {
  let vault: VaultTarget;
  let out: string;

  beforeAll(async () => {
    vault = await startVaultTarget();
    out = mkdtempSync(join(tmpdir(), 'bootstrap-'));
  });

  const bootstrap = () =>
    runNode([join(ROOT, 'deploy/compose/bootstrap/bootstrap.mjs')], {
      VAULT_ADDR: vault.address,
      VAULT_TOKEN: vault.rootToken,
      BOOTSTRAP_OUT: out,
      SECURE_PROXY_CONFIG: CONFIG,
      SECURE_PROXY_CLI: CLI_PATH,
    });

  afterAll(async () => {
    rmSync(out, { recursive: true, force: true });
    await vault?.close();
  });

  it('writes what the compose proxy needs, and `secure-proxy check` passes with it', async () => {
    const run = await bootstrap();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('bootstrap: done') });

    const file = join(out, 'proxy.env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = Object.fromEntries(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    expect(Object.keys(written)).toEqual(['VAULT_ROLE_ID', 'VAULT_SECRET_ID']);
    expect(run.stdout + run.stderr).not.toContain(written.VAULT_SECRET_ID);
    expect(run.stdout + run.stderr).not.toMatch(/spt_/);

    const check = await runNode([CLI_PATH, 'check', '--config', CONFIG, '--json'], { VAULT_ADDR: vault.address, ...written });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    const report = JSON.parse(check.stdout);
    expect(report.services).toEqual([expect.objectContaining({ name: 'echo', ok: true })]);
    expect(JSON.stringify(report.tokenStore)).toContain('n8n-trial');
  });

  it('runs again on the same Vault (compose restarts it) and keeps working', async () => {
    const again = await bootstrap();
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('bootstrap: done') });
  });
});
