/**
 * Turns whatever a node-vault call rejects with into a small union the rest of the proxy can
 * switch on. Decisions are made on HTTP status and error codes only, never on message text.
 *
 * node-vault 0.12 rejects with `ApiResponseError` (`err.response.statusCode` / `.body`) for
 * non-2xx answers; its classes are not exported, so the shape is checked. Transport failures
 * come from our transport as `VaultTransportError`, or from a raw axios error elsewhere; both
 * carry a Node/axios `code`.
 */
import type { VaultOutcome } from '../observability/events';
import { tlsFailureCode } from '../shared/tls-failure';
import { VAULT_RESPONSE_META, type VaultResponseMeta } from './transport';

/** Why a Vault call failed, in the terms the proxy acts on. */
export type VaultFailure =
  /** 404. `body` is Vault's answer (errors / warnings / data+metadata) for KV to interpret. */
  | { kind: 'not_found'; status: 404; body: unknown }
  /** 401/403: a policy problem, or a dead token (the session decides which). */
  | { kind: 'forbidden'; status: number }
  /** Not reachable, sealed, standby redirect, rate limited, timing out or failing (5xx). */
  | { kind: 'unavailable'; status: number | null; reason: string; retryAfterSeconds?: number; redirectHost?: string }
  /** 400: e.g. "lease is not renewable", a bad login request. */
  | { kind: 'bad_request'; status: 400 }
  /** Anything else (an unexpected status, a bug); not worth retrying blindly. */
  | { kind: 'error'; status: number | null; reason: string };

/** Node / axios codes that mean "could not talk to Vault", with a safe explanation. */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Vault refused the connection (nothing listening at vault.address?)',
  ECONNRESET: 'the connection to Vault was reset',
  EPIPE: 'the connection to Vault was closed while sending',
  ENOTFOUND: 'the Vault host name does not resolve',
  EAI_AGAIN: 'DNS lookup of the Vault host failed temporarily',
  EHOSTUNREACH: 'the Vault host is unreachable',
  ENETUNREACH: 'the network to Vault is unreachable',
  ETIMEDOUT: 'Vault did not answer within vault.timeoutMs',
  ECONNABORTED: 'Vault did not answer within vault.timeoutMs',
  ERR_SOCKET_CONNECTION_TIMEOUT: 'connecting to Vault timed out',
  ERR_NETWORK: 'network error talking to Vault',
  ERR_BAD_RESPONSE: 'Vault sent a malformed response',
  ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED: 'Vault sent an oversized response',
};

/**
 * What the common TLS failures mean for the operator. Which codes are TLS failures at all is
 * decided by shared/tls-failure (shared with the upstream side); codes not listed here get a generic text.
 */
const VERIFY_FAILED = "TLS verification of Vault's certificate failed:";
const TLS_REASONS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: `${VERIFY_FAILED} it has expired`,
  CERT_NOT_YET_VALID: `${VERIFY_FAILED} it is not valid yet (check the clocks)`,
  DEPTH_ZERO_SELF_SIGNED_CERT: `${VERIFY_FAILED} it is self-signed and not trusted`,
  SELF_SIGNED_CERT_IN_CHAIN: `${VERIFY_FAILED} its chain ends in a CA the proxy does not trust`,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: `${VERIFY_FAILED} it is signed by a CA the proxy does not trust`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `${VERIFY_FAILED} it is signed by a CA the proxy does not trust`,
  UNABLE_TO_GET_ISSUER_CERT: `${VERIFY_FAILED} it is signed by a CA the proxy does not trust`,
  ERR_TLS_CERT_ALTNAME_INVALID: `${VERIFY_FAILED} it does not name the host of vault.address`,
  EPROTO: 'the TLS handshake with Vault failed (an https vault.address pointing at a plain HTTP port?)',
};

interface ResponseErrorShape {
  response: { statusCode: number; body?: unknown };
}

function isResponseError(err: unknown): err is ResponseErrorShape {
  if (typeof err !== 'object' || err === null || !('response' in err)) return false;
  const response = err.response;
  return typeof response === 'object' && response !== null && typeof (response as { statusCode?: unknown }).statusCode === 'number';
}

function errorCode(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

/** Headers our transport attached to a failed answer's body, when present. */
export function responseMeta(body: unknown): VaultResponseMeta | null {
  if (typeof body !== 'object' || body === null) return null;
  const meta = (body as { [VAULT_RESPONSE_META]?: VaultResponseMeta })[VAULT_RESPONSE_META];
  return meta ?? null;
}

/** Parses Retry-After (delta seconds or HTTP date) into whole seconds, or undefined. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function hostOf(location: string | null): string {
  if (location === null) return 'another node';
  try {
    return new URL(location).host || 'another node';
  } catch {
    // A relative or garbled Location: there is no host to name, and nothing else is safe to echo.
    return 'another node';
  }
}

function classifyStatus(status: number, body: unknown): VaultFailure {
  const meta = responseMeta(body);
  if (status === 404) return { kind: 'not_found', status, body };
  if (status === 401 || status === 403) return { kind: 'forbidden', status };
  if (status === 400) return { kind: 'bad_request', status };
  if (status >= 300 && status < 400) {
    const redirectHost = hostOf(meta?.location ?? null);
    return {
      kind: 'unavailable',
      status,
      redirectHost,
      reason:
        `Vault answered ${status} redirecting to ${redirectHost} (a standby node?); the proxy does not follow ` +
        'redirects so the Vault token never goes to another host: point vault.address at the active node or the load balancer',
    };
  }
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(meta?.retryAfter ?? null);
    return {
      kind: 'unavailable',
      status,
      reason: 'Vault is rate limiting the proxy (429)',
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  if (status === 503) {
    const retryAfterSeconds = parseRetryAfter(meta?.retryAfter ?? null);
    return {
      kind: 'unavailable',
      status,
      reason: 'Vault answered 503 (sealed, standby or in maintenance)',
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    };
  }
  // 412: a performance standby not yet caught up; 5xx: Vault or its storage failing.
  if (status === 412 || status >= 500) return { kind: 'unavailable', status, reason: `Vault answered ${status}` };
  return { kind: 'error', status, reason: `Vault answered an unexpected ${status}` };
}

/** Classifies a node-vault rejection. Never looks at message text. */
export function classifyVaultError(err: unknown): VaultFailure {
  if (err instanceof VaultSessionError) return err.failure;
  if (isResponseError(err)) return classifyStatus(err.response.statusCode, err.response.body);
  const code = errorCode(err);
  if (code !== null) {
    const reason = NETWORK_REASONS[code];
    if (reason !== undefined) return { kind: 'unavailable', status: null, reason };
    if (tlsFailureCode(err) !== null) {
      const why = TLS_REASONS[code] ?? 'the TLS connection to Vault failed';
      return {
        kind: 'unavailable',
        status: null,
        reason: `${why} (${code}); set vault.caFile to the CA that signed Vault's certificate, or check vault.address`,
      };
    }
    if (code.startsWith('E') && /^E[A-Z_]+$/.test(code)) {
      return { kind: 'unavailable', status: null, reason: `network error talking to Vault (${code})` };
    }
  }
  return { kind: 'error', status: null, reason: 'unexpected error from the Vault client' };
}

/** The outcome label for 'vault:call' events and metrics. */
export function vaultOutcome(failure: VaultFailure): VaultOutcome {
  switch (failure.kind) {
    case 'not_found':
      return 'not_found';
    case 'forbidden':
      return 'forbidden';
    case 'unavailable':
      return 'unavailable';
    case 'bad_request':
    case 'error':
      return 'error';
  }
}

/**
 * A failure the proxy itself decided on (a dead token that cannot be replaced, an unreadable
 * Kubernetes JWT file, a malformed login answer). Carries its classification so callers treat
 * it like any other Vault failure.
 */
export class VaultSessionError extends Error {
  readonly failure: VaultFailure;
  /** True when the proxy's Vault token is known to be invalid (revoked or expired). */
  readonly invalidToken: boolean;
  /**
   * True when Vault answered and refused the proxy itself: its login (400/401/403) or its static
   * token. Unlike an outage this is an admin's decision, so nothing cached may outlive it.
   */
  readonly refusedByVault: boolean;

  constructor(failure: VaultFailure & { reason: string }, options: { invalidToken?: boolean; refusedByVault?: boolean } = {}) {
    super(failure.reason);
    this.name = 'VaultSessionError';
    this.failure = failure;
    this.invalidToken = options.invalidToken ?? false;
    this.refusedByVault = options.refusedByVault ?? false;
  }
}
