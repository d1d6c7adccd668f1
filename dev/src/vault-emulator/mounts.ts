/**
 * Mount tables for secrets engines and auth methods: longest-prefix routing, Vault's
 * conflict rules, and the mount descriptions sys/mounts, sys/auth and
 * sys/internal/ui/mounts answer with.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest } from './http';
import type { Backend } from './logical';

/** One mounted secrets engine or auth method. */
export interface MountEntry {
  /** Path in its table, with a trailing slash: `secret/`, or `approle/` for auth. */
  readonly path: string;
  readonly type: string;
  readonly description: string;
  readonly accessor: string;
  readonly uuid: string;
  /** Vault keeps options as strings (`{"version":"2"}`), or null when none were given. */
  readonly options: Readonly<Record<string, string>> | null;
  readonly backend: Backend;
  /** What Vault reports as running_plugin_version for this builtin. */
  readonly runningVersion: string;
}

/** What a new mount needs; accessor and uuid are generated. */
export interface MountSpec {
  path: string;
  type: string;
  description: string;
  options: Record<string, string> | null;
  backend: Backend;
  runningVersion: string;
}

/** Normalizes a user-given mount path: no leading slash, exactly one trailing slash. */
export function normalizeMountPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  return `${trimmed}/`;
}

/** A mount table. Auth tables route under `auth/` but list paths without it, like Vault. */
export class MountTable {
  private readonly entries = new Map<string, MountEntry>();
  /** '' for secrets engines, 'auth/' for auth methods. */
  readonly routePrefix: string;
  private readonly accessorPrefix: (type: string) => string;

  constructor(routePrefix: '' | 'auth/') {
    this.routePrefix = routePrefix;
    this.accessorPrefix = routePrefix === '' ? (type) => type : (type) => `auth_${type}`;
  }

  /** Mounts an engine; a path overlapping an existing mount is Vault's "path is already in use". */
  add(spec: MountSpec): MountEntry {
    const path = normalizeMountPath(spec.path);
    for (const existing of this.entries.keys()) {
      if (path.startsWith(existing) || existing.startsWith(path)) throw badRequest(`path is already in use at ${this.routePrefix}${existing}`);
    }
    const entry: MountEntry = {
      ...spec,
      path,
      accessor: `${this.accessorPrefix(spec.type)}_${randomBytes(4).toString('hex')}`,
      uuid: randomUUID(),
    };
    this.entries.set(path, entry);
    return entry;
  }

  /** Unmounts; unknown paths are fine (Vault answers 204 "if it existed"). */
  remove(path: string): MountEntry | undefined {
    const key = normalizeMountPath(path);
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry;
  }

  get(path: string): MountEntry | undefined {
    return this.entries.get(normalizeMountPath(path));
  }

  list(): MountEntry[] {
    return [...this.entries.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  /**
   * The mount serving a logical path (longest prefix), and the path inside it. Like Vault's
   * router, `secret` without a slash still finds `secret/`.
   */
  match(logicalPath: string): { entry: MountEntry; subPath: string } | null {
    if (!logicalPath.startsWith(this.routePrefix)) return null;
    const rest = logicalPath.slice(this.routePrefix.length);
    let best: MountEntry | null = null;
    for (const entry of this.entries.values()) {
      if ((rest.startsWith(entry.path) || `${rest}/` === entry.path) && (!best || entry.path.length > best.path.length)) best = entry;
    }
    if (!best) return null;
    return { entry: best, subPath: rest.slice(best.path.length) };
  }
}

/** The mount description Vault returns in sys/mounts, sys/auth and their per-path reads. */
export function mountInfo(entry: MountEntry, table: 'secret' | 'auth'): Record<string, unknown> {
  const config: Record<string, unknown> = { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 };
  if (table === 'auth' && entry.type === 'token') config.token_type = 'default-service';
  return {
    accessor: entry.accessor,
    config,
    deprecation_status: entry.type === 'token' || entry.type === 'system' || entry.type === 'cubbyhole' || entry.type === 'identity' ? undefined : 'supported',
    description: entry.description,
    external_entropy_access: false,
    local: entry.type === 'cubbyhole',
    options: entry.options ? { ...entry.options } : null,
    plugin_version: '',
    running_plugin_version: entry.runningVersion,
    running_sha256: '',
    seal_wrap: entry.type === 'cubbyhole',
    type: entry.type,
    uuid: entry.uuid,
  };
}
