/**
 * The data the node's modules pass between each other: where the proxy is, one request
 * through it, and what came back. Plain data, so every module can be tested alone.
 */
import type { INodeExecutionData } from 'n8n-workflow';

/** How to reach the proxy, read from the "Secure Proxy API" credential. Never holds the token. */
export interface ProxyTarget {
  /** Proxy base URL without a trailing slash, e.g. `https://secure-proxy.internal:8080`. */
  baseUrl: string;
  /** PEM CA bundle to trust for the proxy's TLS certificate; undefined means the system CAs. */
  caCertificate?: string;
  /** Skip TLS certificate checks (labs only). */
  skipTlsVerification: boolean;
}

/** HTTP methods the node offers. */
export type HttpMethod = 'DELETE' | 'GET' | 'HEAD' | 'OPTIONS' | 'PATCH' | 'POST' | 'PUT';

/** One request to a proxy service, before it is turned into a URL. */
export interface PreparedRequest {
  method: HttpMethod;
  /** Service name as configured in the proxy. */
  service: string;
  /** Path relative to the service: '' or starting with '/'. Validated, raw (not re-encoded). */
  path: string;
  /** Query string without '?', '' when none. */
  query: string;
  /** Header names as the user wrote them; never Authorization or a proxy-internal header. */
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The JSON body as an object, when the body is JSON: pagination may set a field in it. */
  jsonBody?: Record<string, unknown>;
  /** Milliseconds to wait for the proxy's answer. */
  timeout?: number;
}

/** What the proxy answered, status and headers as received, body as raw bytes. */
export interface ProxyResponse {
  statusCode: number;
  statusMessage: string;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Sends one prepared request through the proxy (see transport.ts). */
export type SendFunction = (request: PreparedRequest) => Promise<ProxyResponse>;

/** An output item before the node adds `pairedItem`. */
export type OutputItem = Pick<INodeExecutionData, 'json' | 'binary'>;
