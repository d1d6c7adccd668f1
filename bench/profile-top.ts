/**
 * `node bench/profile-top.ts <file.cpuprofile> [count]`: the functions with the most self time
 * in a V8 CPU profile (what `BENCH_CPU_PROF=<dir> npm run bench` makes for each server), as a
 * share of all samples, grouped by function and file so a reader sees whose code the time is in.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const [file, countArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/profile-top.ts <file.cpuprofile> [count]');
  process.exit(2);
}
const count = countArg === undefined ? 25 : Number(countArg);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

/** node_modules/<package> or the path inside the repository, without the machine's own prefix. */
function where(url: string): string {
  if (url === '') return '(native)';
  const clean = url.replace(/^file:\/\//, '');
  const modules = clean.lastIndexOf('node_modules/');
  if (modules !== -1) return clean.slice(modules + 'node_modules/'.length);
  if (clean.startsWith('node:')) return clean;
  for (const root of ['proxy/', 'bench/', 'dev/']) {
    const at = clean.lastIndexOf(`/${root}`);
    if (at !== -1) return clean.slice(at + 1);
  }
  return path.basename(clean);
}

const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = profile.samples.length;
const byFunction = new Map<string, number>();
const byOwner = new Map<string, number>();
for (const node of profile.nodes) {
  const n = hits.get(node.id) ?? 0;
  if (n === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const file = where(url);
  const key = `${functionName || '(anonymous)'}  ${file}${url === '' ? '' : `:${lineNumber + 1}`}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  const owner = url === '' ? file : file.startsWith('proxy/') ? 'proxy (ours)' : file.startsWith('node:') ? 'node: core' : file.split('/')[0];
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + n);
}
const pct = (n: number): string => `${((n / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`${total} samples`);
console.log('\nself time by owner:');
for (const [owner, n] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${pct(n)}  ${owner}`);
console.log(`\ntop ${count} functions by self time:`);
for (const [key, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`  ${pct(n)}  ${key}`);
