/**
 * scripts/ensure-node.sh, which every script sources, on an empty cache: several scripts that
 * start at once (CI jobs, a test run beside dev.sh) must all end up with the same finished
 * Node 24 install, none of them running a half-written binary.
 *
 * The machine's node is hidden behind a shim that reports an old major version, so the script
 * installs Node 24 even where Node 24 is already installed. npm runs offline, from its cache
 * (tests send nothing beyond loopback); where the cache does not hold the package (a machine
 * that never needed the install), the case is skipped and says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const ARCH = process.arch === 'arm64' ? 'arm64' : 'x64';

/** A folder whose `node` claims to be Node 20 when asked for its major version, and runs the real node otherwise. */
function oldNodeShim(dir: string): string {
  const bin = join(dir, 'shim-bin');
  spawnSync('mkdir', ['-p', bin]);
  const shim = join(bin, 'node');
  writeFileSync(
    shim,
    `#!/bin/sh\nif [ "$1" = "-p" ] && [ "$2" = 'process.versions.node.split(".")[0]' ]; then echo 20; exit 0; fi\nexec "${process.execPath}" "$@"\n`,
  );
  chmodSync(shim, 0o755);
  return bin;
}

function packageInNpmCache(dir: string): boolean {
  const probe = join(dir, 'probe');
  const result = spawnSync(
    'npm',
    ['install', '--offline', '--prefix', probe, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-${ARCH}@24`],
    {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` },
      timeout: 120_000,
    },
  );
  return result.status === 0;
}

function ensureNode(cache: string, shimBin: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', '. scripts/ensure-node.sh && node -p process.versions.node'], {
      cwd: ROOT,
      env: { PATH: `${shimBin}:${process.env.PATH}`, HOME: process.env.HOME, SECURE_PROXY_CACHE: cache, npm_config_offline: 'true' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('scripts/ensure-node.sh', () => {
  const work = mkdtempSync(join(tmpdir(), 'sp-ensure-node-'));
  const cached = packageInNpmCache(work);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  (cached ? it : it.skip)(
    'run three times at once on an empty cache: all succeed with the same Node 24, and no partial install is left',
    async () => {
      const cache = join(work, 'cache');
      const shimBin = oldNodeShim(work);
      const runs = await Promise.all([1, 2, 3].map(() => ensureNode(cache, shimBin)));
      for (const run of runs) {
        expect(run).toMatchObject({ code: 0 });
        expect(run.output).toMatch(/^24\.\d+\.\d+$/m);
        expect(run.output).toContain(join(cache, `node24-${ARCH}`));
      }
      expect(runs.filter((run) => run.output.includes('installing Node 24'))).toHaveLength(1);
      expect(readdirSync(cache).filter((name) => name.includes('.partial.'))).toEqual([]);
      expect(existsSync(join(cache, `node24-${ARCH}`, 'node_modules', `node-linux-${ARCH}`, 'bin', 'node'))).toBe(true);
      // Warm: the next run finds the install and does not touch npm.
      const warm = await ensureNode(cache, shimBin);
      expect(warm.code).toBe(0);
      expect(warm.output).not.toContain('installing Node 24');
    },
    240_000,
  );
});
