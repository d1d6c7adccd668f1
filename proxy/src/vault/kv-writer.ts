/**
 * Check-and-set writes to service secrets on a KV v2 mount: how a rotated OAuth2 refresh
 * token goes back to the secret it came from, so a restart or another replica continues with
 * the current one. Needs `create`/`update` on the secret's data path in the proxy's policy
 * (docs/vault-admin.md); KV v1 has no check-and-set and is refused.
 */
import { ProxyError } from '../contract/proxy-error';
import type { SecretWriter, VersionedSecret } from '../secrets/types';
import { classifyVaultError } from './errors';
import { detectKvVersion, encodePath, kvApiPath, kvVersionOnce, toSecretData, trimSlashes, type KvReaderOptions, type KvSession } from './kv';

/** A SecretWriter for one KV mount. */
export function createKvWriter(session: KvSession, options: KvReaderOptions): SecretWriter {
  const mount = trimSlashes(options.mount);
  const kvVersion = kvVersionOnce(() => detectKvVersion(session, mount), options.version);

  const failure = (err: unknown, doing: string, path: string): ProxyError => {
    const kind = classifyVaultError(err).kind;
    if (kind === 'forbidden') {
      return new ProxyError(
        'VAULT_FORBIDDEN',
        `Vault denied ${doing} secret ${mount}/${path}; the proxy's Vault policy needs "read", "create" and "update" on ${kvApiPath(mount, 2, 'data', path)}`,
        { cause: { kind } },
      );
    }
    if (kind === 'not_found') return new ProxyError('SECRET_NOT_FOUND', `secret ${mount}/${path} does not exist in Vault`, { cause: { kind } });
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
      let response: unknown;
      try {
        response = await session.call('read', (client) => client.read(kvApiPath(mount, 2, 'data', encodePath(path))));
      } catch (err) {
        throw failure(err, 'reading', path);
      }
      const data = (response as { data?: { data?: unknown; metadata?: { version?: unknown } | null } | null } | null)?.data;
      const raw = typeof data?.data === 'object' && data.data !== null ? (data.data as Record<string, unknown>) : {};
      const version = data?.metadata?.version;
      return { data: toSecretData(raw), raw, version: typeof version === 'number' ? version : null };
    },

    async writeIfUnchanged(path, fields, version) {
      await requireV2(path);
      try {
        await session.call('write', (client) => client.write(kvApiPath(mount, 2, 'data', encodePath(path)), { data: fields, options: { cas: version } }));
        return true;
      } catch (err) {
        // Vault answers 400 "check-and-set parameter did not match the current version".
        if (classifyVaultError(err).kind === 'bad_request') return false;
        throw failure(err, 'writing', path);
      }
    },
  };
}
