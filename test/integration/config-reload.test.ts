/**
 * SIGHUP reloads the config file of a running `secure-proxy serve` process: a steady stream
 * of requests sees no failure across several reloads, the new policy applies afterwards,
 * secrets are read from Vault again (the cache starts empty), and an invalid file changes
 * nothing but is reported naming the field.
 */
import { generateToken } from '../../proxy/src/auth/token-format';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { cleanEnv, startCli } from '../support/cli';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { createServeFolder, expectOutputHides, startServe, stopServe, waitForOutput, type ServeFolder, type ServeProcess } from '../support/serve-process';
import { waitFor } from '../support/secrets-harness';
import { describeEmulatorOnly, writeSecret } from '../support/vault-setup';

const FIRST_SECRET = canary('reload-first');
const SECOND_SECRET = canary('reload-second');

describeEmulatorOnly('configuration reload on SIGHUP', () => {
  let harness: ProxyHarness;
  let folder: ServeFolder;
  let proc: ServeProcess;
  let url: string;
  const token = generateToken();
  const auth = { authorization: `Bearer ${token.token}` };

  /** The config file; `paths` limits the echo service, `extraLines` are appended verbatim. */
  function writeConfig(options: { paths?: string[]; description?: string; port?: number; extraLines?: string[] } = {}): void {
    const echoFields = [
      `description: "${options.description ?? 'echo'}"`,
      ...(options.paths === undefined ? [] : [`paths: [${options.paths.map((p) => `"${p}"`).join(', ')}]`]),
    ];
    const listen = `{ host: 127.0.0.1, port: ${options.port ?? 0}, shutdownTimeoutMs: 15000 }`;
    folder.writeConfig({ listen, tokenHash: token.hash, echoFields, extraLines: options.extraLines });
  }

  const get = (path: string): Promise<Response> => fetch(`${url}${path}`, { headers: auth });

  /** Sends SIGHUP and waits until the reload to `generation` is logged. */
  async function reloadTo(generation: number): Promise<void> {
    proc.child.kill('SIGHUP');
    await waitForOutput(proc, new RegExp(`"msg":"configuration reloaded[^\\n]*"generation":${generation},`));
  }

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: FIRST_SECRET } });
    folder = createServeFolder(harness, 'sp-reload-');
    writeConfig();
    ({ proc, url } = await startServe(harness, folder.configFile));
  });

  afterAll(async () => {
    await stopServe(proc);
    await harness?.close();
    folder?.remove();
  });

  afterEach(() => expectOutputHides(proc, [FIRST_SECRET, SECOND_SECRET, token.token, harness.appRole.secretId]));

  it('drops no request while the config changes under a steady stream, and applies the new policy after', async () => {
    expect((await get('/forward/echo/outside/a')).status).toBe(200);

    const failures: string[] = [];
    let completed = 0;
    let running = true;
    const loop = async (n: number): Promise<void> => {
      for (let i = 0; running; i++) {
        // Some requests are slow, so reloads happen while they are in flight on the old app.
        const path = i % 5 === 0 ? `/forward/echo/inside/slow/150` : `/forward/echo/inside/${n}-${i}`;
        try {
          const response = await get(path);
          const body = await response.text();
          if (response.status !== 200) failures.push(`${path}: ${response.status} ${body}`);
          else completed++;
        } catch (err) {
          failures.push(`${path}: ${err instanceof Error ? `${err.message} ${String(err.cause)}` : String(err)}`);
        }
      }
    };
    const loops = [0, 1, 2, 3].map(loop);

    // Each reload comes after a few more answers, so requests run before, during and after every one.
    const moreAnswers = async (): Promise<void> => {
      const target = completed + 8;
      await waitFor('more answers between reloads', () => completed >= target || failures.length > 0, 30_000);
    };
    const reloads = 4;
    for (let r = 1; r <= reloads; r++) {
      await moreAnswers();
      writeConfig({ paths: ['/inside/**'], description: `generation ${r + 1}` });
      await reloadTo(r + 1);
    }
    await moreAnswers();
    running = false;
    await Promise.all(loops);

    expect(failures).toEqual([]);
    expect(completed).toBeGreaterThanOrEqual(8 * (reloads + 1));
    expect(proc.output()).toContain(`"generation":${reloads + 1}`);

    const outside = await get('/forward/echo/outside/a');
    expect(outside.status).toBe(403);
    expect(outside.headers.get(ERROR_HEADER)).toBe('PATH_NOT_ALLOWED');
    expect((await get('/forward/echo/inside/a')).status).toBe(200);
    const services = (await (await get('/v1/services')).json()) as { services: Array<{ name: string; description: string }> };
    expect(JSON.stringify(services)).toContain(`generation ${reloads + 1}`);

    // Counters continue across reloads: every request of the stream is counted.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^secure_proxy_config_reloads_total\\{result="success"\\} ${reloads}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^secure_proxy_config_generation ${reloads + 1}$`, 'm'));
    // The process and Node.js metrics belong to the process, registered once for every generation.
    expect(metrics.match(/^# TYPE nodejs_eventloop_lag_seconds gauge$/gm)).toHaveLength(1);
    const forwarded = [...metrics.matchAll(/^secure_proxy_requests_total\{route="forward",service="echo"[^}]*status_class="2xx"[^}]*\} (\d+)$/gm)];
    expect(forwarded.reduce((sum, m) => sum + Number(m[1]), 0)).toBeGreaterThanOrEqual(completed);
  });

  it('reads the secret from Vault again after a reload (the cache starts empty)', async () => {
    writeConfig();
    await reloadTo(6);
    // What the upstream received (the proxy scrubs the echoed value from the response).
    const seen = async (): Promise<string | undefined> => {
      harness.upstream.clear();
      expect((await get('/forward/echo/secret')).status).toBe(200);
      return harness.upstream.received[0]?.headers.authorization;
    };
    expect(await seen()).toBe(`Bearer ${FIRST_SECRET}`);

    await writeSecret(harness.vault, harness.mount, 'svc/echo', { token: SECOND_SECRET }, 2);
    // Within cache.ttlSeconds (60 s) the cached value still serves.
    expect(await seen()).toBe(`Bearer ${FIRST_SECRET}`);
    await reloadTo(7);
    expect(await seen()).toBe(`Bearer ${SECOND_SECRET}`);
  });

  it('keeps serving the old config when the new file is invalid, naming every bad field', async () => {
    writeConfig({ paths: ['no-leading-slash'], extraLines: ['surprise: true'] });
    proc.child.kill('SIGHUP');
    await waitForOutput(proc, /"msg":"configuration reload refused: the file is invalid/);
    const output = proc.output();
    expect(output).toContain('services.echo.paths[0]: path patterns start with \\"/\\"');
    expect(output).toContain('unknown field \\"surprise\\"');
    expect(proc.child.exitCode).toBeNull();

    // The previous config (no path limits) still serves.
    expect((await get('/forward/echo/outside/b')).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^secure_proxy_config_reloads_total\{result="failure"\} 1$/m);
    expect(metrics).toMatch(/^secure_proxy_config_last_reload_success 0$/m);
    expect(metrics).toMatch(/^secure_proxy_config_generation 7$/m);
  });

  it('warns that a listen.port change needs a restart and keeps the listener', async () => {
    writeConfig({ port: 1, description: 'after port change' });
    await reloadTo(8);
    expect(proc.output()).toMatch(/"msg":"configuration reload: listen\.port changed; the listener keeps its current settings until a restart"/);
    expect((await get('/v1/services')).status).toBe(200);
    expect(await (await get('/v1/services')).text()).toContain('after port change');
  });

  it('retires every earlier generation: a dozen reloads with traffic between them leave no listener behind', async () => {
    // Each generation's forwarders are used, so each registered whatever it registers on the server.
    const reloaded = [...proc.output().matchAll(/"msg":"configuration reloaded[^\n]*"generation":(\d+),/g)];
    const current = reloaded.length === 0 ? 1 : Number(reloaded[reloaded.length - 1][1]);
    for (let generation = current + 1; generation <= current + 12; generation++) {
      expect((await get('/forward/echo/retire')).status).toBe(200);
      writeConfig({ port: 1, description: `generation ${generation}` });
      await reloadTo(generation);
    }
    expect((await get('/forward/echo/retire')).status).toBe(200);
    // Node warns once more than 10 listeners of one event are on an emitter: a leak per reload.
    expect(proc.output()).not.toContain('MaxListenersExceededWarning');
  });
});

describe('SIGHUP in dev mode', () => {
  it('logs that there is nothing to reload and keeps serving', async () => {
    const proc = await startCli(['serve', '--dev-port', '0'], /Press Ctrl\+C to stop/, { env: cleanEnv() });
    try {
      const url = /Proxy listening on:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(proc.output())![1];
      proc.child.kill('SIGHUP');
      await waitForOutput(proc, /"msg":"nothing to reload: dev mode has no config file"/);
      expect(proc.child.exitCode).toBeNull();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
  });
});
