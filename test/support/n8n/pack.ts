/**
 * `npm pack` for the end-to-end tests: the tarball is what an admin installs, so the tests load
 * exactly the files that `files` in package.json ships.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, pathWithNode } from './locate';
import { runCommand } from './processes';
import { tempRoot } from './session';

/**
 * Packs the package in `dir` into `destination` (default: a new folder in the e2e session, which
 * is removed after the run) and returns the .tgz path. Lifecycle scripts are skipped: the test scripts
 * build before the tests run.
 */
export async function packDirectory(dir: string, destination?: string): Promise<string> {
  const dest = destination ?? mkdtempSync(join(tempRoot(), 'pack-'));
  const result = await runCommand('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: dir,
    env: npmEnv(),
  });
  if (result.code !== 0) throw new Error(`npm pack in ${dir} failed (${result.code}):\n${result.stderr}`);
  const [packed] = JSON.parse(result.stdout) as Array<{ filename: string }>;
  return join(dest, packed.filename);
}

/** Packs this repository's community package (n8n-nodes-secure-proxy); run `npm run build` first. */
export function packPackage(): Promise<string> {
  return packDirectory(REPO_ROOT);
}

/**
 * The environment for a nested npm: without the npm_* variables an enclosing `npm run` sets
 * (prefix, lifecycle and package fields would leak into the nested command), but keeping the
 * user's npm configuration files and registry.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_') || keep.has(key)) env[key] = value;
  }
  return { ...env, PATH: pathWithNode(), npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}
