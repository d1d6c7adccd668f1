/**
 * What the proxy's npm package holds (`npm pack` of proxy/, after `npm run build`): the built
 * command and library, the example config, the config's JSON Schema, the Vault policies, README
 * and LICENSE; no sources, tests or dev mode, and nothing of the Vault emulator, which lives in
 * the private dev/ package. Installed from its tarball into an empty folder, the command prints
 * its version and serves.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadPort, waitFor } from '../support/secrets-harness';

const ROOT = join(__dirname, '../..');

function packedFiles(): string[] {
  const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--workspace', 'proxy'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`npm pack failed: ${result.stderr}`);
  const [packed] = JSON.parse(result.stdout) as Array<{ files: Array<{ path: string }> }>;
  return packed.files.map((file) => file.path).sort();
}

describe('the proxy package', () => {
  const files = packedFiles();

  it('ships the command, the library entry, the example config, the JSON Schema, the Vault policies, README and LICENSE', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/cli.js',
        'dist/index.js',
        'dist/index.d.ts',
        'examples/proxy.yaml',
        'schema/proxy-config.schema.json',
        'README.md',
        'LICENSE',
        'package.json',
      ]),
    );
  });

  it('ships only built files and its own documents: no sources, tests or dev mode', () => {
    const unexpected = files.filter(
      (file) =>
        !/^(dist\/.+\.(js|d\.ts|js\.map)|examples\/.+\.yaml|schema\/[a-z-]+\.schema\.json|policies\/[a-z-]+\.hcl|README\.md|LICENSE|package\.json)$/.test(file),
    );
    expect(unexpected).toEqual([]);
    expect(files.filter((file) => /emulator|sample-upstream|dev-mode\.js$/.test(file) && !file.startsWith('dist/cli/'))).toEqual([]);
  });
});

describe('the packed proxy, installed into an empty folder', () => {
  let folder: string;
  let installed: { status: number | null; output: string };

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'proxy-package-'));
    const packed = spawnSync('npm', ['pack', '--workspace', 'proxy', '--pack-destination', folder, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
    const [{ filename }] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    // As a user would: only the tarball and the registry, production dependencies only.
    const install = spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(folder, filename)], {
      cwd: folder,
      encoding: 'utf8',
      timeout: 300_000,
    });
    installed = { status: install.status, output: install.stdout + install.stderr };
  }, 420_000);

  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('installs, and `secure-proxy --version` prints the package version', () => {
    expect(installed).toEqual(expect.objectContaining({ status: 0 }));
    const version = spawnSync(join(folder, 'node_modules/.bin/secure-proxy'), ['--version'], { cwd: folder, encoding: 'utf8', timeout: 60_000 });
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'proxy/package.json'), 'utf8')) as { version: string }).version);
    expect(version.status).toBe(0);
  });

  it('serves from there: /healthz answers, and SIGTERM stops it with exit 0', async () => {
    const port = await deadPort();
    const config = join(folder, 'proxy.yaml');
    // Vault is not reachable on purpose: the proxy listens anyway and is alive, not ready.
    writeFileSync(
      config,
      `listen: { host: 127.0.0.1, port: ${port} }\nvault: { address: "http://127.0.0.1:1", auth: { method: token, token: "\${VAULT_TOKEN}" } }\nservices: {}\n`,
    );
    const serve = spawn(join(folder, 'node_modules/.bin/secure-proxy'), ['serve', '--config', config], {
      cwd: folder,
      env: { PATH: process.env.PATH, VAULT_TOKEN: 'not-a-real-token' },
    });
    let output = '';
    serve.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    serve.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => serve.on('close', resolve));
    try {
      await waitFor('the installed proxy to listen', () => output.includes('"msg":"proxy listening"') || serve.exitCode !== null, 60_000, 100);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    } finally {
      serve.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(output).not.toContain('not-a-real-token');
  });
});
