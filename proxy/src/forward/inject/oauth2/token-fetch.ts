/**
 * The HTTP leg of a token request: oauth4webapi builds and checks the exchange, this sends it
 * through the same guarded connection path as the service's API requests (the SSRF address
 * guard, the service's CA bundle), never following a redirect, with a bounded answer.
 */
import http from 'node:http';
import https from 'node:https';
import type { HostResolver } from '../../address-guard';
import { createUpstreamAgent } from '../../upstream-agent';
import { FREE_SOCKET_TIMEOUT_MS } from '../../../shared/pooled-connections';

/** A token response is a small JSON object; anything longer is not one. */
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

/** How a token endpoint is reached. */
export interface TokenEndpointConnection {
  tokenUrl: URL;
  allowPrivateAddresses: boolean;
  ca?: string;
  resolveHost?: HostResolver;
}

/** The fetch oauth4webapi calls (its `customFetch`), over a keep-alive agent guarded like the service's. */
export type TokenFetch = ((
  url: string,
  options: { body?: unknown; headers: Record<string, string>; method: string; signal?: AbortSignal },
) => Promise<Response>) & {
  close(): void;
};

export function createTokenFetch(connection: TokenEndpointConnection): TokenFetch {
  const agent = createUpstreamAgent({
    target: connection.tokenUrl,
    pool: { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS },
    allowPrivateAddresses: connection.allowPrivateAddresses,
    ca: connection.ca,
    resolveHost: connection.resolveHost,
  });
  const send = (url: string, options: { body?: unknown; headers: Record<string, string>; method: string; signal?: AbortSignal }): Promise<Response> =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      // oauth4webapi only ever asks for the configured endpoint; anything else is a bug, not a request to make.
      if (target.origin !== connection.tokenUrl.origin) {
        reject(new Error('the token request went to another origin than inject.tokenUrl'));
        return;
      }
      // oauth4webapi sends token requests form-encoded, as URLSearchParams.
      const body = options.body instanceof URLSearchParams ? Buffer.from(options.body.toString(), 'utf8') : undefined;
      const request = (target.protocol === 'https:' ? https : http).request(target, {
        method: options.method,
        agent,
        headers: body === undefined ? options.headers : { ...options.headers, 'content-length': String(body.length) },
        signal: options.signal,
      });
      request.once('error', reject);
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_TOKEN_RESPONSE_BYTES) {
            response.destroy(new Error(`the token endpoint answered more than ${MAX_TOKEN_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (value === undefined) continue;
            for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
          }
          const status = response.statusCode ?? 502;
          // Response refuses a body on 204/205/304; a token endpoint has no business sending those anyway.
          const nullBody = status === 204 || status === 205 || status === 304;
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers }));
        });
      });
      request.end(body);
    });
  return Object.assign(send, { close: () => agent.destroy() });
}
