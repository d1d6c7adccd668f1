import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runCli } from '../support/cli';

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
