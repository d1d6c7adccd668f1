/**
 * Turns what went wrong into errors a workflow builder can act on. Three failures look alike
 * in n8n's generic messages and must not here:
 *
 * - the proxy made the response itself (`x-secure-proxy-error` + contract JSON body): say
 *   whether the proxy, Vault or the upstream connection failed, the code, and what to do;
 * - the API answered with an error and the proxy relayed it: say the API answered, with its
 *   status and (a truncated copy of) its body;
 * - the proxy could not be reached at all: say so, with the proxy URL and what to check.
 *
 * n8n rewrites error messages that mention common Node error codes ("ECONNREFUSED" → "The
 * service refused the connection - perhaps it is offline"), so every error built here sets
 * its message and description again after construction. No error built here carries the
 * request headers or the original error as `cause`: the Authorization header lives there.
 */
import { NodeApiError, NodeOperationError, type IDataObject, type INode, type JsonObject } from 'n8n-workflow';
import { ERROR_CODES, ERROR_HEADER, REQUEST_ID_HEADER, type ErrorCode, type ErrorSource } from './shared/contract';
import { hintFor } from './shared/error-hints';
import { headerValue, parseJsonBody } from './shared/response';
import type { ProxyResponse, ProxyTarget } from './shared/types';

/** Longest piece of a response body quoted in an error description. */
export const MAX_BODY_EXCERPT = 1000;

/** A proxy-made error, read from the response. */
export interface ProxyErrorInfo {
  code: string;
  source: ErrorSource;
  message: string;
  requestId?: string;
  status: number;
}

/** Where a request went, for wording the messages. `service` is absent for control-plane calls. */
export interface RequestContext {
  target: ProxyTarget;
  service?: string;
  itemIndex?: number;
  /** The timeout the request ran with, for the timeout message. */
  timeout?: number;
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

function isSource(value: unknown): value is ErrorSource {
  return value === 'proxy' || value === 'vault' || value === 'upstream';
}

/** Masks anything that looks like a bearer token or a proxy token in text quoted from elsewhere. */
export function redactTokens(text: string): string {
  return text.replace(/\b(Bearer)\s+[A-Za-z0-9._~+/-]+=*/gi, '$1 ***').replace(/\bspt_[A-Za-z0-9_-]+/g, 'spt_***');
}

/** Reads the proxy's own error from a response, or null when the response was relayed from the API. */
export function readProxyError(response: ProxyResponse): ProxyErrorInfo | null {
  const headerCode = headerValue(response.headers, ERROR_HEADER);
  if (headerCode === undefined) return null;
  const parsed = parseJsonBody(response.body);
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: Record<string, unknown> }).error : undefined;
  const code = typeof error?.code === 'string' ? error.code : headerCode;
  const fallbackSource: ErrorSource = isKnownCode(code) ? ERROR_CODES[code].source : 'proxy';
  const fallbackMessage = isKnownCode(code) ? ERROR_CODES[code].meaning : 'The secure proxy reported an error.';
  return {
    code,
    source: isSource(error?.source) ? error.source : fallbackSource,
    message: redactTokens(typeof error?.message === 'string' && error.message !== '' ? error.message : fallbackMessage),
    requestId: typeof error?.requestId === 'string' ? error.requestId : headerValue(response.headers, REQUEST_ID_HEADER),
    status: response.statusCode,
  };
}

/**
 * Headline and details of a proxy-made error. The headline says which side failed and what to
 * do, in the editor's words ("Pick a service from the Service list"); the proxy's own message,
 * written for whoever runs the proxy ("GET /v1/services lists …"), follows in the details.
 */
export function describeProxyError(info: ProxyErrorInfo, service?: string): { message: string; description: string } {
  const forService = service === undefined ? '' : ` for service "${service}"`;
  const side =
    info.source === 'vault'
      ? `The secure proxy could not get the API credential${forService} from Vault`
      : info.source === 'upstream'
        ? `The secure proxy could not reach the API${forService}`
        : `The secure proxy refused the request${forService}`;
  const requestId = info.requestId === undefined ? '' : ` Proxy request id: ${info.requestId}.`;
  return {
    message: `${side} (${info.code}): ${hintFor(info.code)}`,
    description: `The proxy said: ${info.message}${requestId}`,
  };
}

function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  return /^text\/|[/+](json|xml)\b|javascript|x-www-form-urlencoded/i.test(contentType);
}

/** A short, token-free excerpt of a response body for an error description. */
export function bodyExcerpt(response: ProxyResponse): string {
  if (response.body.length === 0) return '(empty body)';
  const contentType = headerValue(response.headers, 'content-type');
  if (!isTextual(contentType)) return `(${response.body.length} bytes of ${contentType})`;
  const text = redactTokens(response.body.toString('utf8'));
  if (text.length <= MAX_BODY_EXCERPT) return text;
  return `${text.slice(0, MAX_BODY_EXCERPT)}… (${text.length - MAX_BODY_EXCERPT} more characters)`;
}

/** Headline and details of an API error the proxy relayed unchanged. */
export function describeUpstreamError(response: ProxyResponse, service: string): { message: string; description: string } {
  const status = `${response.statusCode}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
  const requestId = headerValue(response.headers, REQUEST_ID_HEADER);
  return {
    message: `The API of service "${service}" answered with ${status}`,
    description:
      `The error comes from the API itself; the secure proxy relayed its answer unchanged.${requestId ? ` Proxy request id: ${requestId}.` : ''}\n` +
      `Response body: ${bodyExcerpt(response)}`,
  };
}

/**
 * Headline and details when a control-plane call (whoami, services) got an error without the
 * proxy's error header: something else answers at the Proxy URL.
 */
export function describeForeignError(response: ProxyResponse, target: ProxyTarget): { message: string; description: string } {
  return {
    message: `The server at ${target.baseUrl} answered with ${response.statusCode} without the secure proxy's error header`,
    description:
      'Check that the Proxy URL in the "Secure Proxy API" credential points at the secure proxy (scheme, host, port, no extra path).\n' +
      `Response body: ${bodyExcerpt(response)}`,
  };
}

/** Network-level failures reaching the proxy, by error code: what happened and what to check. */
const CONNECTION_FAILURES: Readonly<Record<string, { what: string; check: string }>> = {
  ECONNREFUSED: {
    what: 'connection refused',
    check: 'Check that the proxy is running and listens on that host and port, and that the Proxy URL in the "Secure Proxy API" credential is right.',
  },
  ENOTFOUND: {
    what: 'host name not found',
    check: 'Check the host name in the Proxy URL of the "Secure Proxy API" credential, and that n8n can resolve it (DNS).',
  },
  EAI_AGAIN: {
    what: 'DNS lookup failed',
    check: 'Check the host name in the Proxy URL of the "Secure Proxy API" credential and the DNS n8n uses; retry.',
  },
  ECONNRESET: {
    what: 'connection reset',
    check:
      'The proxy, or a load balancer or firewall on the way, closed the connection. Check the proxy log and that the Proxy URL uses the right scheme (http or https); retry.',
  },
  EPIPE: {
    what: 'connection closed while sending',
    check: 'The proxy, or a load balancer or firewall on the way, closed the connection. Check the proxy log; retry.',
  },
  ETIMEDOUT: {
    what: 'connection timed out',
    check: 'Check that n8n can reach the proxy at that host and port (firewall, network policy) and that the proxy is running.',
  },
  EHOSTUNREACH: {
    what: 'host unreachable',
    check: 'Check the network route from n8n to the proxy and the host in the Proxy URL of the "Secure Proxy API" credential.',
  },
  ENETUNREACH: {
    what: 'network unreachable',
    check: 'Check the network route from n8n to the proxy and the host in the Proxy URL of the "Secure Proxy API" credential.',
  },
};

/** TLS failures: the proxy answered, but its certificate was not accepted. */
const TLS_FAILURE_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The code axios uses for its own timeout (the node's Timeout option). */
const TIMEOUT_CODE = 'ECONNABORTED';

/** Finds the first string `code` on an error or its causes (n8n wraps the axios error in a NodeApiError). */
export function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function innermostMessage(error: unknown): string {
  let current: unknown = error;
  let message = '';
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return redactTokens(message);
}

/** Headline and details when the request never got an HTTP answer from the proxy. */
export function describeRequestFailure(error: unknown, context: RequestContext): { message: string; description: string; code?: string } {
  const url = context.target.baseUrl;
  const code = errorCodeOf(error);
  if (code === TIMEOUT_CODE) {
    const waited = context.timeout === undefined ? '' : ` within ${context.timeout} ms`;
    return {
      code,
      message: `The secure proxy at ${url} did not answer${waited} (timeout)`,
      description:
        "Check that the proxy is running and reachable from n8n. If the API is just slow, raise the node's Timeout option (the proxy has its own per-service timeout too).",
    };
  }
  if (code !== undefined && code in CONNECTION_FAILURES) {
    const failure = CONNECTION_FAILURES[code];
    return { code, message: `The secure proxy is unreachable at ${url}: ${failure.what} (${code})`, description: failure.check };
  }
  if (code !== undefined && TLS_FAILURE_CODES.has(code)) {
    return {
      code,
      message: `The TLS connection to the secure proxy at ${url} failed: its certificate was not accepted (${code})`,
      description:
        'Put the CA certificate that signed the proxy\'s certificate into the "CA Certificate" field of the "Secure Proxy API" credential, or check that the Proxy URL uses the right scheme and host name. "Ignore SSL Issues" is for labs only.',
    };
  }
  const detail = innermostMessage(error);
  return {
    code,
    message: `The request to the secure proxy at ${url} failed${detail ? `: ${detail}` : ''}`,
    description: 'Check the Proxy URL in the "Secure Proxy API" credential and that the proxy is running.',
  };
}

/** Builds a NodeApiError whose message and description stay exactly as given. */
export function apiError(
  node: INode,
  fields: { message: string; description: string; httpCode?: string; itemIndex?: number; context?: JsonObject },
): NodeApiError {
  // A plain, token-free object as the "error response": never the original error, which
  // carries the request configuration (and with it the Authorization header).
  const summary: JsonObject = { message: fields.message, ...(fields.httpCode ? { httpCode: fields.httpCode } : {}) };
  const error = new NodeApiError(node, summary, {
    message: fields.message,
    description: fields.description,
    httpCode: fields.httpCode,
    itemIndex: fields.itemIndex,
  });
  error.message = fields.message;
  error.description = fields.description;
  if (fields.context) Object.assign(error.context, fields.context);
  return error;
}

/** Builds a NodeOperationError (a parameter the user must fix) whose message stays exactly as given. */
export function parameterError(node: INode, message: string, options: { description?: string; itemIndex?: number } = {}): NodeOperationError {
  const error = new NodeOperationError(node, message, options);
  error.message = message;
  return error;
}

/**
 * The error for a response, or null when the response is a success (status below 400).
 * A proxy-made response and a relayed API error give different errors.
 */
export function errorForResponse(node: INode, response: ProxyResponse, context: RequestContext): NodeApiError | null {
  if (response.statusCode < 400) return null;
  const proxyError = readProxyError(response);
  if (proxyError !== null) {
    const described = describeProxyError(proxyError, context.service);
    return apiError(node, {
      ...described,
      httpCode: String(response.statusCode),
      itemIndex: context.itemIndex,
      context: {
        proxyErrorCode: proxyError.code,
        proxyErrorSource: proxyError.source,
        ...(proxyError.requestId ? { proxyRequestId: proxyError.requestId } : {}),
        ...(context.service ? { service: context.service } : {}),
      },
    });
  }
  const described = context.service === undefined ? describeForeignError(response, context.target) : describeUpstreamError(response, context.service);
  const requestId = headerValue(response.headers, REQUEST_ID_HEADER);
  return apiError(node, {
    ...described,
    httpCode: String(response.statusCode),
    itemIndex: context.itemIndex,
    context: { ...(context.service ? { service: context.service } : {}), ...(requestId ? { proxyRequestId: requestId } : {}) },
  });
}

/**
 * The error for a request that got no HTTP answer. Errors n8n raised about the node's own
 * setup (a NodeOperationError, e.g. no credential selected) are returned as they are.
 */
export function requestFailedError(node: INode, error: unknown, context: RequestContext): NodeApiError | NodeOperationError {
  if (error instanceof NodeOperationError) return error;
  const described = describeRequestFailure(error, context);
  return apiError(node, {
    message: described.message,
    description: described.description,
    itemIndex: context.itemIndex,
    context: { proxyUrl: context.target.baseUrl, ...(described.code ? { errorCode: described.code } : {}) },
  });
}

/** Any error from running an item as a node error naming the item (unexpected errors included). */
export function asNodeError(node: INode, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
  if (error instanceof NodeApiError || error instanceof NodeOperationError) {
    if (error.context.itemIndex === undefined) error.context.itemIndex = itemIndex;
    return error;
  }
  return new NodeOperationError(node, error instanceof Error ? error : String(error), { itemIndex });
}

/** The output JSON of a failed item when "Continue On Fail" is on: what failed, never request details. */
export function errorItemJson(error: NodeApiError | NodeOperationError): IDataObject {
  const json: IDataObject = { error: error.message };
  if (error.description) json.description = error.description;
  if (error instanceof NodeApiError && error.httpCode) json.httpCode = error.httpCode;
  for (const key of ['proxyErrorCode', 'proxyErrorSource', 'proxyRequestId', 'service'] as const) {
    if (error.context[key] !== undefined) json[key] = error.context[key];
  }
  return json;
}
