/**
 * The SSRF guard's address classification over a table of addresses, and its lookup as an
 * agent calls it: every answer checked, refusal as a whole, checked again on every call.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import {
  checkResolvedHost,
  classifyAddress,
  createGuardedLookup,
  UpstreamAddressForbiddenError,
  type HostResolver,
} from '../../../proxy/src/forward/address-guard';

describe('classifyAddress', () => {
  it.each([
    ['1.1.1.1'],
    ['8.8.8.8'],
    ['93.184.215.14'],
    ['2606:4700::1111'],
    ['2a00:1450:4001:80b::200e'],
    ['::ffff:1.1.1.1'],
    ['64:ff9b::101:101'], // NAT64 of 1.1.1.1 (DNS64 networks)
    ['2002:101:101::1'], // 6to4 of 1.1.1.1
  ])('lets the public address %s pass', (address) => {
    expect(classifyAddress(address)).toEqual({ kind: 'public' });
  });

  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.8.9.10', 'a loopback address'],
    ['10.1.2.3', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.254', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['169.254.1.1', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['0.0.0.0', 'an unspecified address (0.0.0.0/8)'],
    ['0.1.2.3', 'an unspecified address (0.0.0.0/8)'],
    ['255.255.255.255', 'the broadcast address'],
    ['224.0.0.1', 'a multicast address'],
    ['240.0.0.1', 'a reserved address'],
    ['192.0.2.10', 'a reserved address'],
    ['198.18.0.1', 'a reserved address'],
    ['::1', 'a loopback address'],
    ['::', 'an unspecified address (::)'],
    ['fe80::1', 'a link-local address'],
    ['fc00::1', 'a private (unique local) address'],
    ['fd12:3456::1', 'a private (unique local) address'],
    ['ff02::1', 'a multicast address'],
    ['fec0::1', 'a site-local address'],
    ['2001:db8::1', 'a reserved address'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'a Teredo tunnel address'],
    ['64:ff9b:1::a01:203', 'a local-use NAT64 address'],
    ['::ffff:127.0.0.1', 'an IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['::ffff:10.0.0.1', 'an IPv4-mapped form of 10.0.0.1, a private address'],
    ['::ffff:7f00:1', 'an IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['::ffff:0:a00:1', 'an IPv4-translated form of 10.0.0.1, a private address'],
    ['64:ff9b::7f00:1', 'a NAT64 form of 127.0.0.1, a loopback address'],
    ['64:ff9b::a9fe:101', 'a NAT64 form of 169.254.1.1, a link-local address'],
    ['2002:c0a8:101::1', 'a 6to4 form of 192.168.1.1, a private address'],
    ['2002:7f00:1::1', 'a 6to4 form of 127.0.0.1, a loopback address'],
    ['not-an-ip', 'not a valid IP address'],
  ])('refuses %s as %s', (address, description) => {
    expect(classifyAddress(address)).toEqual({ kind: 'internal', description });
  });

  it.each([
    ['169.254.169.254', 'a cloud metadata address'],
    ['169.254.170.2', 'a cloud metadata address'],
    ['100.100.100.200', 'a cloud metadata address'],
    ['192.0.0.192', 'a cloud metadata address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['fd00:ec2:0:0:0:0:0:254', 'a cloud metadata address'],
    ['::ffff:169.254.169.254', 'an IPv4-mapped form of 169.254.169.254, a cloud metadata address'],
    ['64:ff9b::a9fe:a9fe', 'a NAT64 form of 169.254.169.254, a cloud metadata address'],
  ])('names %s a metadata address', (address, description) => {
    expect(classifyAddress(address)).toEqual({ kind: 'metadata', description });
  });
});

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

describe('checkResolvedHost', () => {
  it('passes a name whose every address is public', () => {
    expect(checkResolvedHost('api.example.com', [v4('1.1.1.1'), v6('2606:4700::1111')], false)).toBeNull();
  });

  it('refuses the whole name when any address is internal, naming host, address and kind', () => {
    const refusal = checkResolvedHost('api.example.com', [v4('1.1.1.1'), v4('10.1.2.3')], false);
    expect(refusal).toBeInstanceOf(UpstreamAddressForbiddenError);
    expect(refusal?.message).toBe("host name 'api.example.com' resolved to 10.1.2.3, a private address");
    expect(refusal?.address).toBe('10.1.2.3');
    expect(refusal?.allowable).toBe(true);
  });

  it('lets internal addresses through when the service allows private addresses', () => {
    expect(checkResolvedHost('db.internal', [v4('10.1.2.3'), v6('::1')], true)).toBeNull();
  });

  it('refuses metadata addresses and names even when private addresses are allowed', () => {
    const byAddress = checkResolvedHost('innocent.example.com', [v4('169.254.169.254')], true);
    expect(byAddress?.message).toBe("host name 'innocent.example.com' resolved to 169.254.169.254, a cloud metadata address");
    expect(byAddress?.allowable).toBe(false);
    const byName = checkResolvedHost('Metadata.Google.Internal.', [v4('1.1.1.1')], true);
    expect(byName?.message).toBe("host name 'Metadata.Google.Internal.' is a cloud metadata host name");
    expect(byName?.address).toBeNull();
  });
});

/** Calls a lookup the way net.connect does and reports what it answered. */
function callLookup(
  lookup: ReturnType<typeof createGuardedLookup>,
  hostname: string,
  options: LookupOptions,
): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => lookup(hostname, options, (err, address, family) => resolve({ err, address, family })));
}

describe('createGuardedLookup', () => {
  function scripted(answers: LookupAddress[][]): HostResolver & { calls: string[] } {
    const calls: string[] = [];
    const resolver = async (hostname: string) => {
      calls.push(hostname);
      const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
      return answer ?? [];
    };
    return Object.assign(resolver, { calls });
  }

  it('answers every address when asked for all (autoSelectFamily) and the first one otherwise', async () => {
    const resolve = scripted([[v4('1.1.1.1'), v6('2606:4700::1111')]]);
    const lookup = createGuardedLookup({ allowPrivateAddresses: false, resolve });
    expect(await callLookup(lookup, 'api.example.com', { all: true })).toEqual({
      err: null,
      address: [v4('1.1.1.1'), v6('2606:4700::1111')],
      family: undefined,
    });
    expect(await callLookup(lookup, 'api.example.com', {})).toEqual({ err: null, address: '1.1.1.1', family: 4 });
  });

  it('fails with UpstreamAddressForbiddenError instead of answering a forbidden address', async () => {
    const lookup = createGuardedLookup({ allowPrivateAddresses: false, resolve: scripted([[v4('169.254.169.254')]]) });
    const result = await callLookup(lookup, 'metadata-alias.example.com', { all: true });
    expect(result.err).toBeInstanceOf(UpstreamAddressForbiddenError);
    expect(result.err?.code).toBe('ERR_UPSTREAM_ADDRESS_FORBIDDEN');
    expect(result.address).toEqual([]);
  });

  it('checks again on every call, so a name that rebinds to an internal address is refused', async () => {
    const resolve = scripted([[v4('1.1.1.1')], [v4('127.0.0.1')]]);
    const lookup = createGuardedLookup({ allowPrivateAddresses: false, resolve });
    expect((await callLookup(lookup, 'rebind.example.com', { all: true })).err).toBeNull();
    const second = await callLookup(lookup, 'rebind.example.com', { all: true });
    expect(second.err?.message).toBe("host name 'rebind.example.com' resolved to 127.0.0.1, a loopback address");
    expect(resolve.calls).toEqual(['rebind.example.com', 'rebind.example.com']);
  });

  it('passes resolver failures through and treats an empty answer as not found', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    const failing = createGuardedLookup({ allowPrivateAddresses: false, resolve: () => Promise.reject(notFound) });
    expect((await callLookup(failing, 'nowhere.invalid', { all: true })).err).toBe(notFound);
    const empty = createGuardedLookup({ allowPrivateAddresses: false, resolve: scripted([[]]) });
    expect((await callLookup(empty, 'empty.example.com', { all: true })).err?.code).toBe('ENOTFOUND');
  });

  it('resolves real names with the system resolver ("localhost" is loopback)', async () => {
    const lookup = createGuardedLookup({ allowPrivateAddresses: false });
    const result = await callLookup(lookup, 'localhost', { all: true });
    expect(result.err).toBeInstanceOf(UpstreamAddressForbiddenError);
    expect(result.err?.message).toMatch(/^host name 'localhost' resolved to (127\.0\.0\.1|::1), a loopback address$/);
  });
});
