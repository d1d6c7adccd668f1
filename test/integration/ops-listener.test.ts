/**
 * The listener settings as `secure-proxy serve` applies them (child process, real runProxy):
 * the ops listener (`ops: { host, port }`) serves /metrics and /readyz with its reason, and the
 * main listener then serves no /metrics; `listen.maxConnections` closes connections beyond it
 * as they arrive (counted in /metrics); `listen.keepAliveTimeoutMs` closes idle keep-alive
 * connections; an Expect other than 100-continue gets the contract's 417.
 */
import net from 'node:net';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { generateToken } from '../../proxy/src/auth/token-format';
import { expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { rawExchange } from '../support/raw-socket';
import { waitFor } from '../support/secrets-harness';
import { createServeFolder, expectOutputHides, startServe, stopServe, type ServeFolder, type ServeProcess } from '../support/serve-process';

const SECRET = canary('ops');
const MAX_CONNECTIONS = 3;
const KEEP_ALIVE_MS = 400;

let harness: ProxyHarness;
let folder: ServeFolder;
let proc: ServeProcess;
let mainPort: number;
let opsPort: number;
const token = generateToken();

function get(port: number, path: string, lines: string[] = []): ReturnType<typeof rawExchange> {
  return rawExchange(port, [`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`]);
}

function asAnswer(answer: Awaited<ReturnType<typeof rawExchange>>) {
  return { status: answer.status, headers: answer.headers, text: answer.body };
}

/** Opens a connection and resolves once it is established (or refused). */
function connect(port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  return new Promise((resolve) => {
    let closed = false;
    const socket = net.connect(port, '127.0.0.1', () => resolve({ socket, closed: () => closed }));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
  });
}

beforeAll(async () => {
  harness = await startHarness({ 'svc/echo': { token: SECRET } });
  folder = createServeFolder(harness, 'sp-ops-');
  folder.writeConfig({
    listen: `{ host: 127.0.0.1, port: 0, maxConnections: ${MAX_CONNECTIONS}, keepAliveTimeoutMs: ${KEEP_ALIVE_MS} }`,
    tokenHash: token.hash,
    extraLines: ['ops: { host: 127.0.0.1, port: 0 }'],
  });
  const started = await startServe(harness, folder.configFile);
  proc = started.proc;
  mainPort = Number(new URL(started.url).port);
  opsPort = Number(/"opsUrl":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(proc.output())![1]);
});

afterAll(async () => {
  const code = await stopServe(proc);
  if (proc !== undefined) expectOutputHides(proc, [SECRET, token.token]);
  await harness?.close();
  folder?.remove();
  expect(code).toBe(0);
});

describe('the ops listener', () => {
  it('serves /metrics; the main listener then does not', async () => {
    const metrics = await get(opsPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('secure_proxy_requests_total');
    const main = await get(mainPort, '/metrics');
    expectProxyError(asAnswer(main), 404, 'ROUTE_NOT_FOUND', 'proxy');
  });

  it('serves /healthz and /readyz; the main listener says ready without saying how it logs in to Vault', async () => {
    for (const port of [opsPort, mainPort]) {
      expect((await get(port, '/healthz')).status).toBe(200);
      const ready = await get(port, '/readyz');
      expect({ status: ready.status, body: JSON.parse(ready.body) as unknown }).toEqual({ status: 200, body: { status: 'ready' } });
      expect(ready.body).not.toMatch(/approle|token|kubernetes/i);
    }
  });

  it('has no data plane and no control plane', async () => {
    for (const path of ['/forward/echo/x', '/v1/whoami']) {
      const answer = await get(opsPort, path, [`Authorization: Bearer ${token.token}`]);
      expectProxyError(asAnswer(answer), 404, 'ROUTE_NOT_FOUND', 'proxy');
    }
  });
});

describe('the main listener', () => {
  it('answers an Expect other than 100-continue with the contract error, and closes the connection', async () => {
    const answer = await rawExchange(mainPort, [
      `POST /forward/echo/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token.token}\r\nExpect: 200-ok\r\nContent-Length: 5\r\n\r\n`,
    ]);
    expectProxyError(asAnswer(answer), 417, 'EXPECTATION_UNSUPPORTED', 'proxy');
    expect(answer.headers.connection).toBe('close');
    expect(harness.upstream.received.some((r) => r.url.endsWith('/x'))).toBe(false);
  });

  it(`closes connections beyond listen.maxConnections (${MAX_CONNECTIONS}) as they arrive, counts them, and serves again once some close`, async () => {
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => connect(mainPort)));
    try {
      const extra = await connect(mainPort);
      await waitFor('the extra connection to be closed', extra.closed, 10_000);
      expect(held.map((c) => c.closed())).toEqual(held.map(() => false));
    } finally {
      for (const c of held) c.socket.destroy();
    }
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await get(mainPort, '/healthz')).status;
    }
    expect(status).toBe(200);
    const metrics = await get(opsPort, '/metrics');
    expect(metrics.body).toMatch(/^secure_proxy_connections_dropped_total [1-9]/m);
    await waitFor('the warning line', () => proc.output().includes('connections refused: listen.maxConnections are open'), 10_000);
  });

  it(`closes a keep-alive connection idle for listen.keepAliveTimeoutMs`, async () => {
    const { socket, closed } = await connect(mainPort);
    const data: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => data.push(chunk));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await waitFor('the answer', () => Buffer.concat(data).includes('"status":"ok"'), 10_000);
    expect(Buffer.concat(data).toString('latin1')).toContain('Keep-Alive: timeout=');
    expect(Buffer.concat(data).toString('latin1')).not.toContain(ERROR_HEADER);
    // Node's default would keep it for 5 s and our default for 65 s; with 400 ms it goes soon after.
    await waitFor('the idle connection to be closed by the proxy', closed, 10_000);
  });
});
