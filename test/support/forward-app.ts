/**
 * The data plane alone, for tests that need one service set up a particular way (a scripted
 * resolver, an odd upstream): createForwardHandler behind a stand-in for request tracking and
 * authentication (a context whose client may use every service), served on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { ServiceConfig } from '../../proxy/src/config/schema';
import { REQUEST_ID_HEADER } from '../../proxy/src/contract/contract';
import { contextOf, newContext, type RequestContext } from '../../proxy/src/app/request-context';
import { createForwardHandler, rejectUnsafeRequestTarget, type ForwardDeps, type ForwardHandler } from '../../proxy/src/forward';
import type { SecretData, SecretProvider } from '../../proxy/src/secrets/types';

/** A service config with the schema's defaults for what `fields` leaves out. */
export function serviceConfig(fields: Pick<ServiceConfig, 'target' | 'inject'> & Partial<ServiceConfig>): ServiceConfig {
  return { secret: 'svc/test', description: '', timeoutMs: 5000, scrub: true, ...fields };
}

/** Secrets by KV path; an unknown path has the `fallback`. */
export function fixedSecrets(byPath: Record<string, SecretData>, fallback: SecretData = {}): SecretProvider {
  return {
    async get(path: string): Promise<SecretData> {
      return Object.hasOwn(byPath, path) ? byPath[path] : fallback;
    },
    clear() {},
  };
}

export interface ForwardApp {
  app: express.Express;
  handler: ForwardHandler;
  /** The context of every finished request, by request id. */
  contexts: Map<string, RequestContext>;
  /** Starts listening on loopback (once); resolves with the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** An express app serving `/forward/{service}/...` for `deps.services`, every service granted. */
export function forwardApp(deps: ForwardDeps): ForwardApp {
  const handler = createForwardHandler(deps);
  const contexts = new Map<string, RequestContext>();
  let next = 0;
  const app = express();
  app.use(rejectUnsafeRequestTarget);
  app.use((req, res, proceed) => {
    const sent = req.headers[REQUEST_ID_HEADER];
    const ctx = newContext(typeof sent === 'string' ? sent : `req-${++next}`);
    res.locals.ctx = ctx;
    res.setHeader(REQUEST_ID_HEADER, ctx.requestId);
    res.on('close', () => contexts.set(ctx.requestId, ctx));
    proceed();
  });
  app.use(
    '/forward',
    (_req, res, proceed) => {
      contextOf(res).client = { id: 'test-client', tokenId: 'test', expiresAt: null, services: new Set(Object.keys(deps.services)) };
      proceed();
    },
    handler,
  );
  let server: http.Server | null = null;
  return {
    app,
    handler,
    contexts,
    async listen() {
      server ??= http.createServer(app);
      if (!server.listening) await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      handler.close();
      if (server === null) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}
