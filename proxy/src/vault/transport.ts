/**
 * The HTTP layer under node-vault. node-vault lets its `'request-promise'` option replace the
 * axios instance it would build itself; we do that to get three things node-vault's own layer
 * does not give:
 *
 * - every call has a deadline (node-vault sets no timeout);
 * - redirects are never followed: a standby answering 307 would otherwise make axios re-send
 *   the `X-Vault-Token` to whatever host the Location names. The 307 comes back as a response,
 *   node-vault rejects it, and `classifyVaultError` explains it;
 * - failures never carry the token: axios errors hold the request config (headers included),
 *   so they are replaced by a `VaultTransportError` with only a code and a safe message;
 * - a request that meets a pooled connection the server has closed is sent once more, on
 *   another one (see `isStaleConnectionReset`).
 *
 * node-vault's command functions, response handling and token handling stay as they are.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { readCaBundle } from '../config/ca-bundle';
import { FREE_SOCKET_TIMEOUT_MS, metClosedPooledConnection } from '../shared/pooled-connections';

/** Headers of a non-2xx Vault answer that error classification needs (node-vault drops headers). */
export interface VaultResponseMeta {
  status: number;
  retryAfter: string | null;
  location: string | null;
}

/**
 * Key under which a non-2xx response body carries its `VaultResponseMeta`. Non-enumerable,
 * so it never shows up when a body is serialised.
 */
export const VAULT_RESPONSE_META: unique symbol = Symbol('vault.responseMeta');

/**
 * Set this key to true in a node-vault call's `requestOptions` to send the request without
 * `X-Vault-Token` (logins: a stale token has no business travelling with a login).
 */
export const ANONYMOUS_REQUEST = 'secureProxyAnonymous';

/** A transport failure (no HTTP answer). `code` is the Node/axios code, e.g. ECONNREFUSED or ETIMEDOUT. */
export class VaultTransportError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VaultTransportError';
    this.code = code;
  }
}

/** What node-vault hands its request function (the subset we use). */
interface RpOptions {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
  [ANONYMOUS_REQUEST]?: boolean;
}

/** What node-vault expects back. */
interface RpResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

type RequestFn = (options: RpOptions) => Promise<RpResponse>;

/** The object node-vault's `'request-promise'` option expects: `.defaults(rpDefaults)` → request function. */
export interface RequestPromiseLike {
  defaults(rpDefaults: Record<string, unknown>): RequestFn;
}

export interface VaultTransportOptions {
  /** Deadline for one whole Vault call, connect to last byte. */
  timeoutMs: number;
  /**
   * PEM file with the CA that signed Vault's certificate; read once, here. Config validation
   * already checked it; a file broken since then throws a CaBundleError instead of leaving the
   * client trusting nothing.
   */
  caFile?: string;
}

/** A transport to pass to node-vault, and a way to close its pooled sockets. */
export interface VaultTransport {
  requestPromise: RequestPromiseLike;
  /** Destroys the keep-alive sockets so the process (and jest) can exit. */
  close(): void;
}

/** Vault answers are small; anything this large is not Vault. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Builds the axios-based transport for node-vault's `'request-promise'` option. */
export function createVaultTransport(options: VaultTransportOptions): VaultTransport {
  // Idle connections are let go before Vault (or a load balancer) closes them, where it says when.
  const pool = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS };
  const httpAgent = new http.Agent(pool);
  const httpsAgent = new https.Agent({
    ...pool,
    ...(options.caFile === undefined ? {} : { ca: readCaBundle(options.caFile) }),
  });
  const instance = axios.create({
    adapter: 'http',
    // 0 selects Node's own http/https instead of follow-redirects: a 3xx is returned as is.
    maxRedirects: 0,
    validateStatus: () => true,
    timeout: options.timeoutMs,
    transitional: { clarifyTimeoutError: true },
    // An environment proxy would see the Vault token; Vault is reached directly.
    proxy: false,
    maxContentLength: MAX_RESPONSE_BYTES,
    httpAgent,
    httpsAgent,
  });

  const request = (rp: RpOptions) => send(instance, rp, options.timeoutMs);
  return {
    // rpDefaults (json, strictSSL from VAULT_SKIP_VERIFY, ...) are ignored on purpose: JSON is
    // always on, and TLS verification is only ever relaxed by configuring a CA, not an env var.
    requestPromise: { defaults: () => request },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

async function send(instance: AxiosInstance, rp: RpOptions, timeoutMs: number): Promise<RpResponse> {
  const headers = { ...rp.headers };
  if (rp[ANONYMOUS_REQUEST] === true) delete headers['X-Vault-Token'];
  // axios's own timeout is per socket phase; this bounds the whole call.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  timer.unref();
  const config = {
    method: rp.method,
    url: rp.uri,
    headers,
    data: rp.json !== undefined && typeof rp.json === 'object' ? rp.json : undefined,
    signal: deadline.signal,
  };
  try {
    let response;
    try {
      response = await instance.request(config);
    } catch (err) {
      if (deadline.signal.aborted || !isStaleConnectionReset(err)) throw err;
      // Once, on another connection: see isStaleConnectionReset.
      response = await instance.request(config);
    }
    const ok = response.status >= 200 && response.status < 300;
    return {
      statusCode: response.status,
      body: ok ? response.data : withMeta(response.data, response.status, response.headers),
      request: { path: new URL(rp.uri).pathname },
    };
  } catch (err) {
    throw sanitize(err, deadline.signal.aborted, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** A call that met a pooled connection Vault had closed, with no answer (see metClosedPooledConnection). */
function isStaleConnectionReset(err: unknown): boolean {
  if (!axios.isAxiosError(err) || err.response !== undefined) return false;
  return metClosedPooledConnection(err.request as { reusedSocket?: boolean } | undefined, errorCode(err));
}

/**
 * node-vault keeps only status and body of a failed answer; the headers classification needs
 * ride along on the body. A non-object body (empty, HTML from a redirect) becomes `{}` so
 * node-vault's `body.errors` check still works.
 */
function withMeta(data: unknown, status: number, headers: Record<string, unknown>): object {
  const body: object = data !== null && typeof data === 'object' ? data : {};
  const meta: VaultResponseMeta = {
    status,
    retryAfter: headerValue(headers['retry-after']),
    location: headerValue(headers.location),
  };
  Object.defineProperty(body, VAULT_RESPONSE_META, { value: meta, enumerable: false });
  return body;
}

function headerValue(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return null;
}

/** Keeps the code, drops everything that could hold the token (config, request, headers). */
function sanitize(err: unknown, deadlineHit: boolean, timeoutMs: number): VaultTransportError {
  if (deadlineHit) return new VaultTransportError('ETIMEDOUT', `Vault did not answer within ${timeoutMs} ms`);
  const code = errorCode(err);
  return new VaultTransportError(code, `Vault request failed (${code})`);
}

function errorCode(err: unknown): string {
  const own = (err as { code?: unknown } | null)?.code;
  if (typeof own === 'string') return own;
  // Some axios failures keep the socket's code only on the cause.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined)?.code : undefined;
  return typeof cause === 'string' ? cause : 'EUNKNOWN';
}
