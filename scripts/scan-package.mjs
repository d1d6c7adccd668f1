#!/usr/bin/env node
/**
 * `npm run scan`: checks the community package the way n8n's scanner
 * (@n8n/scan-community-package) checks a published one, without publishing it:
 *
 * 1. packs the package (`npm pack`, after `npm run build`) and checks that the tarball holds
 *    only the built node and credential (plus package.json, README and LICENSE): no proxy,
 *    no tests, no sources;
 * 2. runs the scanner's lint (`analyzePackage`, inline eslint-disable comments ignored) on
 *    the unpacked tarball with `['**\/*.js', 'package.json']`, as the scanner's tarball leg does;
 * 3. runs it on the source tree with the scanner's own `SOURCE_FILE_PATTERNS`, as its
 *    provenance (source) leg does.
 *
 * Any finding fails the script.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_FILE_PATTERNS, analyzePackage } from '@n8n/scan-community-package/scanner/scanner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What the tarball may contain, relative to its `package/` folder. */
const ALLOWED = [/^package\.json$/, /^README\.md$/i, /^LICENSE(\.md)?$/i, /^dist\/(nodes|credentials)\/.+\.(js|d\.ts|svg|png|json)$/];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options });
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  }
  return result.stdout;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'secure-proxy-scan-'));
  let failed = false;
  try {
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work]));
    const files = packed.files.map((file) => file.path).sort();
    console.log(`Packed ${packed.filename}: ${files.length} files, ${packed.size} bytes`);
    for (const file of files) console.log(`  ${file}`);
    const unexpected = files.filter((file) => !ALLOWED.some((pattern) => pattern.test(file)));
    if (unexpected.length > 0) {
      failed = true;
      console.error(`The tarball holds files that are not part of the community package:\n  ${unexpected.join('\n  ')}`);
    }
    if (!files.includes('dist/nodes/SecureProxyRequest/SecureProxyRequest.node.js') || !files.includes('dist/credentials/SecureProxyApi.credentials.js')) {
      failed = true;
      console.error('The tarball lacks the built node or credential: run `npm run build` first.');
    }

    const unpacked = join(work, 'package');
    run('tar', ['-xzf', join(work, packed.filename), '-C', work]);
    for (const [leg, dir, patterns] of [
      ['tarball', unpacked, ['**/*.js', 'package.json']],
      ['source', root, SOURCE_FILE_PATTERNS],
    ]) {
      const result = await analyzePackage(dir, patterns);
      if (result.passed) {
        console.log(`Scanner (${leg}): passed${result.message ? ` (${result.message})` : ''}`);
      } else {
        failed = true;
        console.error(`Scanner (${leg}): ${result.message}`);
        if (result.details) console.error(result.details);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
}

await main();
