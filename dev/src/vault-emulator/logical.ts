/**
 * Vault's "logical" layer in miniature: the request a backend sees, the response it returns,
 * route tables with per-operation handlers, and rendering a response into Vault's JSON
 * envelope with the status rules of Vault's respondErrorCommon.
 */
import { randomUUID } from 'node:crypto';
import { VaultError, multiError, sortKeysDeep, type VaultReply } from './http';
import type { TokenEntry } from './tokens';

/** Vault's operations. GET is read (or list with ?list=true), POST/PUT is create or update. */
export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'patch';

/** What a backend handler sees. */
export interface LogicalRequest {
  readonly id: string;
  operation: Operation;
  /** Full logical path without `/v1/`, with a trailing `/` for list. */
  readonly path: string;
  /** Path inside the mount (what route patterns match). */
  readonly subPath: string;
  /** Body fields for writes, query fields for reads/deletes (like Vault's req.Data). */
  readonly data: Record<string, unknown>;
  readonly query: URLSearchParams;
  /** Token presented by the client, if any. */
  readonly clientToken: string | null;
  /** The valid token entry behind clientToken; null on unauthenticated paths without one. */
  readonly token: TokenEntry | null;
  readonly clientAddress: string;
  /** Request content type, for PATCH's merge-patch requirement. */
  readonly contentType: string;
}

/** The auth block of a login / token response (struct order as Vault's HTTPAuth). */
export interface AuthBlock {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: 'service';
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

/** What a handler returns; null/undefined means "no response" (404 for reads, 204 for writes). */
export interface LogicalResponse {
  data?: Record<string, unknown> | null;
  warnings?: string[];
  auth?: AuthBlock;
  leaseDuration?: number;
  /**
   * Answer with this status and the full envelope, like the SDK's RespondWithStatusCode
   * (KV v2 uses it for deleted versions and invalid paths). Vault marshals the plugin's
   * response before the router stamps the mount type, so mount_type is "" there.
   */
  status?: number;
  /** Copy data keys to the top level too, as Vault does for sys/mounts, sys/auth, sys/policy. */
  injectTopLevel?: boolean;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** A handler for one operation on one route. */
export type Handler = (req: LogicalRequest, match: RegExpExecArray) => LogicalResponse | null | undefined;

/** One route of a backend: a pattern over the in-mount path and its operations. */
export interface Route {
  readonly pattern: RegExp;
  readonly operations: Partial<Record<Operation, Handler>>;
  /**
   * Vault's existence check: decides whether a POST/PUT is `create` or `update` for ACLs.
   * Routes without one always count as update, as in Vault.
   */
  readonly exists?: (req: LogicalRequest, match: RegExpExecArray) => boolean;
}

/** A secrets engine or auth method as the router sees it. */
export interface Backend {
  readonly routes: readonly Route[];
  /** In-mount paths served without a token (login endpoints). */
  readonly unauthenticatedPaths?: readonly RegExp[];
  /** In-mount paths that need `sudo` on top of the operation's capability. */
  readonly rootPaths?: readonly RegExp[];
}

/** Finds the first route whose pattern matches the in-mount path. */
export function findRoute(backend: Backend, subPath: string): { route: Route; match: RegExpExecArray } | null {
  for (const route of backend.routes) {
    const match = route.pattern.exec(subPath);
    if (match) return { route, match };
  }
  return null;
}

/** The handler for an operation; create falls back to update as in most Vault paths. */
export function handlerFor(route: Route, operation: Operation): Handler | undefined {
  if (operation === 'create') return route.operations.create ?? route.operations.update;
  return route.operations[operation];
}

/** 404 for an in-mount path no route serves. */
export function unsupportedPath(): VaultError {
  return new VaultError(404, [multiError('unsupported path')]);
}

/** 405 for a route that exists but not for this operation. */
export function unsupportedOperation(): VaultError {
  return new VaultError(405, [multiError('unsupported operation')]);
}

/** A new request id (Vault uses a UUID per request). */
export function newRequestId(): string {
  return randomUUID();
}

/** Vault's list response: `{"keys": [...]}`. */
export function listResponse(keys: string[]): LogicalResponse {
  return { data: { keys } };
}

/**
 * Renders a handler's result the way Vault's HTTP layer does: nil response → 404 for
 * reads and lists (and empty key lists), 204 otherwise; otherwise the JSON envelope.
 */
export function renderLogical(req: LogicalRequest, resp: LogicalResponse | null | undefined, mountType: string): VaultReply {
  if (!resp) {
    if (req.operation === 'read' || req.operation === 'list' || req.operation === 'patch') return { status: 404, body: { errors: [] } };
    return { status: 204 };
  }
  if (req.operation === 'list' && resp.status === undefined) {
    const keys = resp.data?.keys;
    const empty = !resp.data || Object.keys(resp.data).length === 0 || (Array.isArray(keys) && keys.length === 0);
    if (empty && !(resp.warnings && resp.warnings.length > 0)) return { status: 404, body: { errors: [] } };
  }
  const data = resp.data === undefined || resp.data === null ? null : (sortKeysDeep(resp.data) as Record<string, unknown>);
  const envelope = {
    request_id: req.id,
    lease_id: '',
    renewable: false,
    lease_duration: resp.leaseDuration ?? 0,
    data,
    wrap_info: null,
    warnings: resp.warnings && resp.warnings.length > 0 ? resp.warnings : null,
    auth: resp.auth ? { ...resp.auth, metadata: resp.auth.metadata ? (sortKeysDeep(resp.auth.metadata) as Record<string, string>) : null } : null,
    mount_type: resp.status === undefined ? mountType : '',
  };
  const body = resp.injectTopLevel && data && Object.keys(data).length > 0 ? { ...data, ...envelope } : envelope;
  return { status: resp.status ?? 200, body, headers: resp.headers };
}

/** A request field as text, the way Vault's weak decoding reads scalars; objects and lists as JSON. */
export function fieldText(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** Reads a string field from request data, or '' when absent. */
export function str(data: Record<string, unknown>, key: string): string {
  const value = data[key];
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : fieldText(value);
}

/**
 * Reads a list field the way Vault's TypeCommaStringSlice does: a JSON array or a
 * comma-separated string; trims and drops empties.
 */
export function stringList(data: Record<string, unknown>, key: string): string[] | undefined {
  const value = data[key];
  if (value === undefined || value === null) return undefined;
  const items = Array.isArray(value) ? value.map(fieldText) : fieldText(value).split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

/** Reads a boolean field (JSON boolean, or a string/number Go's ParseBool accepts). */
export function bool(data: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = data[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  const text = fieldText(value);
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new VaultError(400, [`error converting input ${JSON.stringify(value)} for field "${key}": cannot parse '' as bool`]);
}

/** Reads an integer field (number or numeric string); fallback when absent. */
export function int(data: Record<string, unknown>, key: string, fallback: number): number {
  const value = data[key];
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw new VaultError(400, [`error converting input ${JSON.stringify(value)} for field "${key}"`]);
  return Math.trunc(n);
}

/** Sorted, de-duplicated policy names, lowercased, as Vault's policyutil.SanitizePolicies. */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const set = new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''));
  // Vault drops "default" from a root token's set and never adds it there.
  if (set.has('root')) return ['root'];
  if (addDefault) set.add('default');
  return [...set].sort();
}
