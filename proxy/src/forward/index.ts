/**
 * The data plane, `ANY /forward/{service}/{path}?{query}`, as a pipeline of small stages:
 * check the raw target → resolve the service → is the client allowed → service policy and
 * declared body size → read the secret → clean and inject headers / query → forward (relay, rewrite Location,
 * scrub the injected secrets out of the response), the body counted and timed as it streams.
 *
 * Everything per service (policy globs, header templates, the proxy instance and its
 * keep-alive agent, the Location rewrite) is compiled here once, at startup; per request the
 * stages do string work, a Map lookup and one await for the (cached) secret.
 */
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import { readCaBundle } from '../config/ca-bundle';
import type { ServiceConfig } from '../config/schema';
import { ProxyError, refuse, toProxyError } from '../contract/proxy-error';
import { contextOf } from '../app/request-context';
import type { SecretProvider } from '../secrets/types';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES } from '../config/defaults';
import { checkDeclaredLength, refuseAndClose, watchRequestBody, type BodyLimits } from './body-limit';
import { stripRequestHeaders } from './hop-headers';
import { compileInjector, replaceQueryParam, type Injector } from './inject';
import { describeNonOriginForm, findUnsafeTarget } from './path-safety';
import { compilePolicy, type ServicePolicy } from './policy';
import { splitForwardUrl } from './split-url';
import { createUpstream, type Upstream } from './upstream';

export { compileInjector, redactInjection, type Injection, type Injector } from './inject';
export { findUnsafeTarget } from './path-safety';
export { compilePolicy, type ServicePolicy } from './policy';

const MAX_NAME_EXCERPT = 64;

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
}

/** The data-plane handler; `close()` destroys the pooled upstream connections (shutdown). */
export type ForwardHandler = RequestHandler & { close(): void };

/** Everything compiled for one service. */
interface ServiceRoute {
  readonly name: string;
  readonly secretPath: string;
  readonly policy: ServicePolicy;
  readonly injector: Injector;
  readonly upstream: Upstream;
  readonly bodyLimits: BodyLimits;
}

function compileRoute(name: string, config: ServiceConfig, deps: ForwardDeps): ServiceRoute {
  const label = deps.kvMountLabel ? `${deps.kvMountLabel}/${config.secret}` : config.secret;
  return {
    name,
    secretPath: config.secret,
    policy: compilePolicy(name, config),
    injector: compileInjector(config.inject, label),
    bodyLimits: { service: name, maxBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, idleTimeoutMs: deps.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS },
    upstream: createUpstream({
      service: name,
      target: config.target,
      timeoutMs: config.timeoutMs,
      publicUrl: deps.publicUrl,
      scrub: config.scrub !== false,
      allowPrivateAddresses: config.allowPrivateAddresses === true,
      // Validated with the config; read here once, at startup.
      ca: config.caFile === undefined ? undefined : readCaBundle(config.caFile),
    }),
  };
}

function excerpt(text: string): string {
  return text.length > MAX_NAME_EXCERPT ? `${text.slice(0, MAX_NAME_EXCERPT)}…` : text;
}

/**
 * Builds the data-plane handler, to be mounted after authentication:
 * `app.use('/forward', authenticate, createForwardHandler(deps))`. It relies on express
 * having stripped the mount point from `req.url`, and on `contextOf(res).client` being set.
 * Nothing may read the request body before it (no body parsers on this path).
 */
export function createForwardHandler(deps: ForwardDeps): ForwardHandler {
  // A Map, not the config object: a service named "constructor" or "__proto__" must not resolve.
  const routes = new Map<string, ServiceRoute>();
  for (const [name, config] of Object.entries(deps.services)) routes.set(name, compileRoute(name, config, deps));

  async function forward(req: Request, res: Response): Promise<void> {
    const ctx = contextOf(res);
    const url = req.url;

    // 1. The raw target, exactly what will be forwarded (and the request line as received).
    const unsafe = describeNonOriginForm(req.originalUrl) ?? findUnsafeTarget(url);
    if (unsafe !== null) return refuse(res, new ProxyError('PATH_REJECTED', unsafe));

    // 2. Service resolution and the client's grant.
    const target = splitForwardUrl(url);
    const route = routes.get(target.service);
    if (route === undefined) {
      const message =
        target.service === ''
          ? 'Name a service: /forward/{service}/{path}. GET /v1/services lists the services this token may use.'
          : `No service named '${excerpt(target.service)}' is configured in the proxy. GET /v1/services lists the services this token may use.`;
      return refuse(res, new ProxyError('SERVICE_UNKNOWN', message));
    }
    ctx.service = route.name;
    const client = ctx.client;
    if (client === null || !client.services.has(route.name)) {
      const who = client === null ? 'This request' : `Client '${client.id}'`;
      return refuse(res, new ProxyError('SERVICE_NOT_ALLOWED', `${who} may not use service '${route.name}'; the proxy admin grants services per client.`));
    }

    // 3. Service policy, and a declared body the service would refuse anyway (before the secret is read).
    const refused = route.policy.check(req.method, target.path);
    if (refused !== null) return refuse(res, refused);
    const declaredTooLarge = checkDeclaredLength(req, route.bodyLimits);
    if (declaredTooLarge !== null) return refuseAndClose(res, declaredTooLarge);

    // 4. Secret, then what it becomes on the wire (memoized per secret value).
    const secretStarted = performance.now();
    let injection;
    try {
      const secret = await deps.secrets.get(route.secretPath);
      ctx.secretMs = performance.now() - secretStarted;
      injection = route.injector.apply(secret);
    } catch (err) {
      if (ctx.secretMs === null) ctx.secretMs = performance.now() - secretStarted;
      return refuse(res, toProxyError(err));
    }
    if (res.destroyed) return; // the client left while the secret was read

    // 5. Clean the client's headers, then inject: same-name client headers are replaced.
    const headers = req.headers;
    stripRequestHeaders(headers);
    for (const [name, value] of injection.headers) headers[name] = value;
    let pathAndQuery = target.path;
    if (injection.queryString !== null && injection.query !== null) {
      pathAndQuery += `?${replaceQueryParam(target.query ?? '', injection.query[0], injection.queryString)}`;
    } else if (target.query !== null) {
      pathAndQuery += `?${target.query}`;
    }

    // 6. Forward and relay.
    route.upstream.forward(req, res, pathAndQuery, injection.secretValues, watchRequestBody(req, res, route.bodyLimits));
  }

  const handler: RequestHandler = (req, res) => forward(req, res);
  return Object.assign(handler, {
    close() {
      for (const route of routes.values()) route.upstream.close();
    },
  });
}

const REFUSED_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * App-wide guard, mounted before routing (after request tracking, so refusals are audited): refuses CONNECT,
 * TRACE and TRACK (METHOD_NOT_ALLOWED) and any request target not in origin form
 * (absolute-form `GET http://host/...`, authority-form, `*`) with PATH_REJECTED, before express
 * parses the URL and maps an absolute URL onto a route.
 */
export const rejectUnsafeRequestTarget: RequestHandler = (req, res, next) => {
  let error: ProxyError | null = null;
  if (REFUSED_METHODS.has(req.method)) {
    error = new ProxyError('METHOD_NOT_ALLOWED', `The ${req.method} method is not accepted by this proxy.`);
  } else {
    const reason = describeNonOriginForm(req.originalUrl);
    if (reason !== null) error = new ProxyError('PATH_REJECTED', reason);
  }
  if (error === null) {
    next();
    return;
  }
  refuse(res, error);
};
