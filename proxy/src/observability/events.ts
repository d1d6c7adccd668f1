/**
 * What happens inside the proxy, as events. The forwarding and Vault code emit; the audit
 * log and the metrics listen. Keeps observability out of the hot path's code and lets
 * tests observe behaviour (Vault calls, cache hits) without reaching into internals.
 */
import { EventEmitter } from 'node:events';
import type { ErrorCode, ErrorSource } from '../contract';

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
  /** From first byte in to response finished (or connection closed). */
  durationMs: number;
  /** Time spent waiting for the secret (0 on a cache hit). */
  secretMs: number | null;
  /** From sending upstream to upstream response headers. */
  upstreamMs: number | null;
  remoteAddress: string | null;
  /** True when the client went away before the response finished. */
  aborted: boolean;
}

export type VaultOperation = 'login' | 'renew' | 'lookup' | 'mounts' | 'read';
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

export interface ProxyEventMap {
  'request:finish': [RequestRecord];
  'vault:call': [VaultCallEvent];
  'vault:auth': [AuthEvent];
  'secret:cache': [CacheEvent];
}

/** The proxy's event bus; one per app instance so tests stay isolated. */
export class ProxyEvents extends EventEmitter<ProxyEventMap> {}
