/**
 * A load balancer for tests: a TCP listener on loopback that hands each new connection to
 * the next backend in turn and pipes bytes both ways, as an L4 balancer (a Kubernetes
 * Service, HAProxy in TCP mode) does. It counts connections per backend, so a test can prove
 * which replicas served without asking them.
 */
import net from 'node:net';

export interface RoundRobin {
  port: number;
  url: string;
  /** Connections handed to each backend so far, in the order the backends were given. */
  counts(): number[];
  close(): Promise<void>;
}

export async function startRoundRobin(backendPorts: number[]): Promise<RoundRobin> {
  const counts = backendPorts.map(() => 0);
  const sockets = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    const index = next;
    next = (next + 1) % backendPorts.length;
    counts[index] += 1;
    const backend = net.connect(backendPorts[index], '127.0.0.1');
    for (const socket of [client, backend]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // A reset on one side ends the other; the test sees it as a failed request.
      socket.on('error', () => (socket === client ? backend : client).destroy());
    }
    client.pipe(backend);
    backend.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    counts: () => [...counts],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
