/**
 * SSRF protection for upstream connections. A service whose target is a host NAME could be
 * pointed, by whoever controls that name's DNS (or by DNS rebinding), at the proxy's own
 * loopback, the private network or a cloud metadata service, with a Vault secret injected
 * into the request. So the address a name resolves to is checked on the connection path
 * itself: the service's agent gets {@link createGuardedLookup} as its `lookup`, and the
 * socket connects only to addresses that lookup returned after checking them. A name that
 * resolves to any forbidden address is refused as a whole.
 *
 * IP-literal targets never reach a lookup (Node connects to them directly): they are the
 * admin's explicit choice and are not checked.
 *
 * Classification uses ipaddr.js's `range()`: only the `unicast` range (ordinary public
 * addresses) passes, so any special-purpose range, including ones a future ipaddr.js adds,
 * is refused. IPv6 forms that embed an IPv4 address (IPv4-mapped, IPv4-translated, 6to4,
 * NAT64 64:ff9b::/96) are judged by the embedded address.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** What an address is, in words that finish "resolved to 10.1.2.3, …". */
type AddressClass =
  | { readonly kind: 'public' }
  /** Loopback, private, link-local, reserved and other special-purpose ranges. */
  | { readonly kind: 'internal'; readonly description: string }
  /** Cloud instance metadata endpoints: they hand out cloud credentials. */
  | { readonly kind: 'metadata'; readonly description: string };

const IPV4_DESCRIPTIONS: Readonly<Record<string, string>> = {
  unspecified: 'an unspecified address (0.0.0.0/8)',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  reserved: 'a reserved address',
  as112: 'a reserved (AS112) address',
  amt: 'a reserved (AMT) address',
};

const IPV6_DESCRIPTIONS: Readonly<Record<string, string>> = {
  unspecified: 'an unspecified address (::)',
  linkLocal: 'a link-local address',
  multicast: 'a multicast address',
  loopback: 'a loopback address',
  uniqueLocal: 'a private (unique local) address',
  deprecatedSiteLocal: 'a site-local address',
  discard: 'a discard-only address',
  teredo: 'a Teredo tunnel address',
  rfc6052: 'a local-use NAT64 address',
  reserved: 'a reserved address',
};

/**
 * Instance metadata endpoints of the big clouds (AWS IMDS and ECS, GCP, Azure, Oracle,
 * Alibaba). Most already fall in a refused range; naming them says what they are, and keeps
 * them refused when a service allows private addresses.
 */
const METADATA_ADDRESSES: ReadonlySet<string> = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '169.254.169.123',
  '100.100.100.200',
  '192.0.0.192',
  ipaddr.parse('fd00:ec2::254').toNormalizedString(),
  ipaddr.parse('fd00:ec2::23').toNormalizedString(),
  ipaddr.parse('fd00:ec2::123').toNormalizedString(),
]);

/** Host names that reach a metadata service from inside a cloud instance. */
const METADATA_HOST_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return ipaddr.fromByteArray([high >> 8, high & 0xff, low >> 8, low & 0xff]) as ipaddr.IPv4;
}

/** The IPv4 address an IPv6 address carries, for the forms where the position is fixed. */
function embeddedIpv4(address: ipaddr.IPv6, range: string): { ipv4: ipaddr.IPv4; form: string } | null {
  const parts = address.parts;
  switch (range) {
    case 'ipv4Mapped':
      return { ipv4: address.toIPv4Address(), form: 'an IPv4-mapped form of' };
    case 'rfc6145':
      return { ipv4: ipv4FromParts(parts[6], parts[7]), form: 'an IPv4-translated form of' };
    case '6to4':
      return { ipv4: ipv4FromParts(parts[1], parts[2]), form: 'a 6to4 form of' };
    case 'rfc6052':
      return address.match(NAT64_WELL_KNOWN) ? { ipv4: ipv4FromParts(parts[6], parts[7]), form: 'a NAT64 form of' } : null;
    default:
      return null;
  }
}

function classifyIpv4(address: ipaddr.IPv4): AddressClass {
  if (METADATA_ADDRESSES.has(address.toString())) return { kind: 'metadata', description: 'a cloud metadata address' };
  const range = address.range();
  if (range === 'unicast') return { kind: 'public' };
  return { kind: 'internal', description: IPV4_DESCRIPTIONS[range] ?? `a special-purpose address (${range})` };
}

function classifyIpv6(address: ipaddr.IPv6): AddressClass {
  if (METADATA_ADDRESSES.has(address.toNormalizedString())) return { kind: 'metadata', description: 'a cloud metadata address' };
  const range = address.range();
  if (range === 'unicast') return { kind: 'public' };
  const embedded = embeddedIpv4(address, range);
  if (embedded !== null) {
    const inner = classifyIpv4(embedded.ipv4);
    if (inner.kind === 'public') return inner;
    return { kind: inner.kind, description: `${embedded.form} ${embedded.ipv4.toString()}, ${inner.description}` };
  }
  return { kind: 'internal', description: IPV6_DESCRIPTIONS[range] ?? `a special-purpose address (${range})` };
}

/** Classifies one IP address (v4 or v6 text form). Anything that does not parse is refused. */
export function classifyAddress(address: string): AddressClass {
  if (!ipaddr.isValid(address)) return { kind: 'internal', description: 'not a valid IP address' };
  const parsed = ipaddr.parse(address);
  return parsed.kind() === 'ipv4' ? classifyIpv4(parsed as ipaddr.IPv4) : classifyIpv6(parsed as ipaddr.IPv6);
}

/** True for the well-known host names of cloud metadata services (case and trailing dot ignored). */
function isMetadataHostName(hostname: string): boolean {
  return METADATA_HOST_NAMES.has(hostname.toLowerCase().replace(/\.$/, ''));
}

/**
 * A service's upstream host name was refused before any connection: it is a metadata host
 * name, or it resolved to an address the service may not reach. Safe to show: it names the
 * host and the address (the admin's DNS), nothing of the request.
 */
export class UpstreamAddressForbiddenError extends Error {
  readonly code = 'ERR_UPSTREAM_ADDRESS_FORBIDDEN';
  readonly hostname: string;
  /** The refused address; null when the host name itself is refused. */
  readonly address: string | null;
  /** Whether `allowPrivateAddresses: true` would let this through. */
  readonly allowable: boolean;

  constructor(hostname: string, address: string | null, description: string, allowable: boolean) {
    super(address === null ? `host name '${hostname}' is ${description}` : `host name '${hostname}' resolved to ${address}, ${description}`);
    this.name = 'UpstreamAddressForbiddenError';
    this.hostname = hostname;
    this.address = address;
    this.allowable = allowable;
  }
}

/** Resolves a host name to every address, as `dns.lookup(hostname, { all: true })` does. */
export type HostResolver = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), the one Node's agents use by default. */
const systemResolver: HostResolver = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Options of {@link createGuardedLookup}. */
interface GuardOptions {
  /** Let loopback, private, link-local and other internal addresses through (never metadata ones). */
  allowPrivateAddresses: boolean;
  /** Resolver to use instead of the system one (tests simulating a name's DNS answer). */
  resolve?: HostResolver;
}

/** Returns the refusal for a host name and its addresses, or null when all may be connected to. */
export function checkResolvedHost(hostname: string, addresses: readonly LookupAddress[], allowPrivateAddresses: boolean): UpstreamAddressForbiddenError | null {
  if (isMetadataHostName(hostname)) return new UpstreamAddressForbiddenError(hostname, null, 'a cloud metadata host name', false);
  for (const { address } of addresses) {
    const verdict = classifyAddress(address);
    if (verdict.kind === 'metadata') return new UpstreamAddressForbiddenError(hostname, address, verdict.description, false);
    if (verdict.kind === 'internal' && !allowPrivateAddresses) return new UpstreamAddressForbiddenError(hostname, address, verdict.description, true);
  }
  return null;
}

/**
 * A `lookup` for an http(s) Agent: resolves, checks every address, and hands the socket only
 * checked addresses, or fails with {@link UpstreamAddressForbiddenError} so nothing is sent.
 * Called for every new connection, so a name that changes its answer is checked again.
 */
export function createGuardedLookup(options: GuardOptions): LookupFunction {
  const resolve = options.resolve ?? systemResolver;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, { family: lookupOptions.family, hints: lookupOptions.hints, order: lookupOptions.order }).then(
      (addresses) => {
        const refusal = checkResolvedHost(hostname, addresses, options.allowPrivateAddresses);
        if (refusal !== null) return callback(refusal, []);
        const first = addresses[0];
        if (first === undefined) return callback(Object.assign(new Error(`no address for host name '${hostname}'`), { code: 'ENOTFOUND' }), []);
        if (lookupOptions.all === true) return callback(null, addresses);
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}
