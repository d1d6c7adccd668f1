/**
 * The yardstick: a bare express 5 + http-proxy-middleware 4 pass-through with a keep-alive
 * agent that sets one static Authorization header. No token check, no Vault, no policy,
 * no logging, no metrics: what the proxy costs on top of this is the price of its features.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { runChild, settings } from '../lib/child.ts';

export interface BaselineSettings {
  upstreamUrl: string;
  /** Header value set on every forwarded request (replacing the client's). */
  authorization: string;
}

const { upstreamUrl, authorization } = settings<BaselineSettings>();

await runChild(async () => {
  const agent = new http.Agent({ keepAlive: true });
  const app = express();
  app.disable('x-powered-by');
  app.use('/forward/api', createProxyMiddleware({ target: `${upstreamUrl}/base`, changeOrigin: true, agent, headers: { authorization } }));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
});
