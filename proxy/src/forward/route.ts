/**
 * Everything compiled for one service at startup: its policy, injector, body limits, its
 * forwarder (http-proxy-middleware and the keep-alive agent) and what to do with its answers
 * (Location rewrite, scrubbing). Per request, the exchange only reads these.
 */
import { readCaBundle } from '../config/ca-bundle';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES } from '../config/defaults';
import type { ServiceConfig } from '../config/schema';
import type { HostResolver } from './address-guard';
import type { BodyLimits } from './body-limit';
import { normalizedHeaderName } from './hop-headers';
import type { SecretWriter } from '../secrets/types';
import { compileInjector, injectedHeaderNames, type Injector, type InjectorContext, type TokenBroker } from './inject';
import { compileLocationRewriter } from './location';
import { compilePolicy, type ServicePolicy } from './policy';
import { compileBodyScrubDecision, type BodyScrubDecision } from './scrub/policy';
import { compileServiceLimiter, ServiceLimitStates, type ServiceLimiter } from './service-limits';
import { createUpstream, type Upstream } from './upstream';

/** What the exchange does with a service's answers. */
export interface RelayPolicy {
  /** Time allowed for the upstream to send response headers (connecting included), and then the longest silence between body bytes. */
  readonly timeoutMs: number;
  /** Whether injected secrets are scrubbed from the status line, headers and bodies. */
  readonly scrub: boolean;
  /** Which bodies are scrubbed (every one, unless the service names content types to skip). */
  readonly scrubBody: BodyScrubDecision;
  /** Rewrites a Location inside the service target to the proxy's own URL. */
  readonly rewriteLocation: (location: string) => string;
}

/** One configured service, compiled. */
export interface ServiceRoute {
  readonly name: string;
  readonly secretPath: string;
  readonly policy: ServicePolicy;
  readonly injector: Injector;
  /** Header names the injection sets, normalised (lower case, `_` → `-`): client headers that normalise to one are dropped. */
  readonly injectedNames: ReadonlySet<string>;
  readonly bodyLimits: BodyLimits;
  readonly upstream: Upstream;
  readonly relay: RelayPolicy;
  /** The service's rate and concurrency limits; null when it has none. */
  readonly limiter: ServiceLimiter | null;
}

/** What compiling a route needs besides the service's own config. */
export interface RouteOptions {
  /** Prefix naming the KV mount in error messages ("secret" → "secret/team/github"). */
  kvMountLabel?: string;
  /** External base URL of the proxy, for rewritten upstream Location headers. */
  publicUrl?: string;
  /** Longest wait for the next chunk of a request body (`listen.bodyTimeoutMs`). */
  bodyTimeoutMs?: number;
  /** Resolver instead of the system one (the SSRF guard's tests). */
  resolveHost?: HostResolver;
  /** Limit counters that outlive a config reload; without them the limits start afresh. */
  limitStates?: ServiceLimitStates;
  /** The process's OAuth2 token cache (kept across reloads). */
  tokens?: TokenBroker;
  /** Where a rotated OAuth2 refresh token is written back. */
  secretWriter?: SecretWriter;
}

/**
 * What a service's injector is compiled with besides its config: the target (signed), and for
 * a token endpoint the service's SSRF, TLS and timeout settings, the token cache and the writer.
 * `secure-proxy check` compiles with the same context.
 */
export function injectorContext(name: string, config: ServiceConfig, options: Pick<RouteOptions, 'resolveHost' | 'tokens' | 'secretWriter'>): InjectorContext {
  return {
    service: name,
    secretPath: config.secret,
    target: new URL(config.target),
    broker: options.tokens,
    writer: options.secretWriter,
    allowPrivateAddresses: config.allowPrivateAddresses === true,
    // Validated with the config; read here once, at startup.
    ca: config.caFile === undefined ? undefined : readCaBundle(config.caFile),
    resolveHost: options.resolveHost,
    timeoutMs: config.timeoutMs,
  };
}

/** Compiles one service at startup. */
export function compileRoute(name: string, config: ServiceConfig, options: RouteOptions): ServiceRoute {
  const label = options.kvMountLabel ? `${options.kvMountLabel}/${config.secret}` : config.secret;
  const context = injectorContext(name, config, options);
  return {
    name,
    secretPath: config.secret,
    policy: compilePolicy(name, config),
    injector: compileInjector(config.inject, label, context),
    injectedNames: new Set(injectedHeaderNames(config.inject).map(normalizedHeaderName)),
    bodyLimits: {
      service: name,
      maxBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      idleTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    },
    upstream: createUpstream({
      service: name,
      target: config.target,
      allowPrivateAddresses: context.allowPrivateAddresses,
      ca: context.ca,
      resolveHost: options.resolveHost,
    }),
    relay: {
      timeoutMs: config.timeoutMs,
      scrub: config.scrub !== false,
      scrubBody: compileBodyScrubDecision(config.scrubSkipContentTypes),
      rewriteLocation: compileLocationRewriter({ service: name, target: config.target, publicUrl: options.publicUrl }),
    },
    limiter: compileServiceLimiter(name, config.limits, options.limitStates ?? new ServiceLimitStates()),
  };
}
