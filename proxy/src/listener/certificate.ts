/**
 * Reads and checks the listener's certificate and key (PEM files). A pair is only ever
 * handed to the TLS server after it parsed, the key matches the certificate and Node's TLS
 * accepted it, so a half-written or mismatched renewal can be refused while the previous
 * pair keeps serving. Error messages name the file and the problem, never key material.
 */
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

/** Where the pair lives (`listen.tls`). */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** A checked pair, ready for `https.createServer` / `server.setSecureContext`. */
export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate (public), for logs. */
  fingerprint256: string;
  subject: string;
  notAfter: Date;
  /** Hash of both files' bytes: tells a real change from a touch. Not derived from the key alone. */
  contentHash: string;
}

/** The pair cannot be used; `message` says which file and why. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

/** Loads and checks the pair; rejects with a CertificateError. */
export async function loadCertificatePair(files: CertificateFiles, now: Date = new Date()): Promise<CertificatePair> {
  const [cert, key] = await Promise.all([readPem(files.certFile, 'listen.tls.certFile'), readPem(files.keyFile, 'listen.tls.keyFile')]);
  const leaf = parse(() => new X509Certificate(cert), `listen.tls.certFile (${files.certFile}) holds no readable PEM certificate`);
  const privateKey = parse<KeyObject>(() => createPrivateKey(key), `listen.tls.keyFile (${files.keyFile}) holds no readable PEM private key`);
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CertificateError(`listen.tls.keyFile (${files.keyFile}) is not the private key of the certificate in listen.tls.certFile (${files.certFile})`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (now < notBefore) throw new CertificateError(`the certificate in listen.tls.certFile (${files.certFile}) is not valid before ${notBefore.toISOString()}`);
  if (now > notAfter) throw new CertificateError(`the certificate in listen.tls.certFile (${files.certFile}) expired at ${notAfter.toISOString()}`);
  // Node's TLS has the last word (e.g. a key type or chain it will not load).
  parse(() => createSecureContext({ cert, key }), `Node's TLS refused the pair in listen.tls (${files.certFile}, ${files.keyFile})`);
  return {
    cert,
    key,
    fingerprint256: leaf.fingerprint256,
    subject: leaf.subject.replace(/\n/g, ', '),
    notAfter,
    contentHash: createHash('sha256').update(cert).update('\0').update(key).digest('hex'),
  };
}

async function readPem(file: string, field: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CertificateError(`cannot read ${field} (${file}): ${(err as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  }
}

/** Runs a parser; its own error may quote input, so only its code is kept. */
function parse<T>(fn: () => T, message: string): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new CertificateError(typeof code === 'string' ? `${message} (${code})` : message);
  }
}
