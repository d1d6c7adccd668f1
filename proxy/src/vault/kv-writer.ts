/**
 * Check-and-set writes to service secrets on a KV v2 mount: how a rotated OAuth2 refresh
 * token goes back to the secret it came from, so a restart or another replica continues with
 * the current one. Needs `create`/`update` on the secret's data path in the proxy's policy
 * (docs/vault-admin.md); KV v1 has no check-and-set and is refused.
 *
 * The versioned read and the check-and-set write themselves (readKvVersion, writeKvIfVersion)
 * are shared with `migrate rewrite --to-vault`, which words its own errors for an admin.
 */
import { ProxyError } from '../contract/proxy-error';
import type { SecretWriter, VersionedSecret } from '../secrets/types';
import { classifyVaultError } from './errors';
import { detectKvVersion, encodePath, kvApiPath, kvVersionOnce, toSecretData, trimSlashes, type KvReaderOptions, type KvSession } from './kv';

/** What a KV v2 data path holds, as a check-and-set write needs to know it. */
export interface StoredVersion {
  /** False when Vault answered 404: never written, or its latest version deleted or destroyed. */
  found: boolean;
  /** The live fields; null when not found (or when Vault's answer held none). */
  fields: Record<string, unknown> | null;
  /**
   * The version a check-and-set write must name; a deleted or destroyed latest version still
   * has one (Vault's 404 carries its metadata). Null when Vault did not say: never written.
   */
  version: number | null;
}

interface VersionedBody {
  data?: { data?: unknown; metadata?: { version?: unknown } | null } | null;
}

function versionIn(body: unknown): number | null {
  const version = (body as VersionedBody | null)?.data?.metadata?.version;
  return typeof version === 'number' ? version : null;
}

/**
 * Reads a KV v2 data path (`apiPath` as kvApiPath builds it, encoded). A 404 is an answer, not
 * an error: it says the path holds no live version. Vault's other errors are thrown as they came.
 */
export async function readKvVersion(session: KvSession, apiPath: string): Promise<StoredVersion> {
  let response: unknown;
  try {
    response = await session.call('read', (client) => client.read(apiPath));
  } catch (err) {
    const failure = classifyVaultError(err);
    if (failure.kind !== 'not_found') throw err;
    return { found: false, fields: null, version: versionIn(failure.body) };
  }
  const fields = (response as VersionedBody | null)?.data?.data;
  return { found: true, fields: typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>) : null, version: versionIn(response) };
}

/**
 * Writes `fields` as the new version of a KV v2 data path if its current version is still
 * `version` (0: never written). False when Vault refused the check-and-set (it answers 400
 * "check-and-set parameter did not match the current version"); other errors are thrown as they came.
 */
export async function writeKvIfVersion(session: KvSession, apiPath: string, fields: Readonly<Record<string, unknown>>, version: number): Promise<boolean> {
  try {
    await session.call('write', (client) => client.write(apiPath, { data: fields, options: { cas: version } }));
    return true;
  } catch (err) {
    if (classifyVaultError(err).kind === 'bad_request') return false;
    throw err;
  }
}

/** A SecretWriter for one KV mount. */
export function createKvWriter(session: KvSession, options: KvReaderOptions): SecretWriter {
  const mount = trimSlashes(options.mount);
  const kvVersion = kvVersionOnce(() => detectKvVersion(session, mount), options.version);

  const notFound = (path: string): ProxyError =>
    new ProxyError('SECRET_NOT_FOUND', `secret ${mount}/${path} does not exist in Vault`, { cause: { kind: 'not_found' } });

  const failure = (err: unknown, doing: string, path: string): ProxyError => {
    const kind = classifyVaultError(err).kind;
    if (kind === 'forbidden') {
      return new ProxyError(
        'VAULT_FORBIDDEN',
        `Vault denied ${doing} secret ${mount}/${path}; the proxy's Vault policy needs "read", "create" and "update" on ${kvApiPath(mount, 2, 'data', path)}`,
        { cause: { kind } },
      );
    }
    if (kind === 'not_found') return notFound(path);
    return new ProxyError('VAULT_UNAVAILABLE', `Vault unavailable while ${doing} secret ${mount}/${path}`, { cause: { kind } });
  };

  const requireV2 = async (path: string): Promise<void> => {
    if ((await kvVersion()) !== 2) {
      throw new ProxyError(
        'VAULT_FORBIDDEN',
        `secret ${mount}/${path} is on a KV v1 mount, which cannot check-and-set a rotated refresh token; use a KV v2 mount`,
      );
    }
  };

  return {
    async readVersioned(path): Promise<VersionedSecret> {
      await requireV2(path);
      let stored: StoredVersion;
      try {
        stored = await readKvVersion(session, kvApiPath(mount, 2, 'data', encodePath(path)));
      } catch (err) {
        throw failure(err, 'reading', path);
      }
      if (!stored.found) throw notFound(path);
      const raw = stored.fields ?? {};
      return { data: toSecretData(raw), raw, version: stored.version };
    },

    async writeIfUnchanged(path, fields, version) {
      await requireV2(path);
      try {
        return await writeKvIfVersion(session, kvApiPath(mount, 2, 'data', encodePath(path)), fields, version);
      } catch (err) {
        throw failure(err, 'writing', path);
      }
    },
  };
}
