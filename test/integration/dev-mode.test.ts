/**
 * Dev mode through the built command, the way `./scripts/dev.sh` starts it: the banner's
 * curl lines work exactly as printed in bash, zsh and fish, and a busy port ends the process
 * with a message that says what to do instead of leaving it hanging.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, runCli, startCli } from '../support/cli';

/** The shells a user pastes the banner into. CI installs all three (.ci/run). */
const SHELLS = ['bash', 'zsh', 'fish'] as const;
const installed = (shell: string): boolean => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

/** Runs one printed line in `shell`, as typed at its prompt; resolves with what it printed. */
function runInShell(shell: string, line: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(shell, ['-c', line], { env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end('taken'));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

describe('dev mode', () => {
  let proc: Awaited<ReturnType<typeof startCli>>;
  let curlLines: string[];

  beforeAll(async () => {
    proc = await startCli(['serve', '--dev-port', '0'], /Press Ctrl\+C to stop/, { env: cleanEnv(), timeoutMs: 60_000 });
    curlLines = proc
      .output()
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('curl '));
  }, 70_000);

  afterAll(async () => {
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('prints a banner that says it is not for production, with three curl lines', () => {
    expect(proc.output()).toContain('NOT FOR PRODUCTION');
    expect(curlLines).toHaveLength(3);
  });

  for (const shell of SHELLS) {
    const run = installed(shell) ? it : it.skip;
    run(`the printed curl lines work as printed in ${shell}`, async () => {
      const [forward, whoami, ready] = curlLines;
      const answer = await runInShell(shell, forward);
      expect(answer).toMatchObject({ status: 0 });
      const body = JSON.parse(answer.stdout) as { url: string; headers: Record<string, string> };
      expect(body.url).toBe('/base/hello?name=n8n');
      expect(body.headers.authorization).toMatch(/injected by the proxy/);
      expect(JSON.parse((await runInShell(shell, whoami)).stdout)).toMatchObject({ clientId: 'n8n-dev', services: ['echo'] });
      expect(JSON.parse((await runInShell(shell, ready)).stdout)).toMatchObject({ status: 'ready' });
    });
  }

  it('refuses a request without the token printed in the banner', async () => {
    const url = /'(http:\/\/127\.0\.0\.1:\d+\/forward\/echo\/hello\?name=n8n)'/.exec(curlLines[0])![1];
    const refused = await fetch(url);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-secure-proxy-error')).toBe('PROXY_TOKEN_MISSING');
  });
});

describe('a busy port', () => {
  let taken: { server: Server; port: number };
  beforeAll(async () => (taken = await occupyPort()));
  afterAll(() => new Promise<void>((done) => taken.server.close(() => done())));

  it('ends dev mode with exit code 1 and suggests --dev-port 0, instead of hanging', async () => {
    const result = await runCli(['serve', '--dev-port', String(taken.port)], { timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${taken.port}: the address is already in use (EADDRINUSE)`);
    expect(result.stderr).toContain('--dev-port 0');
  });

  it('ends serve --config with exit code 1 and names listen.port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-busy-'));
    const file = join(dir, 'proxy.yaml');
    writeFileSync(
      file,
      [
        `listen: { host: 127.0.0.1, port: ${taken.port} }`,
        'vault: { address: "http://127.0.0.1:1", auth: { method: token, token: hvs.unused } }',
        'clients: {}',
        'services: {}',
        '',
      ].join('\n'),
    );
    const result = await runCli(['serve', '--config', file], { timeoutMs: 30_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${taken.port}: the address is already in use (EADDRINUSE)`);
    expect(result.stderr).toContain('listen.port');
  });
});
