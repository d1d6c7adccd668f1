/**
 * KV version 1 (Vault's "passthrough" backend): unversioned key/value at `<mount>/<path>`.
 * Reads carry the default lease duration (or the secret's own `ttl`), writes answer 204.
 */
import { SYSTEM_DEFAULT_TTL_SECONDS, tryParseDurationSeconds } from './durations';
import { badRequest } from './http';
import { listResponse, type Backend, type Route } from './logical';

/**
 * Immediate children of a folder among slash-separated keys, as Vault lists them:
 * sorted, folders with a trailing `/`.
 */
export function listChildren(keys: Iterable<string>, prefix: string): string[] {
  const out = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix) || key === prefix) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    out.add(slash < 0 ? rest : rest.slice(0, slash + 1));
  }
  return [...out].sort();
}

/** An in-memory KV v1 engine. */
export class KvV1Backend implements Backend {
  private readonly entries = new Map<string, Record<string, unknown>>();
  readonly routes: readonly Route[];

  constructor() {
    this.routes = [
      {
        pattern: /^(.*)$/s,
        exists: (_req, m) => this.entries.has(m[1]),
        operations: {
          read: (_req, m) => {
            const entry = this.entries.get(m[1]);
            if (!entry) return null;
            return { data: { ...entry }, leaseDuration: leaseSeconds(entry) };
          },
          list: (_req, m) => listResponse(listChildren(this.entries.keys(), m[1])),
          update: (req, m) => {
            if (m[1] === '') throw badRequest('missing path');
            if (Object.keys(req.data).length === 0) throw badRequest('missing data fields');
            this.entries.set(m[1], structuredClone(req.data));
            return null;
          },
          delete: (_req, m) => {
            this.entries.delete(m[1]);
            return null;
          },
        },
      },
    ];
  }
}

/** The lease duration a KV v1 read reports: the secret's `ttl`/`lease` field, else the default. */
function leaseSeconds(entry: Record<string, unknown>): number {
  const raw = entry.ttl ?? entry.lease;
  if (raw === undefined) return SYSTEM_DEFAULT_TTL_SECONDS;
  // Vault ignores an unparsable ttl field and keeps the default, so do we.
  return tryParseDurationSeconds(raw) ?? SYSTEM_DEFAULT_TTL_SECONDS;
}
