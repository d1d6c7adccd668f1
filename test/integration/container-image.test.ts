/**
 * The container image without a container engine: deploy/docker/Dockerfile passes
 * dockerfile-utils' lint, and scripts/image-dry-run.mjs performs its steps into an empty
 * folder and starts the proxy from the result with a mounted config and Vault credentials
 * from the environment. Through that proxy a request reaches the API with the Vault secret,
 * the image's HEALTHCHECK passes, SIGTERM stops it with exit 0, and nothing in the image's
 * files changed (it runs on a read-only root file system).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { generateToken } from '../../proxy/src/auth/token-format';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { createServeFolder, type ServeFolder } from '../support/serve-process';
import { deadPort, waitFor } from '../support/secrets-harness';
import { describeEmulatorOnly, sleep } from '../support/vault-setup';

const ROOT = join(__dirname, '../..');
const SECRET = canary('image');

describe('deploy/docker/Dockerfile', () => {
  it('passes the dockerfile-utils lint with nothing to report', () => {
    const lint = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/dockerfile-utils/bin/dockerfile-utils'), 'lint', join(ROOT, 'deploy/docker/Dockerfile')],
      {
        encoding: 'utf8',
      },
    );
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });
});

describeEmulatorOnly('the image, built and started by scripts/image-dry-run.mjs', () => {
  let harness: ProxyHarness;
  let folder: ServeFolder;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    folder = createServeFolder(harness, 'image-');
  });

  afterAll(async () => {
    folder?.remove();
    await harness?.close();
  });

  it(
    'serves with a mounted config, passes its HEALTHCHECK, stops on SIGTERM with exit 0 and writes nothing into the image',
    async () => {
      const token = generateToken();
      const port = await deadPort();
      // The port and host in the file are overridden by the environment, as the image's ENV does.
      folder.writeConfig({ listen: '{ host: 127.0.0.1, port: 1 }', tokenHash: token.hash });
      const script = spawn(
        process.execPath,
        [
          join(ROOT, 'scripts/image-dry-run.mjs'),
          '--mount',
          `${folder.configFile}:/etc/secure-proxy/proxy.yaml`,
          '--env',
          'SECURE_PROXY_HOST=127.0.0.1',
          '--env',
          `SECURE_PROXY_PORT=${port}`,
          '--env',
          'VAULT_ROLE_ID',
          '--env',
          'VAULT_SECRET_ID',
          '--hold',
        ],
        { env: { ...process.env, VAULT_ROLE_ID: harness.appRole.roleId, VAULT_SECRET_ID: harness.appRole.secretId } },
      );
      let stdout = '';
      let stderr = '';
      script.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      script.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => script.on('close', resolve));
      try {
        // Building runs two `npm ci` and a compile: minutes on a loaded machine.
        await waitFor('the image to be built and healthy', () => /image-dry-run: ready/.test(stdout) || script.exitCode !== null, 8 * 60_000, 500);
        expect({ ready: stdout, log: stderr.slice(-4000) }).toEqual(expect.objectContaining({ ready: expect.stringContaining('image-dry-run: ready') }));

        const base = `http://127.0.0.1:${port}`;
        // Healthy means alive; ready means logged in to Vault, which follows shortly.
        for (let i = 0; i < 240 && (await fetch(`${base}/readyz`)).status !== 200; i++) await sleep(250);
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
        const forwarded = await fetch(`${base}/forward/echo/hello`, { headers: { authorization: `Bearer ${token.token}` } });
        expect(forwarded.status).toBe(200);
        expect(harness.upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
      } finally {
        script.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      expect(stdout).toContain('image-dry-run: ok');
      expect(stderr).toContain('nothing in the image changed');
      expect(stdout + stderr).not.toContain(SECRET);
    },
    10 * 60_000,
  );
});
