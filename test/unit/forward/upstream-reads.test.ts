/**
 * The upstream agents' connections read into one shared buffer (forward/upstream-reads.ts):
 * every read of every connection lands in the same memory, the bodies still arrive whole, and
 * Node's guard against bytes on an idle pooled connection still discards such a connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createUpstreamAgent } from '../../../proxy/src/forward/upstream-agent';

const BODY = randomBytes(512 * 1024 + 99);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Upstream {
  url: URL;
  /** The server side of each connection, in the order they were accepted. */
  connections: Socket[];
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const connections: Socket[] = [];
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BODY.length) });
    res.end(BODY);
  });
  server.on('connection', (socket: Socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
    connections,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Fetched {
  body: Buffer;
  reusedSocket: boolean;
  /** The memory behind each read the connection delivered. */
  readMemory: ArrayBufferLike[];
  /** The memory behind each body part the answer delivered. */
  bodyMemory: ArrayBufferLike[];
}

function fetchThrough(agent: http.Agent, url: URL): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const readMemory: ArrayBufferLike[] = [];
    const req = http.get(url, { agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ body: Buffer.concat(parts), reusedSocket: req.reusedSocket, readMemory, bodyMemory: parts.map((part) => part.buffer) }));
      res.on('error', reject);
    });
    const onRead = (read: Buffer): void => {
      readMemory.push(read.buffer);
    };
    req.on('socket', (socket) => {
      socket.on('data', onRead);
      req.on('close', () => socket.off('data', onRead));
    });
    req.on('error', reject);
  });
}

describe('upstream agents read into one shared buffer', () => {
  const upstreams: Upstream[] = [];
  const agents: http.Agent[] = [];

  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.destroy();
    for (const upstream of upstreams.splice(0)) await upstream.close();
  });

  async function agentTo(): Promise<{ agent: http.Agent; upstream: Upstream }> {
    const upstream = await startUpstream();
    const agent = createUpstreamAgent({ target: upstream.url, pool: { keepAlive: true, timeout: 30_000 }, allowPrivateAddresses: false });
    upstreams.push(upstream);
    agents.push(agent);
    return { agent, upstream };
  }

  it('every read of every connection, of two agents, lands in the same memory; the bodies arrive whole', async () => {
    const [a, b] = [await agentTo(), await agentTo()];
    const fetched = await Promise.all([fetchThrough(a.agent, a.upstream.url), fetchThrough(b.agent, b.upstream.url), fetchThrough(a.agent, a.upstream.url)]);
    for (const { body } of fetched) expect(sha256(body)).toBe(sha256(BODY));
    const reads = fetched.flatMap((f) => f.readMemory);
    // A body this size takes many reads on each connection.
    expect(reads.length).toBeGreaterThanOrEqual(fetched.length * 2);
    expect(new Set(reads).size).toBe(1);
    // The HTTP parser hands out copies, never the shared memory itself.
    expect(fetched.flatMap((f) => f.bodyMemory).filter((memory) => memory === reads[0])).toEqual([]);
  });

  it('a pooled connection on which the upstream sent bytes while it idled is discarded, not reused', async () => {
    const { agent, upstream } = await agentTo();
    const first = await fetchThrough(agent, upstream.url);
    expect(first.reusedSocket).toBe(false);
    expect((await fetchThrough(agent, upstream.url)).reusedSocket).toBe(true);
    // Unsolicited bytes on the idle connection: a desynchronised (or hostile) upstream.
    upstream.connections[0].write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstale');
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('the poisoned connection stayed in the pool')), 10_000);
      const check = (): void => {
        const idle = Object.values(agent.freeSockets).flat().length;
        if (idle === 0) {
          clearTimeout(deadline);
          resolve();
        } else {
          setTimeout(check, 10);
        }
      };
      check();
    });
    const after = await fetchThrough(agent, upstream.url);
    expect(after.reusedSocket).toBe(false);
    expect(sha256(after.body)).toBe(sha256(BODY));
    expect(upstream.connections).toHaveLength(2);
  });
});
