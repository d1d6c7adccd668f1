/**
 * Finds the n8n the end-to-end tests run: `$N8N_BIN` when set (scripts/test-e2e.sh sets it),
 * otherwise scripts/install-n8n.sh installs it into the cache outside the clone (a no-op when
 * it is there already) and prints where.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '../../..');

let located: { script: string; nodeModules: string } | undefined;

/** The n8n entry script (node_modules/n8n/bin/n8n) and the node_modules folder that holds n8n. */
export function locateN8n(): { script: string; nodeModules: string } {
  if (located) return located;
  const bin = process.env.N8N_BIN || installN8n();
  if (!existsSync(bin)) throw new Error(`n8n not found at ${bin} (N8N_BIN or scripts/install-n8n.sh)`);
  const script = realpathSync(bin);
  located = { script, nodeModules: resolve(dirname(script), '../..') };
  return located;
}

function installN8n(): string {
  const stdout = execFileSync('bash', [join(REPO_ROOT, 'scripts/install-n8n.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 30 * 60_000,
  });
  return stdout.trim().split('\n').pop() ?? '';
}

/**
 * The Node.js that runs n8n: this process's own, which must be 24 or newer like n8n 2.x needs.
 * Its folder goes first on the children's PATH because n8n starts its task runner as `node`.
 */
export function nodeForN8n(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    throw new Error(`n8n 2.x needs Node.js 24+, these tests run on ${process.version}: use \`npm run test:e2e\` (scripts/test-e2e.sh)`);
  }
  return process.execPath;
}

/** PATH with the Node.js that runs the tests first. */
export function pathWithNode(): string {
  return [dirname(process.execPath), process.env.PATH].filter(Boolean).join(':');
}
