/**
 * The data plane, `ANY /forward/{service}/{path}?{query}`: each request becomes an
 * {@link Exchange} that runs the stages (check the raw target → resolve the service → is the
 * client allowed → service policy and declared body size → read the secret → clean and inject
 * headers / query → forward) and then relays the upstream's answer (checked, Location
 * rewritten, the injected secrets scrubbed out), or answers with the contract.
 *
 * Everything per service (policy globs, header templates, the proxy instance and its
 * keep-alive agent, the Location rewrite, the scrub settings) is compiled here once, at
 * startup; per request the stages do string work, a Map lookup and one await for the (cached)
 * secret.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { ServiceConfig } from '../config/schema';
import { ProxyError } from '../contract/proxy-error';
import { checkMiddleware } from '../app/request-check';
import { contextOf } from '../app/request-context';
import type { SecretProvider, SecretWriter } from '../secrets/types';
import type { HostResolver } from './address-guard';
import { Exchange } from './exchange';
import { describeNonOriginForm } from './path-safety';
import { TokenBroker } from './inject';
import { compileRoute, type ServiceRoute } from './route';
import type { ServiceLimitStates } from './service-limits';

export { compileInjector, redactInjection, TokenBroker, type Injection, type Injector, type TokenEvent, type TokenListener } from './inject';
export { findUnsafeTarget } from './path-safety';
export { attributeRequest } from './attribution';
export { ServiceLimitStates } from './service-limits';
export { compilePolicy, type ServicePolicy } from './policy';

/** Dependencies of {@link createForwardHandler}. */
export interface ForwardDeps {
  services: Record<string, ServiceConfig>;
  secrets: SecretProvider;
  /** Prefix naming the KV mount in error messages ("secret" → "secret/team/github"). */
  kvMountLabel?: string;
  /** External base URL of the proxy, for rewritten upstream Location headers. */
  publicUrl?: string;
  /** Longest wait for the next chunk of a request body (`listen.bodyTimeoutMs`). */
  bodyTimeoutMs?: number;
  /** Told about an unexpected exception in a request's path; that request ends with INTERNAL_ERROR. */
  onUnexpected?: (err: unknown, requestId: string) => void;
  /** Resolver instead of the system one (the SSRF guard's tests). */
  resolveHost?: HostResolver;
  /** Per-service limit counters shared with the apps a config reload replaces (see service-limits.ts). */
  limitStates?: ServiceLimitStates;
  /** The process's OAuth2 token cache, kept across reloads; one per handler when absent. */
  tokens?: TokenBroker;
  /** Where a rotated OAuth2 refresh token is written back (check-and-set); the refresh token grant fails closed without it. */
  secretWriter?: SecretWriter;
}

/** The data-plane handler; `close()` destroys the pooled upstream connections (shutdown). */
export type ForwardHandler = RequestHandler & { close(): void };

/**
 * Builds the data-plane handler, to be mounted after authentication:
 * `app.use('/forward', authenticate, createForwardHandler(deps))`. It relies on express
 * having stripped the mount point from `req.url`, on `contextOf(res).client` being set, and
 * on {@link rejectUnsafeRequestTarget} running app-wide before it (the request line's form is
 * checked there, once).
 * Nothing may read the request body before it (no body parsers on this path).
 */
export function createForwardHandler(deps: ForwardDeps): ForwardHandler {
  const routes = new Map<string, ServiceRoute>();
  const routeOptions = { ...deps, tokens: deps.tokens ?? new TokenBroker() };
  for (const [name, config] of Object.entries(deps.services)) routes.set(name, compileRoute(name, config, routeOptions));
  const exchangeDeps = { routes, secrets: deps.secrets, onUnexpected: deps.onUnexpected };

  const handler: RequestHandler = (req, res) => Exchange.start(req, res, contextOf(res), exchangeDeps);
  return Object.assign(handler, {
    close() {
      for (const route of routes.values()) {
        route.upstream.close();
        route.injector.close?.();
      }
    },
  });
}

const REFUSED_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * App-wide check, run before routing (after request tracking, so refusals are audited): refuses CONNECT,
 * TRACE and TRACK (METHOD_NOT_ALLOWED) and any request target not in origin form
 * (absolute-form `GET http://host/...`, authority-form, `*`) with PATH_REJECTED, before express
 * parses the URL and maps an absolute URL onto a route.
 */
export function unsafeTargetProblem(req: IncomingMessage): ProxyError | null {
  const method = req.method ?? '';
  if (REFUSED_METHODS.has(method)) return new ProxyError('METHOD_NOT_ALLOWED', `The ${method} method is not accepted by this proxy.`);
  const reason = describeNonOriginForm(req.url ?? '');
  return reason === null ? null : new ProxyError('PATH_REJECTED', reason);
}

/** Middleware form of {@link unsafeTargetProblem}, mounted app-wide before any route. */
export const rejectUnsafeRequestTarget = checkMiddleware(unsafeTargetProblem);
