/**
 * Token records in Vault KV: list the clients, read one client's record with the version a
 * check-and-set write needs, write it back. Both the proxy (list, read) and the
 * `secure-proxy token` commands (read, write) use it through a VaultSession, so they share
 * the node-vault client, its timeouts and its transport.
 *
 * Failures become a TokenStoreError naming the operation and the Vault API path (never a
 * record's content); callers add what to do about it, since the proxy and an admin need
 * different advice.
 */
import { toProxyError } from '../../contract/proxy-error';
import { classifyVaultError, type VaultFailure } from '../../vault/errors';
import { detectKvVersion, encodePath, kvApiPath, kvVersionOnce, trimSlashes, type KvSession, type KvVersion } from '../../vault/kv';

export type RecordOperation = 'detect' | 'list' | 'read' | 'write';

/** A Vault call on the token records failed. */
export class TokenStoreError extends Error {
  readonly operation: RecordOperation;
  /** The Vault API path (e.g. `secret/metadata/secure-proxy/clients/`), what a policy must cover. */
  readonly apiPath: string;
  /** How Vault failed; null when the KV version detection failed (its message says why). */
  readonly failure: VaultFailure | null;

  constructor(operation: RecordOperation, apiPath: string, failure: VaultFailure | null, message: string) {
    super(message);
    this.name = 'TokenStoreError';
    this.operation = operation;
    this.apiPath = apiPath;
    this.failure = failure;
  }

  /** True for 401/403: a policy (or token) problem rather than an outage. */
  get forbidden(): boolean {
    return this.failure?.kind === 'forbidden';
  }
}

/** One client's record as stored: the raw JSON, and the version a check-and-set write must name. */
export interface StoredRecord {
  /** The record's content, or null when there is none (never written, deleted or destroyed). */
  raw: unknown;
  /** KV v2: the key's current version (0 when it never existed), for `options.cas`. KV v1: null. */
  casVersion: number | null;
}

export interface TokenRecordStoreOptions {
  /** KV mount (vault.kvMount). */
  mount: string;
  /** Folder of the records under the mount (tokenStore.path). */
  path: string;
  /** vault.kvVersion when set; otherwise detected once. */
  version?: KvVersion;
}

/** Access to the token records of one mount and folder. */
export interface TokenRecordStore {
  /** `<mount>/<path>`, for messages. */
  readonly location: string;
  /** Client names that have a record (folders below the path are ignored). */
  listClients(): Promise<string[]>;
  read(client: string): Promise<StoredRecord>;
  /**
   * Writes a record. On KV v2 with `casVersion` set, Vault refuses the write (bad_request)
   * when the key moved on since it was read.
   */
  write(client: string, record: object, casVersion: number | null): Promise<void>;
}

function describe(failure: VaultFailure): string {
  switch (failure.kind) {
    case 'forbidden':
      return `Vault denied it (${failure.status})`;
    case 'not_found':
      return 'Vault has no such path (404)';
    case 'bad_request':
      return 'Vault refused the request (400)';
    case 'unavailable':
    case 'error':
      return failure.reason;
  }
}

/** Builds the store over a session (a VaultSession, or anything with its `call`). */
export function createTokenRecordStore(session: KvSession, options: TokenRecordStoreOptions): TokenRecordStore {
  const mount = trimSlashes(options.mount);
  const folder = trimSlashes(options.path);
  const kvVersion = kvVersionOnce(
    () =>
      detectKvVersion(session, mount).catch((err: unknown) => {
        throw new TokenStoreError('detect', `sys/internal/ui/mounts/${mount}`, null, toProxyError(err).message);
      }),
    options.version,
  );

  const apiPath = (v: KvVersion, kind: 'data' | 'metadata', client = ''): string =>
    kvApiPath(mount, v, kind, client === '' ? `${folder}/` : `${folder}/${client}`);

  const fail = (operation: RecordOperation, path: string, err: unknown): TokenStoreError => {
    const failure = classifyVaultError(err);
    const doing = { detect: 'detecting the KV version of', list: 'listing', read: 'reading', write: 'writing' }[operation];
    return new TokenStoreError(operation, path, failure, `${doing} ${path}: ${describe(failure)}`);
  };

  return {
    location: `${mount}/${folder}`,

    async listClients() {
      const v = await kvVersion();
      const path = apiPath(v, 'metadata');
      let response: unknown;
      try {
        response = await session.call('list', (client) => client.list(encodePath(path.slice(0, -1))));
      } catch (err) {
        // Vault answers a list of an empty (or absent) folder with 404.
        if (classifyVaultError(err).kind === 'not_found') return [];
        throw fail('list', path, err);
      }
      const keys = (response as { data?: { keys?: unknown } } | null)?.data?.keys;
      if (!Array.isArray(keys)) return [];
      return keys.filter((key): key is string => typeof key === 'string' && key !== '' && !key.endsWith('/'));
    },

    async read(clientName) {
      const v = await kvVersion();
      const path = apiPath(v, 'data', clientName);
      let response: unknown;
      try {
        response = await session.call('read', (client) => client.read(encodePath(path)));
      } catch (err) {
        const failure = classifyVaultError(err);
        if (failure.kind !== 'not_found') throw fail('read', path, err);
        // A deleted or destroyed latest version still has a version number a write must name.
        const metadataVersion = (failure.body as { data?: { metadata?: { version?: unknown } | null } | null } | null)?.data?.metadata?.version;
        return { raw: null, casVersion: v === 1 ? null : typeof metadataVersion === 'number' ? metadataVersion : 0 };
      }
      const data = (response as { data?: { data?: unknown; metadata?: { version?: unknown } | null } | null } | null)?.data;
      if (v === 1) return { raw: data ?? null, casVersion: null };
      const current = data?.metadata?.version;
      return { raw: data?.data ?? null, casVersion: typeof current === 'number' ? current : 0 };
    },

    async write(clientName, record, casVersion) {
      const v = await kvVersion();
      const path = apiPath(v, 'data', clientName);
      const body = v === 2 ? { data: record, ...(casVersion === null ? {} : { options: { cas: casVersion } }) } : record;
      try {
        await session.call('write', (client) => client.write(encodePath(path), body));
      } catch (err) {
        throw fail('write', path, err);
      }
    },
  };
}
