/**
 * Composition: wires config, Vault, token auth, forwarding and observability into one
 * express app. Nothing here does work of its own; each stage lives in its module.
 *
 * Order matters: request tracking wraps everything so every response, refusals included,
 * gets a request id and one audit line; unsafe request targets and methods (and, with
 * listen.allowedHosts, foreign Host headers) are refused before any route sees them; ops routes need no token; the control and data planes need one.
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'winston';
import { FORWARD_PREFIX, HEALTH_PATH, METRICS_PATH, READY_PATH } from '../contract/contract';
import type { ProxyConfig } from '../config/schema';
import { ProxyError, refuse, toProxyError } from '../contract/proxy-error';
import { authenticate } from '../auth/bearer';
import { createAuthThrottle } from '../auth/throttle';
import { createClientSource } from '../auth/client-source';
import { controlRoutes, summarizeServices } from './control-routes';
import { createForwardHandler, TokenBroker, unsafeTargetProblem, type ServiceLimitStates } from '../forward';
import { expectGuard, expectationProblem } from '../listener/expect-guard';
import { hostCheck } from '../listener/host-guard';
import { ProxyEvents } from '../observability/events';
import { createLogger } from '../observability/logger';
import { SecretRedactor } from '../observability/redaction';
import { createMetrics, type ProxyMetrics } from '../observability/metrics';
import { attachAuditLog } from '../observability/audit';
import { requestTracking } from '../observability/request-log';
import { healthz, metricsHandler, readyz, type Readiness } from '../observability/health';
import { contextOf, type RequestContext } from './request-context';
import { mountEntry } from './front-door';
import { isOpsPath } from './ops-routes';
import { createVaultSecrets } from '../vault';
import { createKvWriter } from '../vault/kv-writer';
import type { SecretProvider, SecretReader } from '../secrets/types';

export interface ProxyAppOptions {
  /** Logger to use instead of one built from config (tests capture output this way). */
  logger?: Logger;
  /** Shared with the logger; secret values read from Vault are registered here. */
  redactor?: SecretRedactor;
  /**
   * Metrics shared with other apps of the same process (a config reload): this app's events
   * are counted into them, and stop() detaches only this app. Without it the app owns its own,
   * without the process and Node.js metrics: those are process-wide collectors that nothing can
   * remove (see createMetrics), so the process registers them once (runProxy does).
   */
  metrics?: ProxyMetrics;
  /**
   * Per-service limit counters shared with other apps of the same process (a config reload),
   * so a reload neither refills a service's bucket nor forgets its requests in flight.
   */
  limitStates?: ServiceLimitStates;
  /** OAuth2 access tokens shared with the other apps of the process, so a reload does not mint them again. */
  tokens?: TokenBroker;
}

export interface ProxyApp {
  app: Express;
  /** What the ops listener serves (config `ops`): `/healthz`, `/readyz` with its reason, `/metrics`. */
  ops: Express;
  config: ProxyConfig;
  events: ProxyEvents;
  logger: Logger;
  metrics: ProxyMetrics;
  secrets: SecretProvider;
  /** Logs into Vault and starts token renewal. Resolves after the first attempt, successful or not. */
  start(): Promise<void>;
  /** Stops timers and pooled connections; call after the listener closed. */
  stop(): Promise<void>;
  /** Marks the app as shutting down: readiness fails so load balancers stop sending. */
  beginShutdown(): void;
  /** Whether the app can serve now (Vault reachable and authenticated), as `/readyz` reports it. */
  readiness(): Readiness;
}

/** Builds the proxy app for a validated config. */
export function createProxyApp(config: ProxyConfig, options: ProxyAppOptions = {}): ProxyApp {
  const events = new ProxyEvents();
  const redactor = options.redactor ?? new SecretRedactor();
  const logger = options.logger ?? createLogger({ level: config.logging.level, redactor });
  const metricsScope = { isKnownService: (name: string) => Object.hasOwn(config.services, name) };
  const metrics = options.metrics ?? createMetrics(null, { defaultMetrics: false });
  const detachMetrics = metrics.observe(events, metricsScope);
  attachAuditLog(events, logger);

  const vault = createVaultSecrets(config, events, { onSecretRead: (values) => values.forEach((v) => redactor.add(v)) });
  const clients = createClientSource(config, vault.session, events, logger);
  const summaries = summarizeServices(config.services);
  let shuttingDown = false;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  const tracking = requestTracking(events, { route: routeOf });
  const authThrottle = createAuthThrottle(config.authThrottle, events);
  const auth = authenticate(() => clients.directory, authThrottle?.onFailure);
  // Minted OAuth2 tokens and rotated refresh tokens join the log redactor like Vault values.
  const tokens = options.tokens ?? new TokenBroker();
  const detachTokens = tokens.observe({
    onSecret: (values) => values.forEach((v) => redactor.add(v)),
    onEvent: (event) => events.emit('upstream:token', event),
  });
  const forward = createForwardHandler({
    services: config.services,
    secrets: vault.secrets,
    tokens,
    secretWriter: createKvWriter(vault.session, { mount: config.vault.kvMount, version: config.vault.kvVersion }),
    kvMountLabel: config.vault.kvMount,
    publicUrl: config.listen.publicUrl,
    bodyTimeoutMs: config.listen.bodyTimeoutMs,
    limitStates: options.limitStates,
    onUnexpected: (error, requestId) => events.emit('request:unexpected', { requestId, error }),
  });
  const onError = errorHandler(logger);
  // Tracking, attribution and the checks for every request; `/forward/` requests then go
  // straight to authentication and forwarding, without express (see front-door.ts).
  mountEntry(app, {
    tracking,
    checks: [expectationProblem, unsafeTargetProblem, hostCheck(config.listen.allowedHosts)],
    authenticate: auth,
    forward,
    onError,
  });

  app.get(HEALTH_PATH, healthz);
  const readiness = (): Readiness => (shuttingDown ? { ready: false, reason: 'shutting down' } : vault.session.readiness());
  // Ready or not, never why: the reason can name the Vault auth method and address.
  app.get(READY_PATH, readyz(readiness, 'summary'));
  // /metrics names every client and service: with an ops listener, only there.
  if (config.ops === undefined) app.get(METRICS_PATH, metricsHandler(metrics));

  app.use('/v1', auth);
  app.use(controlRoutes(() => summaries, config.tokenExpiryWarningSeconds));
  // The rest of the data plane's spellings (`/forward` alone, other letter cases), as express matches them.
  app.use(FORWARD_PREFIX, auth, forward);
  app.use(notFound);
  app.use(onError);

  const ops = express();
  ops.disable('x-powered-by');
  ops.set('etag', false);
  ops.set('query parser', false);
  const opsTracking = requestTracking(events, { route: () => 'ops' });
  ops.use(opsTracking);
  ops.use(expectGuard);
  ops.get(HEALTH_PATH, healthz);
  ops.get(READY_PATH, readyz(readiness, 'reason'));
  ops.get(METRICS_PATH, metricsHandler(metrics));
  ops.use(opsNotFound);
  ops.use(errorHandler(logger));

  return {
    app,
    ops,
    config,
    events,
    logger,
    metrics,
    secrets: vault.secrets,
    start: async () => {
      await vault.start();
      await clients.start();
    },
    stop: async () => {
      // The listeners have closed: the last requests' records go out before anything they use stops.
      tracking.flush();
      opsTracking.flush();
      clients.stop();
      await vault.stop();
      forward.close();
      detachTokens();
      authThrottle?.close();
      detachMetrics();
    },
    beginShutdown: () => {
      shuttingDown = true;
    },
    readiness,
  };
}

function routeOf(path: string): RequestContext['route'] {
  if (path.startsWith(`${FORWARD_PREFIX}/`)) return 'forward';
  if (path.startsWith('/v1/')) return 'control';
  if (isOpsPath(path)) return 'ops';
  return 'other';
}

/** Client input quoted back in a message is clipped: a megabyte path must not come back as a megabyte error. */
function excerpt(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

const opsNotFound: RequestHandler = (req, res) => {
  refuse(
    res,
    new ProxyError(
      'ROUTE_NOT_FOUND',
      `No route for ${excerpt(req.method)} ${excerpt(req.path)} on the ops listener: it serves ${HEALTH_PATH}, ${READY_PATH} and ${METRICS_PATH}.`,
    ),
  );
};

const notFound: RequestHandler = (req, res) => {
  refuse(
    res,
    new ProxyError(
      'ROUTE_NOT_FOUND',
      `No route for ${excerpt(req.method)} ${excerpt(req.path)}. Data plane requests go to ${FORWARD_PREFIX}/{service}/{path}.`,
    ),
  );
};

/** Last resort: anything thrown becomes a contract error; unknown errors are logged without their details leaking out. */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const error = toProxyError(err);
    if (error.code === 'INTERNAL_ERROR') logger.error('unexpected error', { requestId: contextOf(res)?.requestId, error: err });
    refuse(res, error);
  };
}

export type { SecretReader };
