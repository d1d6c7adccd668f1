/**
 * Upstream redirects are relayed to the client, never followed by the proxy. A `Location`
 * that points inside the service target (same origin, under its base path) is rewritten to
 * the proxy's own URL for that service, so a client that follows it comes back through the
 * proxy (and gets the credential injected) instead of calling the upstream directly. Any
 * other Location, including relative references, is relayed untouched.
 */

/** Options of {@link compileLocationRewriter}. */
export interface LocationRewriteOptions {
  service: string;
  /** The service's target URL, e.g. `https://api.example.com/v2`. */
  target: string;
  /** External base URL of the proxy; without it, rewritten locations are path-absolute. */
  publicUrl?: string;
  /** Mount point of the data plane; defaults to `/forward`. */
  prefix?: string;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function withoutTrailingSlash(text: string): string {
  return text.endsWith('/') ? text.slice(0, -1) : text;
}

/** Compiles the rewrite for one service. The returned function is only called for responses carrying a Location. */
export function compileLocationRewriter(options: LocationRewriteOptions): (location: string) => string {
  const target = new URL(options.target);
  const origin = target.origin;
  const basePath = withoutTrailingSlash(target.pathname); // '' for a target at the root
  const proxyBase = `${options.publicUrl ? withoutTrailingSlash(options.publicUrl) : ''}${options.prefix ?? '/forward'}/${options.service}`;

  return (location) => {
    const first = location.charCodeAt(0);
    // Only absolute URLs and references starting with '/' ('/x', '//host/x', and '/\host'
    // which clients read as '//host') can point at the target's origin; the rest are relative
    // to the request URL, which mirrors the upstream path already.
    if (first !== 0x2f /* / */ && !SCHEME.test(location)) return location;
    const url = URL.parse(location, origin);
    // Unparsable: not a URL a client could follow either.
    if (url === null || url.origin !== origin) return location;
    const path = url.pathname;
    if (basePath !== '' && path !== basePath && !path.startsWith(`${basePath}/`)) return location;
    return `${proxyBase}${path.slice(basePath.length)}${url.search}${url.hash}`;
  };
}
