/**
 * Follows redirects only while they stay inside the service being called (the proxy rewrites
 * an upstream Location that points into the service to its own URL for the service). Like
 * n8n's HTTP client for its legacy requests, only GET and HEAD are followed; any other
 * redirect, and one pointing elsewhere, is returned as the response.
 */
import { resolveServiceReference } from './service-url';
import { headerValue } from './shared/response';
import type { PreparedRequest, ProxyResponse, SendFunction } from './shared/types';

/** The Redirects option. */
export interface RedirectSettings {
  follow: boolean;
  maxRedirects: number;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Sends `request` and follows in-service redirects; `tooMany` is called past `maxRedirects`. */
export async function sendFollowingRedirects(
  send: SendFunction,
  request: PreparedRequest,
  settings: RedirectSettings,
  proxyBaseUrl: string,
  tooMany: (count: number) => never,
): Promise<ProxyResponse> {
  let current = request;
  for (let redirects = 0; ; redirects++) {
    const response = await send(current);
    if (!settings.follow || (current.method !== 'GET' && current.method !== 'HEAD')) return response;
    if (!REDIRECT_STATUSES.has(response.statusCode)) return response;
    const location = headerValue(response.headers, 'location');
    if (location === undefined || location === '') return response;
    const resolved = resolveServiceReference(location, current, proxyBaseUrl, { foreignPathMatch: false });
    if (!resolved.ok) return response;
    if (redirects >= settings.maxRedirects) tooMany(redirects);
    current = { ...current, path: resolved.path, query: resolved.query };
  }
}
