/**
 * What the proxy's npm package holds (`npm pack` of proxy/, after `npm run build`): the built
 * command and library, the example config, the config's JSON Schema, the Vault policies, README and LICENSE; no sources, tests or dev mode,
 * and nothing of the Vault emulator, which lives in the private dev/ package.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

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
