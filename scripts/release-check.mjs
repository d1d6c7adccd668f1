#!/usr/bin/env node
/**
 * Before a release publishes anything: `node scripts/release-check.mjs v0.2.0` checks that
 * the tag names the version of both packages (the n8n node package at the root and the proxy
 * in proxy/) and that CHANGELOG.md has a section for it. Exit 1 names what does not match.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tag = process.argv[2] ?? '';
const version = /^v(\d+\.\d+\.\d+(?:-[\w.]+)?)$/.exec(tag)?.[1];
const problems = [];
if (version === undefined) problems.push(`the tag must look like v1.2.3, got "${tag}"`);
else {
  for (const file of ['package.json', 'proxy/package.json']) {
    const manifest = JSON.parse(readFileSync(join(root, file), 'utf8'));
    if (manifest.version !== version) problems.push(`${file} (${manifest.name}) is at ${manifest.version}, the tag says ${version}`);
  }
  const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
  if (!changelog.split('\n').some((line) => line.startsWith(`## [${version}]`))) problems.push(`CHANGELOG.md has no "## [${version}]" section`);
}
if (problems.length > 0) {
  process.stderr.write(`release-check: ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(`release-check: ${tag} matches both packages and the changelog\n`);
