import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { cleanEnv, runCli } from '../support/cli';

describe('secure-proxy command line', () => {
  it('prints help naming serve --config and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/serve/);
    const serveHelp = await runCli(['serve', '--help']);
    expect(serveHelp.stdout).toMatch(/-c, --config <file>/);
  });

  it('exits 2 with every bad field named when the config is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'vault: { auth: { method: token, token: x } }\nclients: {}\nservices:\n  echo: { target: "nope", secret: a/b, inject: { type: bearer } }\n',
    );
    const result = await runCli(['serve', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('vault.address: is required');
    expect(result.stderr).toContain('services.echo.target: target must be an absolute http(s) URL, got "nope"');
  });

  it('exits 2 when the config file does not exist', async () => {
    const result = await runCli(['serve', '--config', '/nonexistent/proxy.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\/nonexistent\/proxy\.yaml[\s\S]*ENOENT/);
  });

  it('exits 2 on an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: unknown command 'frobnicate'");
    expect(result.stderr).not.toContain('Did you mean');
  });

  it('suggests the closest command for a typo instead of passing it to serve (exit 2), at every level', async () => {
    const check = await runCli(['chek', '--config', '/nonexistent/proxy.yaml']);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain("error: unknown command 'chek'\n(Did you mean check?)");
    expect(check.stderr).not.toContain('too many arguments');
    const grant = await runCli(['token', 'grnat']);
    expect(grant.code).toBe(2);
    expect(grant.stderr).toContain('(Did you mean grant?)');
  });

  it('still runs serve without a command: with --config first, and with nothing but SECURE_PROXY_CONFIG', async () => {
    // serve reads the file: a missing one is its config error (exit 2), not a usage error about commands.
    const flagged = await runCli(['--config', '/nonexistent/proxy.yaml']);
    expect(flagged.code).toBe(2);
    expect(flagged.stderr).toMatch(/Invalid configuration \(\/nonexistent\/proxy\.yaml\)[\s\S]*ENOENT/);
    const bare = await runCli([], { env: cleanEnv({ SECURE_PROXY_CONFIG: '/nonexistent/other.yaml' }) });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/Invalid configuration \(\/nonexistent\/other\.yaml\)[\s\S]*ENOENT/);
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('says VAULT_ADDR and VAULT_TOKEN can fill a config without Vault settings, and suggests mistyped fields', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-cli-'));
    const file = join(dir, 'novault.yaml');
    writeFileSync(file, 'servces: {}\nservices:\n  echo: { target: "http://127.0.0.1:9", secret: a/b, inject: { type: bearer, feild: token } }\n');
    const result = await runCli(['check', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('vault.address: is required: set it in the config file, or set VAULT_ADDR');
    expect(result.stderr).toContain('vault.auth: is required: set it in the config file ({method: token | approle | kubernetes, ...}), or set VAULT_TOKEN');
    expect(result.stderr).toContain('(top level): unknown field "servces" (did you mean "services"?)');
    expect(result.stderr).toContain('services.echo.inject: unknown field "feild" (did you mean "field"?)');
  });

  it('generates a token whose printed hash matches, and hashes a token from stdin', async () => {
    const generated = await runCli(['token', 'generate', '--client', 'n8n-prod']);
    expect(generated.code).toBe(0);
    const token = /^token: (spt_\S+)$/m.exec(generated.stdout)![1];
    const expected = `sha256:${createHash('sha256').update(token).digest('hex')}`;
    expect(generated.stdout).toContain(`hash: "${expected}"`);
    const hashed = await runCli(['token', 'hash'], { input: `${token}\n` });
    expect(hashed.stdout.trim()).toBe(expected);
    expect((await runCli(['token', 'hash'], { input: '' })).code).toBe(2);
  });
});
