/**
 * A copy of the HTTP contract between this node and the secure proxy (header names, routes,
 * error codes with their status and source). The community package may not depend on the
 * proxy package, so the constants are copied from `proxy/src/contract/contract.ts`;
 * `test/unit/node/contract-copy.test.ts` fails as soon as the two drift apart.
 */

/** Header carrying the proxy-made error code on every response the proxy produces itself. */
export const ERROR_HEADER = 'x-secure-proxy-error';
/** Header carrying the request id on every response (generated, or taken from a valid client value). */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Prefix of every proxy-internal header; such headers never travel upstream. */
export const INTERNAL_HEADER_PREFIX = 'x-secure-proxy-';

/**
 * Attribution: which n8n workflow, execution and node sent a request. The node sends each
 * value percent-encoded as UTF-8 (encodeURIComponent) and bounded in length; the proxy
 * records them in the audit line and strips them (like every `x-secure-proxy-*` header)
 * before forwarding. They are claims made by the holder of a valid proxy token, not proof.
 */
export const WORKFLOW_ID_HEADER = 'x-secure-proxy-workflow-id';
export const WORKFLOW_NAME_HEADER = 'x-secure-proxy-workflow-name';
export const EXECUTION_ID_HEADER = 'x-secure-proxy-execution-id';
export const NODE_NAME_HEADER = 'x-secure-proxy-node-name';
/** `true` when the node runs as an AI agent's tool, else `false`. */
export const AI_TOOL_HEADER = 'x-secure-proxy-ai-tool';
/** W3C trace context (n8n's, when it has one); passed through to the upstream, its trace id recorded. */
export const TRACEPARENT_HEADER = 'traceparent';
/** Longest workflow or execution id, in characters, once decoded. */
export const MAX_ATTRIBUTION_ID_LENGTH = 128;
/** Longest workflow or node name, in UTF-16 code units, once decoded; the node shortens longer ones (ending in `…`). */
export const MAX_ATTRIBUTION_NAME_LENGTH = 256;

/** Data plane: `ANY {FORWARD_PREFIX}/{service}/{path}`. */
export const FORWARD_PREFIX = '/forward';
/** Control plane routes, authenticated with the same proxy token. */
export const WHOAMI_PATH = '/v1/whoami';
export const SERVICES_PATH = '/v1/services';
/** Operations routes, unauthenticated, never any secret or client detail. */
export const HEALTH_PATH = '/healthz';
export const READY_PATH = '/readyz';
export const METRICS_PATH = '/metrics';

/** Which side refused or failed: the proxy itself, Vault, or the upstream API. */
export type ErrorSource = 'proxy' | 'vault' | 'upstream';

interface ErrorCodeSpec {
  readonly status: number;
  readonly source: ErrorSource;
  readonly meaning: string;
}

/** Every code the proxy can put into `x-secure-proxy-error`, with its HTTP status and source. */
export const ERROR_CODES = {
  PROXY_TOKEN_MISSING: { status: 401, source: 'proxy', meaning: 'No `Authorization: Bearer <proxy token>` header was sent.' },
  PROXY_TOKEN_INVALID: { status: 401, source: 'proxy', meaning: 'The proxy token is malformed or not known to the proxy.' },
  PROXY_TOKEN_EXPIRED: { status: 401, source: 'proxy', meaning: 'The proxy token was valid but has expired; use the rotated token.' },
  SERVICE_UNKNOWN: { status: 404, source: 'proxy', meaning: 'No service of that name is configured in the proxy.' },
  SERVICE_NOT_ALLOWED: { status: 403, source: 'proxy', meaning: 'The client owning this token may not use that service.' },
  METHOD_NOT_ALLOWED: { status: 405, source: 'proxy', meaning: "The service's policy does not allow this HTTP method." },
  PATH_NOT_ALLOWED: { status: 403, source: 'proxy', meaning: "The service's policy does not allow this path." },
  PATH_REJECTED: {
    status: 400,
    source: 'proxy',
    meaning:
      'The request path could leave the service base (dot segments, encoded slashes, backslashes, NUL, absolute URL) or is not standard percent-encoding (%u escapes, invalid or overlong UTF-8, characters that normalise to a dot or slash).',
  },
  ROUTE_NOT_FOUND: { status: 404, source: 'proxy', meaning: 'No proxy route matches; data plane requests go to /forward/{service}/{path}.' },
  SECRET_NOT_FOUND: { status: 502, source: 'vault', meaning: "The service's secret does not exist in Vault (missing, deleted or destroyed)." },
  SECRET_FIELD_MISSING: {
    status: 502,
    source: 'vault',
    meaning: 'The secret exists in Vault but lacks the field the injection needs, or the value is not usable in a header.',
  },
  VAULT_FORBIDDEN: { status: 502, source: 'vault', meaning: "Vault denied the proxy's token access to the secret (policy)." },
  VAULT_UNAVAILABLE: {
    status: 503,
    source: 'vault',
    meaning:
      "Vault is unreachable, sealed, rate limiting or failing and no cached secret is fresh enough to use, or Vault refused the proxy's own login (then no cached secret is served).",
  },
  UPSTREAM_UNREACHABLE: { status: 502, source: 'upstream', meaning: "The service's upstream refused or dropped the connection." },
  UPSTREAM_TIMEOUT: { status: 504, source: 'upstream', meaning: 'The upstream did not answer within the service timeout.' },
  UPSTREAM_TOKEN_FAILED: {
    status: 502,
    source: 'upstream',
    meaning: "The service's OAuth2 token endpoint refused or failed to issue an access token, so the API was not called.",
  },
  UPSTREAM_UNSCRUBBABLE: {
    status: 502,
    source: 'upstream',
    meaning: 'The upstream answered with a body in a content-encoding the proxy cannot decode, so it cannot be scrubbed of secrets.',
  },
  REQUEST_MALFORMED: {
    status: 400,
    source: 'proxy',
    meaning:
      'The request could not be parsed as safe HTTP (bad header characters such as CR/LF, duplicate or invalid Content-Length, Content-Length together with Transfer-Encoding).',
  },
  HEADERS_TOO_LARGE: { status: 431, source: 'proxy', meaning: 'The request header section is larger than the proxy accepts.' },
  REQUEST_TIMEOUT: { status: 408, source: 'proxy', meaning: 'The client did not send the request headers or the next part of the body in time.' },
  BODY_TOO_LARGE: { status: 413, source: 'proxy', meaning: "The request body is larger than the service's limit." },
  HOST_NOT_ALLOWED: { status: 421, source: 'proxy', meaning: 'The Host header names a host this proxy does not answer for.' },
  PROXY_TOKEN_THROTTLED: { status: 429, source: 'proxy', meaning: 'Too many requests with bad proxy tokens came from this address; wait for Retry-After.' },
  UPSTREAM_ADDRESS_FORBIDDEN: {
    status: 502,
    source: 'proxy',
    meaning: "The service's target resolved to a loopback, private, link-local or metadata address, which the service does not allow.",
  },
  UPSTREAM_TLS_FAILED: {
    status: 502,
    source: 'upstream',
    meaning: "The upstream's TLS certificate could not be verified (unknown CA, expired, wrong host name).",
  },
  NOT_READY: { status: 503, source: 'proxy', meaning: 'The proxy is not ready (Vault not reachable or not authenticated).' },
  SHUTTING_DOWN: { status: 503, source: 'proxy', meaning: 'The proxy is shutting down and takes no new requests.' },
  INTERNAL_ERROR: { status: 500, source: 'proxy', meaning: 'An unexpected error inside the proxy; the request id finds it in the audit log.' },
  UPSTREAM_RESPONSE_INVALID: {
    status: 502,
    source: 'upstream',
    meaning:
      'The upstream answered something the proxy cannot relay faithfully (malformed status line, headers or framing, a protocol switch or interim response nobody asked for), or its connection ended before a complete answer; nothing of that answer was relayed.',
  },
  EXPECTATION_UNSUPPORTED: {
    status: 417,
    source: 'proxy',
    meaning: 'The request carries an Expect header other than 100-continue, which the proxy does not support.',
  },
  WORKFLOW_NOT_ALLOWED: {
    status: 403,
    source: 'proxy',
    meaning:
      'The client may use this service only from the workflows its grant lists (`workflows`), and the request came from another workflow or named none (x-secure-proxy-workflow-id).',
  },
  SERVICE_RATE_LIMITED: {
    status: 429,
    source: 'proxy',
    meaning: "The service's request rate or concurrency limit (`limits`, per proxy replica) is reached; retry after Retry-After seconds.",
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every proxy-made error response. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    source: ErrorSource;
    requestId: string;
  };
}

/** `GET /v1/whoami` answer. */
export interface WhoamiResponse {
  clientId: string;
  tokenId: string | null;
  /** ISO 8601, or null when the token does not expire. */
  expiresAt: string | null;
  /** Whole seconds until expiresAt (0 once reached), or null when the token does not expire. Added after expiresAt; older proxies omit it. */
  expiresInSeconds?: number | null;
  /** True when the token expires within the proxy's tokenExpiryWarningSeconds: time to rotate it. Older proxies omit it. */
  expiringSoon?: boolean;
  services: string[];
}

/** One entry of `GET /v1/services`. */
export interface ServiceSummary {
  name: string;
  description: string;
  methods: string[];
  paths: string[];
}

/** `GET /v1/services` answer: only the services the calling client may use. */
export interface ServicesResponse {
  services: ServiceSummary[];
}
