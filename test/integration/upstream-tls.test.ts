/**
 * TLS to upstreams through the whole proxy, with certificates made for this run: a private
 * CA and HTTPS echo upstreams on loopback. With the service's `caFile` the secret arrives;
 * without it (public roots only), with another CA, for another host name or past expiry the
 * handshake fails first, so the upstream never sees a request, and the client reads
 * UPSTREAM_TLS_FAILED with the reason code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { createTestCa, writePemFiles } from '../support/certs';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';

const SECRET = canary('tls-secret');
const HOUR_MS = 3_600_000;

describe('TLS to upstreams with a custom CA', () => {
  let dir: string;
  let harness: ProxyHarness;
  let trusted: EchoUpstream;
  let otherName: EchoUpstream;
  let expired: EchoUpstream;
  let t: TestProxy;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sp-upstream-tls-'));
    const ca = await createTestCa();
    const otherCa = await createTestCa('unrelated test CA');
    const good = await ca.issue(['127.0.0.1', 'localhost']);
    const wrongName = await ca.issue(['api.other.test']);
    const old = await ca.issue(['127.0.0.1'], { notBefore: new Date(Date.now() - 48 * HOUR_MS), notAfter: new Date(Date.now() - 24 * HOUR_MS) });
    const files = writePemFiles(dir, { 'ca.pem': ca.caPem, 'other-ca.pem': otherCa.caPem });

    harness = await startHarness({ 'svc/api': { token: SECRET } });
    trusted = await startEchoUpstream({ tls: { cert: good.certPem, key: good.keyPem } });
    otherName = await startEchoUpstream({ tls: { cert: wrongName.certPem, key: wrongName.keyPem } });
    expired = await startEchoUpstream({ tls: { cert: old.certPem, key: old.keyPem } });

    const svc = (target: string, extra: Record<string, unknown> = {}) => ({ target, secret: 'svc/api', inject: { type: 'bearer' as const }, ...extra });
    const services = {
      trusted: svc(`${trusted.url}/base`, { caFile: files['ca.pem'] }),
      'trusted-by-name': svc(`https://localhost:${trusted.port}/base`, { caFile: files['ca.pem'], allowPrivateAddresses: true }),
      'public-roots': svc(trusted.url),
      'other-ca': svc(trusted.url, { caFile: files['other-ca.pem'] }),
      'other-name': svc(otherName.url, { caFile: files['ca.pem'] }),
      expired: svc(expired.url, { caFile: files['ca.pem'] }),
    };
    t = await startProxy(harness, (_base, token) => ({
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: Object.keys(services) } },
      services,
    }));
  });

  afterAll(async () => {
    await t?.proxy.stop();
    for (const upstream of [trusted, otherName, expired]) await upstream?.close();
    await harness?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const bearer = () => ({ authorization: `Bearer ${t.tokens.n8n.token}` });

  function expectNoLeak(res: request.Response): void {
    expectNothingHidden([res.text, JSON.stringify(res.headers), t.logs.text()], [SECRET, t.tokens.n8n.token]);
  }

  it.each([
    ['trusted', '/base/users/1'],
    ['trusted-by-name', '/base/users/1'],
  ])('forwards over TLS verified against the service caFile (%s)', async (service, path) => {
    trusted.clear();
    const res = await request(t.proxy.app).get(`/forward/${service}/users/1`).set(bearer());
    expect(res.status).toBe(200);
    expect(res.headers[ERROR_HEADER]).toBeUndefined();
    expect(trusted.received).toHaveLength(1);
    expect(trusted.received[0]?.url).toBe(path);
    expect(trusted.received[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it.each([
    ['public-roots', () => trusted, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['other-ca', () => trusted, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['other-name', () => otherName, 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['expired', () => expired, 'CERT_HAS_EXPIRED'],
  ])('refuses %s with UPSTREAM_TLS_FAILED before any request reaches the upstream', async (service, upstreamOf, reason) => {
    const upstream = upstreamOf();
    upstream.clear();
    const handshakesBefore = upstream.connections();
    const res = await request(t.proxy.app).get(`/forward/${service}/users/1`).set(bearer());
    const error = expectProxyError(res, 502, 'UPSTREAM_TLS_FAILED', 'upstream');
    expect(error.message).toBe(
      `The TLS connection to the upstream of service '${service}' failed: its certificate could not be verified or the handshake was refused (${reason}).`,
    );
    expect(upstream.received).toHaveLength(0);
    expect(upstream.connections()).toBe(handshakesBefore);
    expectNoLeak(res);
  });
});
