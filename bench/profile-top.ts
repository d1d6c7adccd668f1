/**
 * `node bench/profile-top.ts <file.cpuprofile> [count] [--first-seconds N] [--inclusive]`: the
 * functions with the most self time in a V8 CPU profile (what `BENCH_CPU_PROF=<dir> npm run
 * bench` makes for each server), as a share of all samples, grouped by function and file so a
 * reader sees whose code the time is in.
 *
 * A server's profile covers its whole life, and the large-body rounds outweigh the small ones.
 * `--first-seconds N` keeps the samples of its first N seconds (the bench runs the small
 * requests' rounds first), and `--inclusive` adds the time spent in each of the proxy's own
 * functions and everything they called, as a share of the busy (not idle) samples: where the
 * time of a stage goes, not only of its leaves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const USAGE = 'usage: node bench/profile-top.ts <file.cpuprofile> [count] [--first-seconds N] [--inclusive]';

/** The command line's file, count, window and view; prints the usage and exits when they make no sense. */
function readArguments(): { file: string; count: number; firstSeconds: number; inclusive: boolean } {
  try {
    const { positionals, values } = parseArgs({
      allowPositionals: true,
      options: { 'first-seconds': { type: 'string' }, inclusive: { type: 'boolean', default: false } },
    });
    const [file, countArg] = positionals;
    const count = countArg === undefined ? 25 : Number(countArg);
    const firstSeconds = values['first-seconds'] === undefined ? Infinity : Number(values['first-seconds']);
    if (file !== undefined && count > 0 && firstSeconds > 0) return { file, count, firstSeconds, inclusive: values.inclusive };
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
  }
  console.error(USAGE);
  process.exit(2);
}

const { file, count, firstSeconds, inclusive: showInclusive } = readArguments();
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

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const keyOf = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'}  ${where(url)}${url === '' ? '' : `:${lineNumber + 1}`}`;
};

// Samples within the window; timeDeltas[i] is the time (us) from the sample before to sample i.
const hits = new Map<number, number>();
const until = profile.startTime + firstSeconds * 1e6;
let at = profile.startTime;
let total = 0;
for (let i = 0; i < profile.samples.length; i += 1) {
  at += profile.timeDeltas[i] ?? 0;
  if (at > until) break;
  hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + 1);
  total += 1;
}

const byFunction = new Map<string, number>();
const byOwner = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
for (const [id, n] of hits) {
  const node = nodes.get(id)!;
  const key = keyOf(node);
  byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  const file = where(node.callFrame.url);
  const owner = node.callFrame.url === '' ? file : file.startsWith('proxy/') ? 'proxy (ours)' : file.startsWith('node:') ? 'node: core' : file.split('/')[0];
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + n);
  if (node.callFrame.functionName === '(idle)') continue;
  busy += n;
  // Each function on the sample's stack once (a recursive one is not counted twice).
  const onStack = new Set<string>();
  for (let up: number | undefined = id; up !== undefined; up = parentOf.get(up)) onStack.add(keyOf(nodes.get(up)!));
  for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + n);
}

const share = (n: number, of: number): string => `${((n / of) * 100).toFixed(1).padStart(5)} %`;
const window = Number.isFinite(firstSeconds) ? ` in the first ${firstSeconds} s` : '';
console.log(`${total} samples${window}, ${busy} of them busy`);
console.log('\nself time by owner (share of all samples):');
for (const [owner, n] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${share(n, total)}  ${owner}`);
console.log(`\ntop ${count} functions by self time (share of all samples):`);
for (const [key, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`  ${share(n, total)}  ${key}`);
if (showInclusive) {
  console.log(`\ntop ${count} of the proxy's functions by inclusive time (share of busy samples):`);
  const ours = [...inclusive].filter(([key]) => key.includes('  proxy/'));
  for (const [key, n] of ours.sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`  ${share(n, busy)}  ${key}`);
}
