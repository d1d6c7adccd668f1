/**
 * The one error type the proxy answers with, and the one function that turns it into a
 * response. Every refusal names its side (`source`) and a stable `code` from the contract.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Response } from 'express';
import { ERROR_CODES, ERROR_HEADER, REQUEST_ID_HEADER, type ErrorBody, type ErrorCode, type ErrorSource } from './contract';
import type { RequestContext } from '../app/request-context';

/**
 * A refusal or failure the proxy reports to its client. The message must be safe to show:
 * it never contains a secret, a token or a Vault response body.
 */
export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly source: ErrorSource;
  /** Extra headers for the response, e.g. Retry-After. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * What exactly went wrong, for the audit log only: a short fixed key or a Node error code
   * (`reason-phrase`, `HPE_INVALID_CHUNK_SIZE`), never caller- or upstream-chosen text.
   */
  readonly detail: string | null;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string>; detail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.source = ERROR_CODES[code].source;
    this.headers = options.headers ?? {};
    this.detail = options.detail ?? null;
  }
}

/** Wraps anything thrown into a ProxyError; unknown errors become INTERNAL_ERROR without their message. */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return new ProxyError('INTERNAL_ERROR', 'Unexpected error inside the proxy; search the audit log for the request id.', { cause: err });
}

/** Builds the contract's JSON error body. */
export function errorBody(err: ProxyError, requestId: string): ErrorBody {
  return { error: { code: err.code, message: err.message, source: err.source, requestId } };
}

/**
 * Headers set before a proxy error that it keeps: the request id, and `connection`, whose value
 * is always the proxy's own (the upstream's hop-by-hop headers are stripped before relaying).
 */
const KEPT_HEADERS: ReadonlySet<string> = new Set([REQUEST_ID_HEADER, 'connection']);

/**
 * A relay that fails after the upstream's status and headers were copied onto the response, but
 * before anything was sent (a scrubbed body that goes silent before its first byte), would
 * otherwise answer the proxy's error with the upstream's `set-cookie`, reason phrase and
 * whatever else it said: a proxy-made answer must carry nothing the upstream chose.
 */
function dropUpstreamHead(res: ServerResponse): void {
  for (const name of res.getHeaderNames()) if (!KEPT_HEADERS.has(name)) res.removeHeader(name);
  res.statusMessage = STATUS_CODES[res.statusCode] ?? '';
}

/**
 * Writes a proxy-made error response. When the response has already started (an upstream
 * answer was being relayed) the only honest thing left is to cut the connection.
 */
export function sendProxyError(res: ServerResponse, err: ProxyError, requestId: string): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(errorBody(err, requestId));
  res.statusCode = err.status;
  dropUpstreamHead(res);
  res.setHeader(ERROR_HEADER, err.code);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.end(body);
}

/**
 * Refuses a request: records the code and source in the request context (so the audit line
 * and metrics name them) and writes the contract error. Works before request tracking ran
 * too, by giving the response a request id of its own.
 */
export function refuse(res: Response, error: ProxyError): void {
  const ctx = res.locals.ctx as RequestContext | undefined;
  let requestId: string;
  if (ctx === undefined) {
    requestId = randomUUID();
    if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, requestId);
  } else {
    recordError(ctx, error);
    requestId = ctx.requestId;
  }
  sendProxyError(res, error, requestId);
}

/** Notes a refusal or failure in the request's context, for its audit line and metrics. */
export function recordError(ctx: RequestContext, error: ProxyError): void {
  ctx.errorCode = error.code;
  ctx.errorSource = error.source;
  ctx.errorDetail = error.detail;
}
