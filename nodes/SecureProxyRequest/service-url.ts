/**
 * Turns a URL an API handed back (a next-page link, a redirect Location) into a path inside
 * the same proxy service, or refuses it. A request this node sends never leaves the proxy
 * service the user picked: the proxy's URL for that service becomes a service path, a
 * relative reference is resolved against the current path, and anything pointing elsewhere
 * is refused, with one exception for pagination: a link to the API's own host whose path
 * ends with the current path (`https://api.example.com/v2/items?page=2` while requesting
 * `/items`) keeps the current path and takes only the new query, since the node cannot know
 * the service's base path on the API host.
 */
import { FORWARD_PREFIX } from './shared/contract';
import { findPathProblem, normalizeServicePath } from './request/path';

/** Where the current request went. */
export interface ServiceLocation {
  service: string;
  /** Current path relative to the service ('' or starting with '/'). */
  path: string;
}

/** A service path and query, or why the reference was refused. */
export type ResolvedReference = { ok: true; path: string; query: string } | { ok: false; problem: string };

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function trimTrailingSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

/** Checks the resulting service path with the same rules as a path the user typed. */
function checked(path: string, query: string): ResolvedReference {
  const text = query === '' ? path : `${path}?${query}`;
  const problem = findPathProblem(text);
  if (problem !== null) return { ok: false, problem: `${problem.message}. ${problem.description}` };
  return { ok: true, ...normalizeServicePath(text) };
}

/**
 * Strips a `/forward/{service}` prefix (with or without the proxy's own base path) from a
 * path. Returns the rest for the current service, 'other' for another service, or null when
 * the path is not a proxy data-plane path at all.
 */
function servicePathOf(pathname: string, location: ServiceLocation, proxyBasePath: string): string | 'other' | null {
  const service = encodeURIComponent(location.service);
  for (const base of proxyBasePath === '' ? [''] : [proxyBasePath, '']) {
    const prefix = `${base}${FORWARD_PREFIX}/`;
    if (!pathname.startsWith(prefix)) continue;
    const rest = pathname.slice(prefix.length);
    if (rest === service) return '';
    if (rest.startsWith(`${service}/`)) return rest.slice(service.length);
    return 'other';
  }
  return null;
}

/**
 * Resolves `reference` (absolute URL, path-absolute, or relative) to a path in the current
 * service. `foreignPathMatch` allows the exception for pagination links (see the file comment).
 */
export function resolveServiceReference(
  reference: string,
  location: ServiceLocation,
  proxyBaseUrl: string,
  options: { foreignPathMatch: boolean },
): ResolvedReference {
  const ref = reference.trim();
  const proxy = new URL(proxyBaseUrl);
  const proxyBasePath = trimTrailingSlash(proxy.pathname);
  const elsewhere = (what: string): ResolvedReference => ({
    ok: false,
    problem: `The URL "${ref}" points ${what}, outside service "${location.service}"; this node only follows links inside the service it calls.`,
  });

  if (ABSOLUTE.test(ref) || ref.startsWith('//') || ref.startsWith('/')) {
    const url = URL.parse(ref, proxy.href);
    if (url === null) return { ok: false, problem: `The URL "${ref}" cannot be parsed.` };
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return elsewhere('to a non-HTTP location');
    const sameOrigin = url.origin === proxy.origin;
    const pathOnly = !ABSOLUTE.test(ref) && !ref.startsWith('//');
    if (sameOrigin || pathOnly) {
      const rawPathname = pathOnly ? ref.split(/[?#]/, 1)[0] : url.pathname;
      const inService = servicePathOf(rawPathname, location, proxyBasePath);
      if (inService === 'other') return elsewhere('to another proxy service');
      if (inService !== null) return checked(inService, url.search.slice(1));
    }
    if (options.foreignPathMatch) {
      const current = trimTrailingSlash(location.path);
      const candidate = trimTrailingSlash(pathOnly ? ref.split(/[?#]/, 1)[0] : url.pathname);
      if (current !== '' && (candidate === current || candidate.endsWith(current))) return checked(location.path, url.search.slice(1));
    }
    return elsewhere(sameOrigin ? 'outside the proxy data plane' : `to ${url.origin}`);
  }

  // A relative reference ('?page=2', 'page/2'): resolved against the current path, inside the service root.
  const resolved = new URL(ref, `http://service.invalid${location.path === '' ? '/' : location.path}`);
  return checked(resolved.pathname, resolved.search.slice(1));
}
