/**
 * The Vault transport and pooled connections the server closes: an idle one is let go before
 * the server's Keep-Alive timeout; a request that still meets one being closed (reset before
 * any answer) is sent once more on a new connection; a reset on a fresh connection is a real
 * failure. Against a loopback HTTP server that resets connections on cue, through the
 * transport node-vault is given.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createVaultTransport, VaultTransportError, type VaultTransport } from '../../../proxy/src/vault/transport';

type ResetRule = (requestOnConnection: number, requestOverall: number) => boolean;

interface ResettingServer {
  url: string;
  /** Requests received (reset ones included), with the body each carried. */
  requests: Array<{ connection: number; body: string }>;
  connections(): number;
  close(): Promise<void>;
}

/** A JSON server that destroys the connection instead of answering when `reset` says so. */
async function startResettingServer(reset: ResetRule, keepAliveTimeoutMs = 5_000): Promise<ResettingServer> {
  const requests: ResettingServer['requests'] = [];
  const perConnection = new WeakMap<Socket, { id: number; count: number }>();
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const state = perConnection.get(req.socket)!;
      state.count += 1;
      requests.push({ connection: state.id, body: Buffer.concat(chunks).toString() });
      if (reset(state.count, requests.length)) {
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { answer: requests.length } }));
    });
  });
  // Node's server says this in its answers' Keep-Alive header: `timeout=<seconds>`.
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => perConnection.set(socket, { id: ++connections, count: 0 }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Lets the client's side of a finished exchange settle (its connection back in the pool). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Vault transport: pooled connections the server closed', () => {
  let server: ResettingServer | undefined;
  let transport: VaultTransport | undefined;

  afterEach(async () => {
    transport?.close();
    await server?.close();
    server = undefined;
    transport = undefined;
  });

  function requestFn(): ReturnType<VaultTransport['requestPromise']['defaults']> {
    transport = createVaultTransport({ timeoutMs: 20_000 });
    return transport.requestPromise.defaults({});
  }

  it('sends a request again, once, on a new connection when its kept-alive one was reset before any answer', async () => {
    // The second request on a connection finds it closed, as after the server's idle timeout.
    server = await startResettingServer((onConnection) => onConnection === 2);
    const request = requestFn();
    const first = await request({ method: 'GET', uri: `${server.url}/v1/secret/data/a` });
    expect(first.statusCode).toBe(200);
    await settle();

    const second = await request({ method: 'POST', uri: `${server.url}/v1/secret/data/a`, json: { data: { k: 'v' }, options: { cas: 3 } } });
    expect(second.statusCode).toBe(200);
    expect(second.body).toEqual({ data: { answer: 3 } });
    // The reset one on the first connection, then the same request, body and all, on a second.
    expect(server.requests.map((r) => r.connection)).toEqual([1, 1, 2]);
    expect(server.requests[1].body).toBe(server.requests[2].body);
    expect(JSON.parse(server.requests[2].body)).toEqual({ data: { k: 'v' }, options: { cas: 3 } });
  });

  it("lets an idle connection go a second before the server's Keep-Alive timeout says it closes it", async () => {
    server = await startResettingServer(() => false, 2_000);
    const request = requestFn();
    expect((await request({ method: 'GET', uri: `${server.url}/v1/sys/health` })).statusCode).toBe(200);
    // Past the client's 1 s, before the server's 2 s: a kept connection would still be open here.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await request({ method: 'GET', uri: `${server.url}/v1/sys/health` })).statusCode).toBe(200);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('does not send again a request whose fresh connection was reset', async () => {
    server = await startResettingServer(() => true);
    const request = requestFn();
    const failure = await request({ method: 'POST', uri: `${server.url}/v1/secret/data/a`, json: { data: {} } }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(VaultTransportError);
    expect((failure as VaultTransportError).code).toBe('ECONNRESET');
    expect(server.requests).toHaveLength(1);
  });

  it('sends again at most once: a second reset is the failure', async () => {
    // Everything after the first request is reset, on any connection.
    server = await startResettingServer((_onConnection, overall) => overall > 1);
    const request = requestFn();
    expect((await request({ method: 'GET', uri: `${server.url}/v1/sys/health` })).statusCode).toBe(200);
    await settle();
    const failure = await request({ method: 'GET', uri: `${server.url}/v1/sys/health` }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(VaultTransportError);
    expect((failure as VaultTransportError).code).toBe('ECONNRESET');
    expect(server.requests.map((r) => r.connection)).toEqual([1, 1, 2]);
  });
});
