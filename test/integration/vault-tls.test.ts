/**
 * Vault behind TLS signed by a private CA: with vault.caFile the real node-vault client
 * verifies Vault's certificate and secrets are read; without it (or with another CA) the
 * proxy is not ready and requests fail closed with VAULT_UNAVAILABLE naming the TLS reason.
 * A vault.caFile that cannot be used is a config error naming the field, never a client that
 * silently trusts no CA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NodeVault from 'node-vault';
import request from 'supertest';
import { generateToken } from '../../proxy/src/auth/token-format';
import { buildConfig } from '../../proxy/src/config/load';
import { ConfigError } from '../../proxy/src/config/errors';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { startVaultEmulator, type VaultEmulator } from '../../dev/src/vault-emulator';
import { createVaultTransport } from '../../proxy/src/vault/transport';
import { createTestCa, writePemFiles } from '../support/certs';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startProxyApp, type RunningTestProxy } from '../support/proxy-harness';

const SECRET = canary('vault-tls');
const proxyToken = generateToken();

describe('Vault over HTTPS with a private CA', () => {
  let dir: string;
  let vault: VaultEmulator;
  let upstream: EchoUpstream;
  let caFile: string;
  let otherCaFile: string;
  const running: RunningTestProxy[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sp-vault-tls-'));
    const ca = await createTestCa('vault test CA');
    const otherCa = await createTestCa('unrelated CA');
    const leaf = await ca.issue(['127.0.0.1', 'localhost']);
    ({ 'ca.pem': caFile, 'other-ca.pem': otherCaFile } = writePemFiles(dir, { 'ca.pem': ca.caPem, 'other-ca.pem': otherCa.caPem }));
    vault = await startVaultEmulator({ tls: { cert: leaf.certPem, key: leaf.keyPem } });
    upstream = await startEchoUpstream();
    // Seeded through the real client and transport, trusting the CA the way the proxy will.
    const transport = createVaultTransport({ timeoutMs: 5000, caFile });
    try {
      const client = NodeVault({ endpoint: vault.url, token: vault.rootToken, 'request-promise': transport.requestPromise, noCustomHTTPVerbs: true });
      await client.write('secret/data/svc/echo', { data: { token: SECRET } });
    } finally {
      transport.close();
    }
  });

  afterAll(async () => {
    for (const { proxy } of running) await proxy.stop();
    await upstream?.close();
    await vault?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function proxyWith(vaultCaFile: string | undefined): Promise<RunningTestProxy> {
    const started = await startProxyApp({
      vault: {
        address: vault.url,
        auth: { method: 'token', token: vault.rootToken },
        kvMount: 'secret',
        timeoutMs: 10_000,
        ...(vaultCaFile === undefined ? {} : { caFile: vaultCaFile }),
      },
      logging: { level: 'debug' },
      clients: { n8n: { tokenHashes: [proxyToken.hash], services: ['echo'] } },
      services: { echo: { target: upstream.url, secret: 'svc/echo', inject: { type: 'bearer' } } },
    });
    running.push(started);
    return started;
  }

  const auth = { authorization: `Bearer ${proxyToken.token}` };

  function writeInDir(name: string, content: string): string {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }

  it.each([
    ['a missing file', () => join(dir, 'missing.pem'), 'the file cannot be read (ENOENT)'],
    ['a directory', () => dir, 'the file cannot be read (EISDIR)'],
    [
      'a file without PEM certificates',
      () => writeInDir('not-pem.pem', 'PRIVATE-LOOKING-CONTENT\n'),
      'expected PEM certificates ("-----BEGIN CERTIFICATE-----"), found none',
    ],
    [
      'a certificate block that does not parse',
      () => writeInDir('broken.pem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'),
      'certificate 1 of 1 is not a valid X.509 certificate',
    ],
  ])('refuses to load a config whose vault.caFile is %s, naming the field and the file', (_label, fileOf, reason) => {
    const file = fileOf();
    let error: unknown;
    try {
      buildConfig({ vault: { address: vault.url, auth: { method: 'token', token: 'unused' }, caFile: file }, clients: {}, services: {} }, {}, 'test');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([`vault.caFile: cannot use CA file "${file}": ${reason}`]);
    expect((error as ConfigError).message).not.toContain('PRIVATE-LOOKING-CONTENT');
  });

  it('is the address the proxy is given: https', () => {
    expect(vault.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('reads the secret when vault.caFile names the CA that signed Vault', async () => {
    const { proxy, logs } = await proxyWith(caFile);
    await request(proxy.app).get('/readyz').expect(200);
    upstream.clear();
    await request(proxy.app).get('/forward/echo/hello').set(auth).expect(200);
    expect(upstream.received).toHaveLength(1);
    expect(upstream.received[0].headers.authorization).toBe(`Bearer ${SECRET}`);
    expectNothingHidden([logs.text()], [SECRET, vault.rootToken, proxyToken.token]);
  });

  it.each([
    ['without vault.caFile', undefined],
    ['with vault.caFile naming another CA', 'other'],
  ])('is not ready and answers 503 VAULT_UNAVAILABLE naming the TLS failure %s', async (_label, which) => {
    const { proxy, logs } = await proxyWith(which === undefined ? undefined : otherCaFile);
    const ready = await request(proxy.ops).get('/readyz');
    expect(ready.status).toBe(503);
    expect((await request(proxy.app).get('/readyz')).text).not.toContain('TLS');
    expect(ready.headers[ERROR_HEADER]).toBe('NOT_READY');
    expect(ready.body.error.message).toMatch(
      /TLS verification of Vault's certificate failed: it is signed by a CA the proxy does not trust \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );

    upstream.clear();
    const refused = await request(proxy.app).get('/forward/echo/hello').set(auth);
    const error = expectProxyError(refused, 503, 'VAULT_UNAVAILABLE', 'vault');
    expect(error.message).toMatch(/TLS verification of Vault's certificate failed/);
    expect(error.message).toContain('vault.caFile');
    expect(upstream.received).toHaveLength(0);
    expectNothingHidden([JSON.stringify(refused.body), JSON.stringify(ready.body), logs.text()], [SECRET, vault.rootToken, proxyToken.token]);
  });
});
