/**
 * The one place that sends HTTP. Every call goes through n8n's
 * `httpRequestWithAuthentication('secureProxyApi', …)`, so n8n applies the credential's
 * `Authorization: Bearer <token>` itself; the node never touches the token.
 *
 * The request asks for the full response with HTTP error statuses ignored and the body as
 * raw bytes: the node reads the status and the proxy's error header itself (errors.ts), and
 * a binary body survives untouched. Redirects are not followed by n8n's client (redirects.ts
 * decides), and the credential is never sent on a cross-origin redirect.
 */
import type { IDataObject, IExecuteFunctions, IHttpRequestMethods, IHttpRequestOptions, ILoadOptionsFunctions } from 'n8n-workflow';
import { requestFailedError, type RequestContext } from './errors';
import { CREDENTIAL_TYPE } from './proxy-target';
import type { HttpMethod, ProxyResponse, ProxyTarget } from './shared/types';

/** Contexts that may send requests: node execution and the editor's option loading. */
export type ProxyCaller = IExecuteFunctions | ILoadOptionsFunctions;

/** One HTTP request to the proxy, by path relative to the proxy base URL. */
export interface WireRequest {
  method: HttpMethod;
  /** Starts with '/', e.g. `/forward/github/user` or `/v1/services`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Milliseconds; undefined uses {@link DEFAULT_TIMEOUT}. */
  timeout?: number;
}

/** Used when the node's Timeout option is not set: long, but never forever. */
export const DEFAULT_TIMEOUT = 300_000;

/** The options n8n's HTTP helper gets for a request. */
export function httpOptionsFor(target: ProxyTarget, request: WireRequest): IHttpRequestOptions {
  return {
    // n8n's type omits OPTIONS; its HTTP client (axios) sends any method.
    method: request.method as IHttpRequestMethods,
    url: `${target.baseUrl}${request.path}`,
    headers: { ...(request.headers ?? {}) },
    ...(request.body === undefined ? {} : { body: request.body }),
    encoding: 'arraybuffer',
    json: false,
    returnFullResponse: true,
    ignoreHttpStatusErrors: true,
    disableFollowRedirect: true,
    sendCredentialsOnCrossOriginRedirect: false,
    timeout: request.timeout ?? DEFAULT_TIMEOUT,
    ...(target.skipTlsVerification ? { skipSslCertificateValidation: true } : {}),
    ...(target.caCertificate ? { agentOptions: { ca: target.caCertificate } } : {}),
  };
}

function toBuffer(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function toHeaders(raw: unknown): ProxyResponse['headers'] {
  const headers: ProxyResponse['headers'] = {};
  if (typeof raw !== 'object' || raw === null) return headers;
  // AxiosHeaders and plain objects both enumerate their header fields.
  for (const [name, value] of Object.entries({ ...(raw as IDataObject) })) {
    if (value === undefined || value === null) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return headers;
}

/** Normalizes what n8n's helper returned (`returnFullResponse: true`) into a {@link ProxyResponse}. */
export function normalizeResponse(raw: unknown): ProxyResponse {
  const full = (typeof raw === 'object' && raw !== null ? raw : {}) as { body?: unknown; headers?: unknown; statusCode?: unknown; statusMessage?: unknown };
  return {
    statusCode: typeof full.statusCode === 'number' ? full.statusCode : 0,
    statusMessage: typeof full.statusMessage === 'string' ? full.statusMessage : '',
    headers: toHeaders(full.headers),
    body: toBuffer(full.body),
  };
}

/**
 * Sends one request through the proxy. An HTTP answer of any status is returned; a request
 * that got no answer (refused, unresolvable, timed out, TLS) throws the node error saying so.
 */
export async function sendToProxy(
  this: ProxyCaller,
  target: ProxyTarget,
  request: WireRequest,
  context: Pick<RequestContext, 'service' | 'itemIndex'> = {},
): Promise<ProxyResponse> {
  const options = httpOptionsFor(target, request);
  let raw: unknown;
  try {
    raw = await this.helpers.httpRequestWithAuthentication.call(this, CREDENTIAL_TYPE, options);
  } catch (error) {
    throw requestFailedError(this.getNode(), error, { ...context, target, timeout: options.timeout });
  }
  return normalizeResponse(raw);
}
