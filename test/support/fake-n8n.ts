/**
 * A small loopback stand-in for n8n's public credential API, for the failures a real n8n
 * cannot easily be made to produce on demand (a PATCH that never answers, a 500). Each
 * route answers what the test says; every request is recorded with the API key it carried.
 * The happy path is proven against the real n8n in test/e2e/token-push.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeN8nRequest {
  method: string;
  url: string;
  apiKey: string | undefined;
  body: string;
}

/** `hang`: accept the request and never answer (a timeout). */
export type FakeAnswer = { status: number; body: unknown } | 'hang';

export interface FakeN8nRoutes {
  /** GET /api/v1/credentials/{id} */
  get?: (id: string) => FakeAnswer;
  /** GET /api/v1/credentials (the list) */
  list?: () => FakeAnswer;
  /** PATCH /api/v1/credentials/{id} */
  patch?: (id: string, body: unknown) => FakeAnswer;
}

export interface FakeN8n {
  url: string;
  requests: FakeN8nRequest[];
  routes: FakeN8nRoutes;
  close(): Promise<void>;
}

export async function startFakeN8n(): Promise<FakeN8n> {
  const requests: FakeN8nRequest[] = [];
  const routes: FakeN8nRoutes = {};
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const apiKey = req.headers['x-n8n-api-key'];
      requests.push({ method: req.method ?? '', url: req.url ?? '', apiKey: typeof apiKey === 'string' ? apiKey : undefined, body });
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const one = /^\/api\/v1\/credentials\/([^/]+)$/.exec(path);
      let answer: FakeAnswer = { status: 404, body: { message: 'not found' } };
      if (req.method === 'GET' && path === '/api/v1/credentials' && routes.list) answer = routes.list();
      else if (req.method === 'GET' && one && routes.get) answer = routes.get(decodeURIComponent(one[1]));
      else if (req.method === 'PATCH' && one && routes.patch) answer = routes.patch(decodeURIComponent(one[1]), JSON.parse(body || 'null'));
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
