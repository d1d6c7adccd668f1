/**
 * Builds a service's pooled upstream agent, the one place where the connection itself is
 * secured: for a host-name target the agent's `lookup` is the SSRF guard (every new socket
 * connects only to addresses checked by it), and for an https target with a configured CA
 * bundle the agent trusts exactly that bundle. Certificate verification is always on.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { createGuardedLookup, type HostResolver } from './address-guard';

/** Options of {@link createUpstreamAgent}. */
interface UpstreamAgentOptions {
  /** The service's target URL. */
  target: URL;
  /** Pool settings shared by every service's agent. */
  pool: http.AgentOptions;
  /** Let a host-name target resolve to internal addresses (never to cloud metadata ones). */
  allowPrivateAddresses: boolean;
  /**
   * PEM CA bundle for an https target. Node's `ca` replaces its default roots, so the
   * upstream must chain to one of these CAs; public CAs are trusted only if the bundle has them.
   */
  ca?: string;
  /** Resolver instead of the system one (tests simulating DNS answers). */
  resolveHost?: HostResolver;
}

/** True when the URL's host is an IP literal (`127.0.0.1`, `[::1]`), which Node connects to without a lookup. */
function isIpLiteralHost(url: URL): boolean {
  return isIP(url.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0;
}

/** Creates the keep-alive agent for one service's upstream. */
export function createUpstreamAgent(options: UpstreamAgentOptions): http.Agent {
  const { target } = options;
  // IP literals are the admin's explicit choice: Node never calls lookup for them anyway.
  const guarded: http.AgentOptions = isIpLiteralHost(target)
    ? options.pool
    : { ...options.pool, lookup: createGuardedLookup({ allowPrivateAddresses: options.allowPrivateAddresses, resolve: options.resolveHost }) };
  if (target.protocol !== 'https:') return new http.Agent(guarded);
  return new https.Agent(options.ca === undefined ? guarded : { ...guarded, ca: options.ca });
}
