/**
 * Reading a PEM CA bundle named by a `caFile` field. Node's TLS `ca` option silently ignores
 * text it cannot parse, which would leave an agent trusting no CA at all (or, with the field
 * left out by mistake, the public roots): a file that holds no usable certificate must stop
 * the proxy at start with the field and path named, not fail every request later.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A `caFile` that cannot be used; the message says why, without the file's content. */
export class CaBundleError extends Error {
  constructor(path: string, reason: string) {
    super(`cannot use CA file "${path}": ${reason}`);
    this.name = 'CaBundleError';
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** A PEM bundle as read: its text (for Node's `ca` option) and its parsed certificates. */
export interface CaBundle {
  text: string;
  certificates: X509Certificate[];
}

/**
 * Reads a PEM bundle and checks that it holds at least one certificate and that every
 * certificate block parses.
 */
export function loadCaBundle(path: string): CaBundle {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CaBundleError(path, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw new CaBundleError(path, 'expected PEM certificates ("-----BEGIN CERTIFICATE-----"), found none');
  const certificates = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new CaBundleError(path, `certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate`);
    }
  });
  return { text, certificates };
}

/** The text of a checked PEM bundle, for Node's `ca` option. */
export function readCaBundle(path: string): string {
  return loadCaBundle(path).text;
}

/** The reason a `caFile` cannot be used, or null when it can (for config validation). */
export function caBundleProblem(path: string): string | null {
  try {
    readCaBundle(path);
    return null;
  } catch (err) {
    if (err instanceof CaBundleError) return err.message;
    throw err;
  }
}
