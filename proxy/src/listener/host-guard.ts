/**
 * The Host header checks, before routing. HTTP/1.1 requires a Host header (the listener lets
 * such requests through so that this guard, not Node, answers them with the contract's
 * REQUEST_MALFORMED). Then the `listen.allowedHosts` check. The proxy never routes by Host and never forwards it (the
 * upstream always gets its target's host), so a foreign Host cannot redirect a request; the
 * check exists for deployments that want the proxy to answer only under its own names, e.g.
 * against DNS rebinding from a browser on the same network.
 *
 * Ops routes are exempt: probes and scrapers address the proxy by pod IP or node name, which
 * an operator cannot list in advance, and those routes carry no secret or client detail.
 */
import { ProxyError } from '../contract/proxy-error';
import { isOpsPath } from '../app/ops-routes';
import type { RequestCheck } from '../app/request-check';
import { pathOnly } from '../shared/request-target';

/** Longest piece of a Host header quoted back in a message. */
const MAX_EXCERPT = 64;

/** `[v6]:port`, `name:port` → the part before the port, lower case. */
function hostWithoutPort(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':');
  return end > 0 ? host.slice(0, end) : host;
}

/** Compiles the allow list: entries with a port match exactly, entries without one match any port. */
export function compileHostMatcher(allowedHosts: readonly string[]): (host: string | undefined) => boolean {
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  for (const entry of allowedHosts) {
    const lower = entry.toLowerCase();
    if (hostWithoutPort(lower) === lower) anyPort.add(lower);
    else exact.add(lower);
  }
  return (host) => {
    if (host === undefined || host === '') return false;
    const lower = host.toLowerCase();
    return exact.has(lower) || anyPort.has(hostWithoutPort(lower));
  };
}

/**
 * The check refusing HTTP/1.1 requests without Host (REQUEST_MALFORMED) and, when
 * `allowedHosts` is given, requests whose Host is not in it (HOST_NOT_ALLOWED).
 */
export function hostCheck(allowedHosts: readonly string[] | undefined): RequestCheck {
  const allowed = allowedHosts === undefined ? () => true : compileHostMatcher(allowedHosts);
  return (req) => {
    const host = req.headers.host;
    if (host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
      return new ProxyError('REQUEST_MALFORMED', 'HTTP/1.1 requests must carry a Host header.');
    }
    if (allowed(host) || isOpsPath(pathOnly(req.url ?? ''))) return null;
    const shown = host === undefined ? 'no Host header' : `Host '${JSON.stringify(host.slice(0, MAX_EXCERPT)).slice(1, -1)}'`;
    return new ProxyError('HOST_NOT_ALLOWED', `This proxy does not answer for ${shown}; use one of the names in listen.allowedHosts.`);
  };
}
