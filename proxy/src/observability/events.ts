/**
 * What happens inside the proxy, as events. The forwarding and Vault code emit; the audit
 * log and the metrics listen. Keeps observability out of the hot path's code and lets
 * tests observe behaviour (Vault calls, cache hits) without reaching into internals.
 */
import { EventEmitter } from 'node:events';
import type { ErrorCode, ErrorSource } from '../contract/contract';

/** One finished request, as the audit log and metrics see it. Never holds secret values. */
export interface RequestRecord {
  requestId: string;
  method: string;
  /** Request path without query values (query keys are kept, values replaced). */
  path: string;
  route: 'forward' | 'control' | 'ops' | 'other';
  status: number;
  clientId: string | null;
  tokenId: string | null;
  service: string | null;
  errorCode: ErrorCode | null;
  errorSource: ErrorSource | null;
  /** What exactly went wrong, when known: a fixed key or a Node error code (`reason-phrase`, `HPE_INVALID_CHUNK_SIZE`). */
  errorDetail: string | null;
  /** From first byte in to response finished (or connection closed). */
  durationMs: number;
  /** Time spent waiting for the secret (0 on a cache hit). */
  secretMs: number | null;
  /** From sending upstream to upstream response headers. */
  upstreamMs: number | null;
  remoteAddress: string | null;
  /** True when the client went away before the response finished. */
  aborted: boolean;
  /**
   * What the request claims about its origin (x-secure-proxy-* attribution headers and
   * `traceparent`): claims by the holder of a valid proxy token, not proof. Null when not
   * sent or ignored for its shape (then named in `attributionInvalid`).
   */
  workflowId: string | null;
  workflowName: string | null;
  executionId: string | null;
  nodeName: string | null;
  aiTool: boolean | null;
  traceId: string | null;
  /** Attribution fields sent but ignored for their shape (not percent-encoded UTF-8, too long, control characters); null when none. */
  attributionInvalid: string[] | null;
  /** Whether a per-workflow rule applied (`clients.<id>.workflows`) and its verdict; null when none applied. */
  workflowRule: 'allowed' | 'refused' | null;
}

/** The attribution fields of a record whose request claimed nothing (no attribution header, no rule). */
export const NO_ATTRIBUTION = Object.freeze({
  workflowId: null,
  workflowName: null,
  executionId: null,
  nodeName: null,
  aiTool: null,
  traceId: null,
  attributionInvalid: null,
  workflowRule: null,
} satisfies Partial<RequestRecord>);

export type VaultOperation = 'login' | 'renew' | 'lookup' | 'mounts' | 'read' | 'list' | 'write';
export type VaultOutcome = 'ok' | 'not_found' | 'forbidden' | 'invalid_token' | 'unavailable' | 'error';

export interface VaultCallEvent {
  operation: VaultOperation;
  outcome: VaultOutcome;
  durationMs: number;
  /** HTTP status Vault answered with, or null when it could not be reached. */
  status: number | null;
}

export type CacheResult = 'hit' | 'miss' | 'stale' | 'refresh' | 'expired';

export interface CacheEvent {
  result: CacheResult;
  /** KV path (a name, never a value). */
  path: string;
}

export interface AuthEvent {
  state: 'authenticated' | 'renewed' | 'relogin' | 'failed' | 'expired';
  method: string;
  /** Remaining token TTL in seconds, when known. */
  ttlSeconds: number | null;
  /** Why, for failed/expired: safe text, never a token. */
  reason: string | null;
}

/** An address started being throttled for bad proxy tokens; once per address per window. */
export interface AuthThrottledEvent {
  /** The counting key: the peer's IPv4 address, or its IPv6 /64. */
  address: string;
  /** Failed authentications the address had in the window before this. */
  failures: number;
  windowSeconds: number;
  retryAfterSeconds: number;
}

/** One connection refused before it became a request (HTTP parser, CONNECT), as the audit log and metrics see it. Never holds header values. */
export interface ClientErrorRecord {
  requestId: string;
  errorCode: ErrorCode;
  status: number;
  /** Node's code for what the parser found, e.g. `HPE_HEADER_OVERFLOW` (a fixed vocabulary), or `CONNECT`. */
  parserCode: string;
  remoteAddress: string | null;
  /** False when the connection could no longer take an answer (it was only closed). */
  answered: boolean;
}

/** One re-read of the proxy token records in Vault (tokenStore). Names and counts only, never a hash. */
export interface TokenStoreRefreshEvent {
  /** What started it: the start of the app, the refreshSeconds timer, or an unknown token. */
  trigger: 'start' | 'schedule' | 'miss';
  outcome: 'ok' | 'failed';
  /** Clients and tokens served from Vault records after it (unchanged on failure). */
  clients: number;
  tokens: number;
  /** Why it failed: safe text naming paths and Vault's answer; null when ok. */
  reason: string | null;
}

/** Where each client's tokens stand against tokenExpiryWarningSeconds; recomputed on every index swap and periodically. */
export interface TokenExpiryEvent {
  /** One entry per client with at least one token that has not expired. Names and counts only, never a hash. */
  clients: Array<{
    client: string;
    /** Valid tokens that expire within the warning window. */
    expiringSoon: number;
    /** Earliest expiry among the client's valid tokens, epoch ms; null when none of them expires. */
    earliestExpiryMs: number | null;
  }>;
}

/** An exception nothing expected in one request's path; the request ended with INTERNAL_ERROR (or a cut connection). */
export interface UnexpectedErrorEvent {
  requestId: string;
  /** Logged only through the sanitiser: as name, code and (redacted) message. */
  error: unknown;
}

/** A client connection closed as it arrived because `listen.maxConnections` were open. */
export interface ConnectionDroppedEvent {
  remoteAddress: string | null;
}

/** An exception nothing caught outside any request's guard (a timer, an event of a connection); the process kept serving. */
export interface ProcessUnexpectedEvent {
  /** Node's origin: `uncaughtException` or `unhandledRejection`. */
  origin: string;
  /** Logged only through the sanitiser: as name, code and (redacted) message. */
  error: unknown;
}

/** What happened at a service's OAuth2 token endpoint. Names only, never a token. */
export interface UpstreamTokenEvent {
  service: string;
  grant: 'client_credentials' | 'refresh_token';
  /**
   * mint: no usable token (first use, used up, or the API refused it), one was requested;
   * refresh: a token was renewed in the background ahead of its end; failure: the endpoint refused or failed; writeback: a rotated
   * refresh token was stored in Vault; writeback_conflict: another writer (a replica) got there first;
   * claim_release_failed: Vault did not take the release of a refresh claim, which then holds
   * the other replicas' refreshes until its deadline.
   */
  kind: 'mint' | 'refresh' | 'failure' | 'writeback' | 'writeback_conflict' | 'claim_release_failed';
}

export interface ProxyEventMap {
  'request:finish': [RequestRecord];
  'request:unexpected': [UnexpectedErrorEvent];
  'vault:call': [VaultCallEvent];
  'vault:auth': [AuthEvent];
  'secret:cache': [CacheEvent];
  'auth:throttled': [AuthThrottledEvent];
  'client:error': [ClientErrorRecord];
  'connection:dropped': [ConnectionDroppedEvent];
  'process:unexpected': [ProcessUnexpectedEvent];
  'tokens:refresh': [TokenStoreRefreshEvent];
  'tokens:expiry': [TokenExpiryEvent];
  'upstream:token': [UpstreamTokenEvent];
}

/** The proxy's event bus; one per app instance so tests stay isolated. */
export class ProxyEvents extends EventEmitter<ProxyEventMap> {}
