/**
 * Certificates for TLS tests, generated per test run: a private CA and leaf certificates it
 * signs, for loopback HTTPS servers (upstreams, the proxy's own listener, Vault). Nothing is
 * checked in, so no test depends on a key that could expire or leak.
 *
 *   const ca = await createTestCa();
 *   const leaf = await ca.issue(['127.0.0.1', 'localhost']);
 *   const files = writePemFiles(dir, { 'ca.pem': ca.caPem, 'key.pem': leaf.keyPem });
 */
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { generate, type SelfsignedOptions } from 'selfsigned';

/** A leaf certificate and its private key, both PEM. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

/** Validity window of an issued leaf; the default is valid from an hour ago for a day. */
export interface IssueOptions {
  notBefore?: Date;
  notAfter?: Date;
}

/** A private CA able to sign leaves for given host names and IP addresses. */
export interface TestCa {
  /** The CA certificate: what a client trusts (`ca` / `caFile`). */
  caPem: string;
  /** Issues a server certificate whose SANs are exactly `hosts` (IP literals become IP SANs). */
  issue(hosts: string[], options?: IssueOptions): Promise<IssuedCert>;
}

// EC keys: RSA-2048 generation costs hundreds of milliseconds per key on a busy machine.
const KEY_OPTIONS: SelfsignedOptions = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' };
const HOUR_MS = 3_600_000;

function subjectAltNames(hosts: string[]): { type: 2 | 7; value?: string; ip?: string }[] {
  return hosts.map((host) => (isIP(host) === 0 ? { type: 2, value: host } : { type: 7, ip: host }));
}

/** Creates a fresh CA (EC P-256, SHA-256) with the given common name. */
export async function createTestCa(commonName = 'secure-proxy test CA'): Promise<TestCa> {
  const now = Date.now();
  const ca = await generate([{ name: 'commonName', value: commonName }], {
    ...KEY_OPTIONS,
    notBeforeDate: new Date(now - HOUR_MS),
    notAfterDate: new Date(now + 24 * HOUR_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return {
    caPem: ca.cert,
    async issue(hosts, options = {}) {
      if (hosts.length === 0) throw new Error('issue() needs at least one host name or IP address');
      const issuedAt = Date.now();
      const leaf = await generate([{ name: 'commonName', value: hosts[0] }], {
        ...KEY_OPTIONS,
        notBeforeDate: options.notBefore ?? new Date(issuedAt - HOUR_MS),
        notAfterDate: options.notAfter ?? new Date(issuedAt + 24 * HOUR_MS),
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: subjectAltNames(hosts) },
        ],
      });
      return { certPem: leaf.cert, keyPem: leaf.private };
    },
  };
}

/**
 * Writes PEM files into `dir` (which the caller creates and removes) and returns their
 * absolute paths by file name: `writePemFiles(dir, { 'ca.pem': pem }).['ca.pem']`.
 */
export function writePemFiles<Name extends string>(dir: string, files: Record<Name, string>): Record<Name, string> {
  const paths = {} as Record<Name, string>;
  for (const [name, pem] of Object.entries(files) as [Name, string][]) {
    const file = path.join(dir, name);
    writeFileSync(file, pem, { mode: 0o600 });
    paths[name] = file;
  }
  return paths;
}
