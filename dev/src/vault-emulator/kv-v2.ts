/**
 * KV version 2: versioned secrets under `<mount>/data/`, `metadata/`, `delete/`,
 * `undelete/`, `destroy/`, with check-and-set, soft delete and destroy answered exactly as
 * Vault's kv plugin does (a deleted or destroyed version is a 404 that still carries data
 * and metadata; any other path is a 404 with only a warning).
 */
import { preciseNow, rfc3339Nano } from './durations';
import { badRequest } from './http';
import { int, listResponse, type Backend, type LogicalRequest, type LogicalResponse, type Route } from './logical';
import { listChildren } from './kv-v1';

interface Version {
  createdTime: number;
  deletionTime: number | null;
  destroyed: boolean;
  data: Record<string, unknown> | null;
}

interface KeyMeta {
  versions: Map<number, Version>;
  currentVersion: number;
  oldestVersion: number;
  createdTime: number;
  updatedTime: number;
  customMetadata: Record<string, string> | null;
  maxVersions: number;
  casRequired: boolean;
}

/** Vault's default number of versions kept when neither the key nor the mount sets one. */
const DEFAULT_MAX_VERSIONS = 10;

/** An in-memory KV v2 engine. */
export class KvV2Backend implements Backend {
  private readonly keys = new Map<string, KeyMeta>();
  private readonly config = { maxVersions: 0, casRequired: false };
  readonly routes: readonly Route[];

  constructor() {
    const hasKey = (_req: LogicalRequest, m: RegExpExecArray): boolean => this.keys.has(m[1]);
    this.routes = [
      {
        pattern: /^config$/,
        operations: {
          read: () => ({ data: { cas_required: this.config.casRequired, delete_version_after: '0s', max_versions: this.config.maxVersions } }),
          update: (req) => {
            this.config.maxVersions = int(req.data, 'max_versions', this.config.maxVersions);
            if (req.data.cas_required !== undefined) this.config.casRequired = req.data.cas_required === true || req.data.cas_required === 'true';
            return null;
          },
        },
      },
      {
        pattern: /^data\/(.*[^/])$/s,
        exists: hasKey,
        operations: {
          read: (req, m) => this.readData(req, m[1]),
          update: (req, m) => this.writeData(req, m[1], false),
          patch: (req, m) => this.writeData(req, m[1], true),
          delete: (_req, m) => {
            const meta = this.keys.get(m[1]);
            const latest = meta?.versions.get(meta.currentVersion);
            if (latest && latest.deletionTime === null && !latest.destroyed) latest.deletionTime = preciseNow();
            return null;
          },
        },
      },
      {
        pattern: /^metadata\/((?:.*\/)?)$/s,
        operations: { list: (_req, m) => listResponse(listChildren(this.keys.keys(), m[1])) },
      },
      {
        pattern: /^metadata\/(.*[^/])$/s,
        exists: hasKey,
        operations: {
          read: (_req, m) => this.readMetadata(m[1]),
          update: (req, m) => this.writeMetadata(req, m[1]),
          delete: (_req, m) => {
            this.keys.delete(m[1]);
            return null;
          },
        },
      },
      { pattern: /^delete\/(.*[^/])$/s, operations: { update: (req, m) => this.changeVersions(req, m[1], 'delete') } },
      { pattern: /^undelete\/(.*[^/])$/s, operations: { update: (req, m) => this.changeVersions(req, m[1], 'undelete') } },
      { pattern: /^destroy\/(.*[^/])$/s, operations: { update: (req, m) => this.changeVersions(req, m[1], 'destroy') } },
      {
        pattern: /^(?:data|metadata|delete|undelete|destroy)$/,
        operations: allOperations(() => warningOnly('Non-listing operations on the root of a K/V v2 mount are not supported.')),
      },
      {
        pattern: /^.*$/s,
        operations: allOperations((req) => warningOnly(invalidPathWarning(req))),
      },
    ];
  }

  private readData(req: LogicalRequest, key: string): LogicalResponse | null {
    const meta = this.keys.get(key);
    if (!meta) return null;
    const asked = int(req.data, 'version', 0);
    const number = asked > 0 ? asked : meta.currentVersion;
    const version = meta.versions.get(number);
    if (!version) return null;
    const data: Record<string, unknown> = { data: null, metadata: versionMetadata(meta, number, version) };
    // A soft-deleted or destroyed version still answers its metadata, with a 404.
    if ((version.deletionTime !== null && version.deletionTime <= preciseNow()) || version.destroyed) return { data, status: 404 };
    data.data = structuredClone(version.data);
    return { data };
  }

  private writeData(req: LogicalRequest, key: string, patch: boolean): LogicalResponse | null {
    const payload = req.data.data;
    if (payload === undefined || payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw badRequest('no data provided');
    const existing = this.keys.get(key);
    let base: Record<string, unknown> = {};
    if (patch) {
      const latest = existing?.versions.get(existing.currentVersion);
      // Patching needs a live latest version, like Vault (which answers 404 otherwise).
      if (!existing || !latest || latest.destroyed || latest.deletionTime !== null || latest.data === null) return null;
      base = latest.data;
    }
    const now = preciseNow();
    const meta: KeyMeta = existing ?? newKeyMeta(now);
    checkCas(req, meta, this.config.casRequired);
    const number = meta.currentVersion + 1;
    const data = patch ? mergePatch(base, payload as Record<string, unknown>) : structuredClone(payload as Record<string, unknown>);
    meta.versions.set(number, { createdTime: now, deletionTime: null, destroyed: false, data });
    meta.currentVersion = number;
    meta.updatedTime = now;
    this.keys.set(key, meta);
    this.prune(meta);
    return { data: { created_time: rfc3339Nano(now), custom_metadata: meta.customMetadata, deletion_time: '', destroyed: false, version: number } };
  }

  /** Drops the oldest versions beyond max_versions, as Vault's cleanupOldVersions does. */
  private prune(meta: KeyMeta): void {
    const max = meta.maxVersions > 0 ? meta.maxVersions : this.config.maxVersions > 0 ? this.config.maxVersions : DEFAULT_MAX_VERSIONS;
    while (meta.versions.size > max) {
      const oldest = Math.min(...meta.versions.keys());
      meta.versions.delete(oldest);
      meta.oldestVersion = oldest + 1;
    }
  }

  private readMetadata(key: string): LogicalResponse | null {
    const meta = this.keys.get(key);
    if (!meta) return null;
    const versions: Record<string, unknown> = {};
    for (const [number, v] of meta.versions) {
      versions[String(number)] = {
        created_time: rfc3339Nano(v.createdTime),
        deletion_time: v.deletionTime === null ? '' : rfc3339Nano(v.deletionTime),
        destroyed: v.destroyed,
      };
    }
    return {
      data: {
        cas_required: meta.casRequired,
        created_time: rfc3339Nano(meta.createdTime),
        current_version: meta.currentVersion,
        custom_metadata: meta.customMetadata,
        delete_version_after: '0s',
        max_versions: meta.maxVersions,
        oldest_version: meta.oldestVersion,
        updated_time: rfc3339Nano(meta.updatedTime),
        versions,
      },
    };
  }

  private writeMetadata(req: LogicalRequest, key: string): LogicalResponse | null {
    const now = preciseNow();
    const meta: KeyMeta = this.keys.get(key) ?? newKeyMeta(now);
    meta.maxVersions = int(req.data, 'max_versions', meta.maxVersions);
    if (req.data.cas_required !== undefined) meta.casRequired = req.data.cas_required === true || req.data.cas_required === 'true';
    const custom = req.data.custom_metadata;
    if (custom !== undefined) {
      meta.customMetadata = custom === null ? null : Object.fromEntries(Object.entries(custom as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    }
    meta.updatedTime = now;
    this.keys.set(key, meta);
    this.prune(meta);
    return null;
  }

  private changeVersions(req: LogicalRequest, key: string, action: 'delete' | 'undelete' | 'destroy'): null {
    const raw = req.data.versions;
    const list = Array.isArray(raw) ? raw : typeof raw === 'string' || typeof raw === 'number' ? String(raw).split(',') : [];
    const numbers = list.map((v) => Number(v)).filter((n) => Number.isInteger(n) && n > 0);
    if (numbers.length === 0) throw badRequest(action === 'destroy' ? 'no version number provided' : 'No version number provided');
    const meta = this.keys.get(key);
    if (!meta) return null;
    const now = preciseNow();
    for (const number of numbers) {
      const version = meta.versions.get(number);
      if (!version || version.destroyed) continue;
      if (action === 'delete' && version.deletionTime === null) version.deletionTime = now;
      if (action === 'undelete') version.deletionTime = null;
      if (action === 'destroy') {
        version.destroyed = true;
        version.data = null;
      }
    }
    return null;
  }
}

function versionMetadata(meta: KeyMeta, number: number, v: Version): Record<string, unknown> {
  return {
    created_time: rfc3339Nano(v.createdTime),
    custom_metadata: meta.customMetadata,
    deletion_time: v.deletionTime === null ? '' : rfc3339Nano(v.deletionTime),
    destroyed: v.destroyed,
    version: number,
  };
}

/** Vault's check-and-set rules: `options.cas` must equal the current version (0 = must not exist). */
function checkCas(req: LogicalRequest, meta: KeyMeta, mountRequires: boolean): void {
  const options = req.data.options as { cas?: unknown } | undefined | null;
  const cas = options && typeof options === 'object' ? options.cas : undefined;
  if (cas !== undefined && cas !== null) {
    const number = Number(cas);
    if (!Number.isInteger(number)) throw badRequest('error parsing check-and-set parameter');
    if (number !== meta.currentVersion) throw badRequest('check-and-set parameter did not match the current version');
  } else if (mountRequires || meta.casRequired) {
    throw badRequest('check-and-set parameter required for this call');
  }
}

/** JSON merge patch (RFC 7386), which Vault's KV v2 PATCH applies to the latest version. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(target);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof out[key] === 'object' && out[key] !== null && !Array.isArray(out[key])) {
      out[key] = mergePatch(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = structuredClone(value);
  }
  return out;
}

/** A 404 whose body has only a warning: Vault's answer for paths a v2 mount does not serve. */
function warningOnly(warning: string): LogicalResponse {
  return { warnings: [warning], status: 404 };
}

function invalidPathWarning(req: LogicalRequest): string {
  const sub = { read: 'get', list: 'list', create: 'put', update: 'put', delete: 'delete', patch: 'patch' }[req.operation];
  return `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${sub}' for this operation.`;
}

function allOperations(handler: (req: LogicalRequest) => LogicalResponse): Route['operations'] {
  return { read: handler, list: handler, update: handler, delete: handler, patch: handler };
}

/** Metadata of a key that has no versions yet (first write of data or of metadata). */
function newKeyMeta(now: number): KeyMeta {
  return {
    versions: new Map(),
    currentVersion: 0,
    oldestVersion: 0,
    createdTime: now,
    updatedTime: now,
    customMetadata: null,
    maxVersions: 0,
    casRequired: false,
  };
}
