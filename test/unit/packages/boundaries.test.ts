/**
 * The seams between the repository's packages, checked on the sources: the n8n package
 * imports nothing of the proxy and nothing at run time but n8n-workflow (its peer: verified
 * community packages have no dependencies); the proxy imports nothing of dev mode, the Vault
 * emulator or the n8n package (dev mode is loaded by name, only when present).
 */
import { readdirSync, readFileSync } from 'node:fs';
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

  it('finds the imports it checks (the scan itself works)', () => {
    expect(specifiers('proxy/src/cli.ts')).toEqual(expect.arrayContaining(['commander', './app/run']));
    expect(specifiers('nodes/SecureProxyRequest/SecureProxyRequest.node.ts')).toContain('n8n-workflow');
  });
});
