/**
 * The contract errors for an upstream that failed: before its answer (unreachable, timed out,
 * refused by the SSRF guard or TLS, malformed), and while its answer streamed. Messages name
 * the service and Node's error code, never bytes the upstream sent.
 */
import { ProxyError } from '../contract/proxy-error';
import { tlsFailureCode } from '../shared/tls-failure';
import { UpstreamAddressForbiddenError } from './address-guard';

function errorCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : err.name;
}

/** Node's HTTP parser refused the upstream's bytes (`HPE_*`: not HTTP/1.x, bad framing, a header section too large). */
function isParseError(code: string): boolean {
  return code.startsWith('HPE_');
}

/** UPSTREAM_RESPONSE_INVALID: the upstream answered something the proxy does not relay. `detail` is a fixed key for the audit log. */
export function invalidAnswer(service: string, detail: string, what: string, cause?: unknown): ProxyError {
  return new ProxyError('UPSTREAM_RESPONSE_INVALID', `The upstream of service '${service}' ${what}; nothing of it was relayed.`, { detail, cause });
}

/** The contract error for a failed upstream request that has not answered yet. */
export function upstreamFailure(service: string, timeoutMs: number, err: Error): ProxyError {
  if (err instanceof UpstreamAddressForbiddenError) {
    // Nothing was sent: the SSRF guard refused the address before the socket connected.
    const remedy = err.allowable
      ? 'Set allowPrivateAddresses: true on the service if this address is intended.'
      : 'Cloud metadata endpoints are never reached through a host name.';
    return new ProxyError('UPSTREAM_ADDRESS_FORBIDDEN', `The proxy did not connect to the upstream of service '${service}': its ${err.message}. ${remedy}`, {
      cause: err,
    });
  }
  const tlsCode = tlsFailureCode(err);
  if (tlsCode !== null) {
    return new ProxyError(
      'UPSTREAM_TLS_FAILED',
      `The TLS connection to the upstream of service '${service}' failed: its certificate could not be verified or the handshake was refused (${tlsCode}).`,
      { cause: err, detail: tlsCode },
    );
  }
  const code = errorCode(err);
  if (isParseError(code)) return invalidAnswer(service, code, `answered with bytes that are not a valid HTTP/1.1 answer (${code})`, err);
  if (code === 'ETIMEDOUT') {
    return new ProxyError('UPSTREAM_TIMEOUT', `The upstream of service '${service}' did not answer within ${timeoutMs} ms (${code}).`, {
      cause: err,
      detail: code,
    });
  }
  return new ProxyError('UPSTREAM_UNREACHABLE', `The upstream of service '${service}' could not be reached or dropped the connection (${code}).`, {
    cause: err,
    detail: code,
  });
}

/**
 * The contract error for an answer whose body failed while it was being relayed: cut short,
 * badly framed, or not decodable. It reaches the client only when no byte of the answer has
 * gone out yet; otherwise the connection is cut and the audit line records it.
 */
export function bodyFailure(service: string, err: Error): ProxyError {
  const code = errorCode(err);
  if (isParseError(code)) return invalidAnswer(service, code, `sent a badly framed body (${code})`, err);
  if (code.startsWith('Z_') || code.startsWith('ERR__') || code === 'ERR_BROTLI_DECOMPRESSION_FAILED') {
    return invalidAnswer(service, code, `sent a body that does not decode in its content-encoding (${code})`, err);
  }
  return invalidAnswer(service, code === 'ECONNRESET' ? 'body-cut' : code, `ended its answer before the body was complete (${code})`, err);
}
