/**
 * The forwarding modules depend on Node's HTTP, http-proxy-middleware and their own code, not
 * on what configures or observes them: a config is validated before they see it (zod, YAML,
 * the schema module), secrets reach them through an interface (node-vault), and their events
 * go out on a bus (winston, prom-client, express's routes). Keeping it so is what lets the
 * data plane run where those modules are not loaded, such as an isolate of its own (see
 * bench/README.md, "garbage collection").
 *
 * Checked on the build (proxy/dist) in a fresh Node process, whose module cache lists every
 * file it loaded, whichever copy of a package (the proxy's zod is not the root's).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const DIST = join(__dirname, '../../../proxy/dist');
const KEPT_OUT = ['zod', 'yaml', 'node-vault', 'axios', 'winston', 'prom-client', 'express', 'commander'];

/** The packages of KEPT_OUT and the proxy's config modules that loading `relative` (in proxy/dist) loads. */
function loadedBy(relative: string): string[] {
  const file = join(DIST, relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before these tests`);
  const script = [
    `require(${JSON.stringify(file)});`,
    `const kept = new Set(${JSON.stringify(KEPT_OUT)});`,
    'const found = new Set();',
    'for (const path of Object.keys(require.cache)) {',
    '  const pkg = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)[\\\\/]/.exec(path)?.[1];',
    '  if (pkg !== undefined && kept.has(pkg)) found.add(pkg);',
    '  const config = /dist[\\\\/](config[\\\\/][^\\\\/]+)\\.js$/.exec(path)?.[1];',
    "  if (config !== undefined) found.add(config.replace('\\\\', '/'));",
    '}',
    'process.stdout.write(JSON.stringify([...found].sort()));',
  ].join('\n');
  const { status, stdout, stderr } = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (status !== 0) throw new Error(`loading ${relative} failed: ${stderr}`);
  return JSON.parse(stdout) as string[];
}

describe('the forwarding modules', () => {
  it('load none of the config, Vault client, logging, metrics, routing or command-line libraries', () => {
    // Two constants files of the config module are shared with it on purpose: defaults and CA bundles.
    expect(loadedBy('forward/index.js')).toEqual(['config/ca-bundle', 'config/defaults']);
  });

  it('are checked by a probe that does see such a load', () => {
    expect(loadedBy('config/load.js')).toEqual(expect.arrayContaining(['config/schema', 'yaml', 'zod']));
  });
});
