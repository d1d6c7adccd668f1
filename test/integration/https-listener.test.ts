/**
 * The proxy's own HTTPS listener (listen.tls), run as `secure-proxy serve`: a client that
 * trusts the CA is served, a renewed certificate written over the files is picked up by new
 * connections without a restart, and a broken replacement is refused while the previous
 * certificate keeps serving.
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { generateToken } from '../../proxy/src/auth/token-format';
import { runCli } from '../support/cli';
import { createTestCa, type IssuedCert, type TestCa } from '../support/certs';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { createServeFolder, expectOutputHides, startServe, stopServe, waitForOutput, type ServeFolder, type ServeProcess } from '../support/serve-process';
import { describeEmulatorOnly } from '../support/vault-setup';

const SECRET = canary('https-listener');

interface TlsAnswer {
  status: number;
  body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  fingerprint256: string;
}

/** One GET on a fresh connection (no pooling), so every call sees the listener's current certificate. */
function httpsGet(url: string, ca: string[], headers: Record<string, string> = {}): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers, agent: false }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), fingerprint256 }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const fingerprintOf = (cert: IssuedCert): string => new X509Certificate(cert.certPem).fingerprint256;

describeEmulatorOnly('HTTPS listener with certificate reload', () => {
  let harness: ProxyHarness;
  let folder: ServeFolder;
  let dir: string;
  let firstCa: TestCa;
  let secondCa: TestCa;
  let first: IssuedCert;
  let proc: ServeProcess;
  let url: string;
  const token = generateToken();
  const auth = { authorization: `Bearer ${token.token}` };
  const keyPems: string[] = [];

  const writePair = (cert: IssuedCert, key: IssuedCert = cert): void => {
    writeFileSync(join(dir, 'tls.crt'), cert.certPem);
    writeFileSync(join(dir, 'tls.key'), key.keyPem);
  };

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    folder = createServeFolder(harness, 'sp-https-');
    dir = folder.dir;
    firstCa = await createTestCa('first CA');
    secondCa = await createTestCa('second CA');
    first = await firstCa.issue(['127.0.0.1']);
    keyPems.push(first.keyPem);
    writePair(first);
    const listen = `{ host: 127.0.0.1, port: 0, tls: { certFile: "${join(dir, 'tls.crt')}", keyFile: "${join(dir, 'tls.key')}" } }`;
    ({ proc, url } = await startServe(harness, folder.writeConfig({ listen, tokenHash: token.hash })));
  });

  afterAll(async () => {
    await stopServe(proc);
    await harness?.close();
    folder?.remove();
  });

  afterEach(() => expectOutputHides(proc, [SECRET, token.token, harness.appRole.secretId, ...keyPems]));

  it('serves /forward over HTTPS to a client that trusts the CA', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await httpsGet(`${url}/forward/echo/hello`, [firstCa.caPem], auth);
    expect(answer.status).toBe(200);
    expect(answer.fingerprint256).toBe(fingerprintOf(first));
    expect(harness.upstream.received.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
    await expect(httpsGet(`${url}/healthz`, [secondCa.caPem])).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('presents a renewed certificate to new connections without a restart', async () => {
    const renewed = await secondCa.issue(['127.0.0.1']);
    keyPems.push(renewed.keyPem);
    writePair(renewed);
    await waitForOutput(proc, new RegExp(`"msg":"TLS certificate reloaded","trigger":"file change"[^\\n]*"fingerprint256":"${fingerprintOf(renewed)}"`));
    const answer = await httpsGet(`${url}/forward/echo/renewed`, [firstCa.caPem, secondCa.caPem], auth);
    expect(answer.status).toBe(200);
    expect(answer.fingerprint256).toBe(fingerprintOf(renewed));
    expect(proc.child.exitCode).toBeNull();
  });

  it('refuses a replacement whose key does not match and keeps the certificate in use', async () => {
    const serving = (await httpsGet(`${url}/healthz`, [firstCa.caPem, secondCa.caPem])).fingerprint256;
    const mismatched = await firstCa.issue(['127.0.0.1']);
    const other = await firstCa.issue(['127.0.0.1']);
    keyPems.push(mismatched.keyPem, other.keyPem);
    writePair(mismatched, other);
    await waitForOutput(proc, /"msg":"TLS certificate reload refused: keeping the certificate in use"[^\n]*is not the private key of the certificate/);
    const answer = await httpsGet(`${url}/forward/echo/still`, [firstCa.caPem, secondCa.caPem], auth);
    expect(answer.status).toBe(200);
    expect(answer.fingerprint256).toBe(serving);
    expect(answer.fingerprint256).not.toBe(fingerprintOf(mismatched));

    // Garbage instead of a certificate: refused too, on SIGHUP as well as on the change.
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    proc.child.kill('SIGHUP');
    await waitForOutput(proc, /"msg":"TLS certificate reload refused[^\n]*"trigger":"SIGHUP"[^\n]*holds no readable PEM certificate/);
    expect((await httpsGet(`${url}/healthz`, [firstCa.caPem, secondCa.caPem])).fingerprint256).toBe(serving);
    const metrics = (await httpsGet(`${url}/metrics`, [firstCa.caPem, secondCa.caPem])).body;
    expect(metrics).toMatch(/^secure_proxy_tls_certificate_reloads_total\{result="success"\} 1$/m);
    expect(metrics).toMatch(/^secure_proxy_tls_certificate_reloads_total\{result="failure"\} [2-9]$/m);
  });

  it('refuses to start (exit 2) when the certificate files are unusable, naming the field', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      `listen: { tls: { certFile: "${join(dir, 'missing.crt')}", keyFile: "${join(dir, 'tls.key')}" } }\nvault: { address: "http://127.0.0.1:1", auth: { method: token, token: x } }\nclients: {}\nservices: {}\n`,
    );
    const result = await runCli(['serve', '--config', broken]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read listen.tls.certFile');
    expect(result.stderr).toContain('ENOENT');
  });
});
