/**
 * Tells a failed TLS handshake from other connection failures, for both sides the proxy
 * connects to: an upstream (the client reads UPSTREAM_TLS_FAILED, "the certificate could not
 * be verified", instead of a generic UPSTREAM_UNREACHABLE) and Vault (readiness and
 * VAULT_UNAVAILABLE name the TLS reason and point at vault.caFile). One list, so both sides
 * recognise the same failures; codes only, never message text.
 */

/** OpenSSL's certificate verification results as Node reports them (tls docs: "X509 certificate error codes"). */
const CERTIFICATE_VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/**
 * The code of a TLS failure: a certificate the proxy could not verify (including
 * ERR_TLS_CERT_ALTNAME_INVALID, a certificate for another host name), a handshake the peer
 * broke off (ERR_SSL_*), or EPROTO, which is what Node reports when the peer does not speak
 * TLS at all (an https URL pointing at a plain HTTP port). Null for anything else.
 */
export function tlsFailureCode(err: unknown): string | null {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return null;
  if (CERTIFICATE_VERIFY_CODES.has(code) || code === 'EPROTO' || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return code;
  return null;
}
