/**
 * The seams between the repository's packages, checked on the sources: the n8n package
 * imports nothing of the proxy and nothing at run time but n8n-workflow (its peer: verified
 * community packages have no dependencies); the proxy imports nothing of dev mode, the Vault
 * emulator or the n8n package (dev mode is loaded by name, only when present); and the
 * command line loads the admin commands' actions only when one runs, so `serve` never has them
 * in its heap.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '../../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(dir, file));
}

/** Every module specifier a file imports, exports from, requires or loads dynamically. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm)) found.push(match[2]);
  return found;
}

/**
 * The proxy's modules a file loads as soon as it is loaded: its relative imports of values,
 * followed through every module they load. `import type` is erased, and a `require` inside a
 * function runs only when called, so neither counts.
 */
function loadedWith(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(ROOT, file), 'utf8');
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\bfrom\s*(['"])(\.[^'"]+)\1/gm)) {
    const path = target(file, match[2]) as string;
    loadedWith(existsSync(join(ROOT, `${path}.ts`)) ? `${path}.ts` : join(path, 'index.ts'), seen);
  }
  return seen;
}

/** Where a relative specifier points, relative to the repository root; null for a package name. */
function target(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return relative(ROOT, resolve(ROOT, dirname(file), specifier));
}

describe('package boundaries', () => {
  it('the n8n package (nodes/, credentials/) imports only itself, Node built-ins and n8n-workflow', () => {
    const offending: string[] = [];
    for (const file of [...sourceFiles('nodes'), ...sourceFiles('credentials')]) {
      for (const specifier of specifiers(file)) {
        const path = target(file, specifier);
        const allowed =
          path === null ? specifier === 'n8n-workflow' || specifier.startsWith('node:') : path.startsWith('nodes/') || path.startsWith('credentials/');
        if (!allowed) offending.push(`${file}: ${specifier}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('the proxy imports nothing of dev mode, the Vault emulator or the n8n package', () => {
    const offending: string[] = [];
    for (const file of sourceFiles('proxy/src')) {
      for (const specifier of specifiers(file)) {
        const path = target(file, specifier);
        if ((path !== null && !path.startsWith('proxy/src')) || specifier === 'secure-proxy-dev' || specifier.includes('vault-emulator')) {
          offending.push(`${file}: ${specifier}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('the command line loads no admin command action until one runs: serve holds only their flags and errors', () => {
    const loaded = [...loadedWith('proxy/src/cli.ts')];
    // The walk itself works: it reaches the serving code through cli.ts and run.ts.
    expect(loaded).toEqual(expect.arrayContaining(['proxy/src/app/run.ts', 'proxy/src/forward/exchange.ts', 'proxy/src/admin/tokens/cli-commands.ts']));
    const commandLineOnly = new Set(
      ['tokens/cli-commands', 'tokens/errors', 'vault-bootstrap/cli-command', 'vault-bootstrap/options', 'migrate/cli-commands', 'migrate/errors'].map(
        (name) => `proxy/src/admin/${name}.ts`,
      ),
    );
    expect(loaded.filter((file) => file.startsWith('proxy/src/admin/') && !commandLineOnly.has(file))).toEqual([]);
  });

  it('finds the imports it checks (the scan itself works)', () => {
    expect(specifiers('proxy/src/cli.ts')).toEqual(expect.arrayContaining(['commander', './app/run']));
    expect(specifiers('nodes/SecureProxyRequest/SecureProxyRequest.node.ts')).toContain('n8n-workflow');
  });
});
