/**
 * The SSRF guard on real connections. Through the whole proxy: a service whose target host
 * name resolves to loopback is refused with UPSTREAM_ADDRESS_FORBIDDEN before anything is
 * sent, works once the service allows private addresses, and an IP-literal target is not
 * checked. Through one service's forwarding stage with a scripted resolver: names resolving
 * to a cloud metadata or private address are refused before any connection (tests only
 * ever connect to loopback).
 */
import type { LookupAddress } from 'node:dns';
import type express from 'express';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import type { HostResolver } from '../../proxy/src/forward/address-guard';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';
import { fixedSecrets, forwardApp, serviceConfig, type ForwardApp } from '../support/forward-app';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';

const SECRET = canary('ssrf-secret');

function expectAddressForbidden(res: request.Response, service: string): void {
  expect(expectProxyError(res, 502, 'UPSTREAM_ADDRESS_FORBIDDEN', 'proxy').message).toContain(`service '${service}'`);
}

describe('SSRF guard through the proxy', () => {
  let harness: ProxyHarness;
  let t: TestProxy;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/api': { token: SECRET } });
    const byName = `http://localhost:${harness.upstream.port}/base`;
    t = await startProxy(harness, (_base, token) => ({
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['by-name', 'by-name-allowed', 'by-ip'] } },
      services: {
        'by-name': { target: byName, secret: 'svc/api', inject: { type: 'bearer' } },
        'by-name-allowed': { target: byName, secret: 'svc/api', inject: { type: 'bearer' }, allowPrivateAddresses: true },
        'by-ip': { target: `${harness.upstream.url}/base`, secret: 'svc/api', inject: { type: 'bearer' } },
      },
    }));
  });

  afterAll(async () => {
    await t?.proxy.stop();
    await harness?.close();
  });

  const bearer = () => ({ authorization: `Bearer ${t.tokens.n8n.token}` });

  it('refuses a host name that resolves to loopback, and the upstream sees nothing', async () => {
    harness.upstream.clear();
    const connectionsBefore = harness.upstream.connections();
    const res = await request(t.proxy.app).get('/forward/by-name/users?x=1').set(bearer());
    expectAddressForbidden(res, 'by-name');
    expect(res.body.error.message).toMatch(/host name 'localhost' resolved to (127\.0\.0\.1|::1), a loopback address\. Set allowPrivateAddresses: true/);
    expect(harness.upstream.received).toHaveLength(0);
    expect(harness.upstream.connections()).toBe(connectionsBefore);
    expectNothingHidden([res.text, JSON.stringify(res.headers), t.logs.text()], [SECRET, t.tokens.n8n.token]);
    const audit = t.logs.entries().filter((e) => e.msg === 'request' && e.errorCode === 'UPSTREAM_ADDRESS_FORBIDDEN');
    expect(audit).toHaveLength(1);
  });

  it('forwards to the same host name when the service allows private addresses', async () => {
    harness.upstream.clear();
    const res = await request(t.proxy.app).get('/forward/by-name-allowed/users?x=1').set(bearer());
    expect(res.status).toBe(200);
    expect(res.headers[ERROR_HEADER]).toBeUndefined();
    const [received] = harness.upstream.received;
    expect(received.url).toBe('/base/users?x=1');
    expect(received.headers.host).toBe(`localhost:${harness.upstream.port}`);
    expect(received.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('does not check an IP-literal target (the admin chose the address)', async () => {
    harness.upstream.clear();
    const res = await request(t.proxy.app).get('/forward/by-ip/ok').set(bearer());
    expect(res.status).toBe(200);
    expect(harness.upstream.received).toHaveLength(1);
  });
});

describe('SSRF guard with a scripted resolver', () => {
  let upstream: EchoUpstream;
  const apps: ForwardApp[] = [];

  beforeAll(async () => {
    upstream = await startEchoUpstream();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await upstream?.close();
  });

  /** A resolver answering `addresses` for every name, recording the names asked. */
  function resolverAnswering(...addresses: string[]): HostResolver & { asked: string[] } {
    const asked: string[] = [];
    const answer: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    return Object.assign(
      async (hostname: string) => {
        asked.push(hostname);
        return answer;
      },
      { asked },
    );
  }

  /** The data plane with one service, `/forward/<service>/x` forwarding to `<target>/x`. */
  function appFor(service: string, target: string, resolveHost: HostResolver, allowPrivateAddresses: boolean): express.Express {
    const forward = forwardApp({
      services: { [service]: serviceConfig({ target, inject: { type: 'bearer', field: 'token' }, allowPrivateAddresses }) },
      secrets: fixedSecrets({}, { token: SECRET }),
      resolveHost,
    });
    apps.push(forward);
    return forward.app;
  }

  it.each([
    [
      'a cloud metadata address',
      ['169.254.169.254'],
      false,
      'resolved to 169.254.169.254, a cloud metadata address. Cloud metadata endpoints are never reached',
    ],
    ['a cloud metadata address, even with private addresses allowed', ['169.254.169.254'], true, 'resolved to 169.254.169.254, a cloud metadata address.'],
    ['the AWS IPv6 metadata address', ['fd00:ec2::254'], true, 'resolved to fd00:ec2::254, a cloud metadata address.'],
    ['a private address', ['10.1.2.3'], false, 'resolved to 10.1.2.3, a private address. Set allowPrivateAddresses: true'],
    ['a mapped loopback address', ['::ffff:127.0.0.1'], false, 'resolved to ::ffff:127.0.0.1, an IPv4-mapped form of 127.0.0.1, a loopback address.'],
    ['a mix of public and private addresses', ['1.1.1.1', '192.168.0.10'], false, 'resolved to 192.168.0.10, a private address.'],
  ])('refuses a name resolving to %s before connecting', async (_name, addresses, allowPrivate, expected) => {
    upstream.clear();
    const resolve = resolverAnswering(...addresses);
    const app = appFor('api', `http://api.internal.test:${upstream.port}/base`, resolve, allowPrivate);
    const res = await request(app).get('/forward/api/x');
    expectAddressForbidden(res, 'api');
    expect(res.body.error.message).toContain(`host name 'api.internal.test' ${expected}`);
    expect(res.text).not.toContain(SECRET);
    expect(resolve.asked).toEqual(['api.internal.test']);
    expect(upstream.received).toHaveLength(0);
  });

  it('refuses a well-known metadata host name whatever it resolves to', async () => {
    const resolve = resolverAnswering('127.0.0.1');
    const app = appFor('meta', `http://metadata.google.internal:${upstream.port}`, resolve, true);
    const res = await request(app).get('/forward/meta/x');
    expectAddressForbidden(res, 'meta');
    expect(res.body.error.message).toContain("host name 'metadata.google.internal' is a cloud metadata host name");
  });

  it('connects to the checked address when it is allowed', async () => {
    upstream.clear();
    const resolve = resolverAnswering('127.0.0.1');
    const app = appFor('internal', `http://api.internal.test:${upstream.port}/base`, resolve, true);
    const res = await request(app).get('/forward/internal/x');
    expect(res.status).toBe(200);
    expect(upstream.received).toHaveLength(1);
    expect(upstream.received[0]?.headers.host).toBe(`api.internal.test:${upstream.port}`);
    expect(upstream.received[0]?.url).toBe('/base/x');
  });
});
