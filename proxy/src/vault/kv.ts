/**
 * Reads secrets from a Vault KV mount (version 1 or 2) through the session, and turns every
 * Vault answer into either the secret's fields or a ProxyError with a code from the contract.
 * Paths and mount names are not secret and are named in messages; values and Vault bodies never are.
 */
import { ProxyError } from '../contract/proxy-error';
import { LoginRefusedError } from '../secrets/login-refused';
import type { SecretData, SecretReader } from '../secrets/types';
import { classifyVaultError, VaultSessionError, type VaultFailure } from './errors';
import type { VaultSession } from './session';

/** KV engine version of a mount. */
export type KvVersion = 1 | 2;

export interface KvReaderOptions {
  /** Mount path, e.g. "secret" (leading/trailing slashes ignored). */
  mount: string;
  /** Skips detection (for tokens that may not read sys/internal/ui/mounts). */
  version?: KvVersion;
}

/** The session surface KV needs; a VaultSession satisfies it. */
export type KvSession = Pick<VaultSession, 'call'>;

/** A mount or path without leading and trailing slashes. */
export function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}

/** Encodes each segment so characters like `?` or `#` cannot change the request's meaning. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/**
 * The Vault API path of `path` on a mount: KV v2 puts `data/` or `metadata/` after the mount,
 * KV v1 has neither. `path` goes in as given (encode it first when it becomes a request).
 */
export function kvApiPath(mount: string, version: KvVersion, kind: 'data' | 'metadata', path: string): string {
  return version === 2 ? `${mount}/${kind}/${path}` : `${mount}/${path}`;
}

/**
 * A getter for a mount's KV version that runs `detect` at most once at a time and remembers
 * only a success, so a failed detection (Vault down, policy fixed later) is retried by the
 * next call. With `known` set, nothing is detected.
 */
export function kvVersionOnce(detect: () => Promise<KvVersion>, known?: KvVersion): () => Promise<KvVersion> {
  let version: Promise<KvVersion> | null = known === undefined ? null : Promise.resolve(known);
  return () => {
    if (version === null) {
      const detecting = detect();
      version = detecting;
      detecting.catch(() => {
        if (version === detecting) version = null;
      });
    }
    return version;
  };
}

/**
 * Asks Vault which KV version a mount runs (`data.options.version` "2" → 2, otherwise 1).
 * Rejects with a ProxyError.
 */
export async function detectKvVersion(session: KvSession, mount: string): Promise<KvVersion> {
  let response: unknown;
  try {
    response = await session.call('mounts', (client) => client.read(`sys/internal/ui/mounts/${encodePath(mount)}`));
  } catch (err) {
    if (err instanceof VaultSessionError && err.refusedByVault) throw loginRefused(err, `the KV version of mount "${mount}" was not detected`);
    throw mountError(classifyVaultError(err), mount);
  }
  const version = (response as { data?: { options?: { version?: unknown } | null } } | null)?.data?.options?.version;
  return version === '2' || version === 2 ? 2 : 1;
}

function mountError(failure: VaultFailure, mount: string): ProxyError {
  const cause = { kind: failure.kind, status: failure.status };
  switch (failure.kind) {
    case 'forbidden':
      return new ProxyError(
        'VAULT_FORBIDDEN',
        `Vault denied the proxy access to the KV mount "${mount}" while detecting its version; grant the proxy's policy read on its secret paths or set vault.kvVersion`,
        { cause },
      );
    case 'not_found':
    case 'bad_request':
      return new ProxyError('SECRET_NOT_FOUND', `Vault has no KV mount "${mount}" (check vault.kvMount)`, { cause });
    case 'unavailable':
    case 'error':
      return unavailable(failure, `detecting the KV version of mount "${mount}"`);
  }
}

/** Vault refused the proxy's own credentials; the cache must not answer from a stale copy. */
function loginRefused(err: VaultSessionError, consequence: string): LoginRefusedError {
  return new LoginRefusedError(
    `Vault refused the proxy's login, so ${consequence} and no cached copy is served (cache.maxStaleSeconds covers outages only): ${err.message}`,
    { cause: { kind: 'refused', status: err.failure.status } },
  );
}

function unavailable(failure: VaultFailure, doing: string): ProxyError {
  const reason = failure.kind === 'unavailable' || failure.kind === 'error' ? failure.reason : `Vault answered ${failure.status}`;
  const retryAfter = failure.kind === 'unavailable' ? failure.retryAfterSeconds : undefined;
  return new ProxyError('VAULT_UNAVAILABLE', `Vault unavailable while ${doing}: ${reason}`, {
    cause: { kind: failure.kind, status: failure.status },
    ...(retryAfter === undefined ? {} : { headers: { 'Retry-After': String(retryAfter) } }),
  });
}

/** Keeps string fields, stringifies numbers and booleans, drops objects and null. */
export function toSecretData(fields: unknown): SecretData {
  const out: Record<string, string> = {};
  if (typeof fields !== 'object' || fields === null) return Object.freeze(out);
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
  }
  return Object.freeze(out);
}

interface NotFoundBody {
  errors?: unknown;
  warnings?: unknown;
  data?: { metadata?: { deletion_time?: unknown; destroyed?: unknown } | null } | null;
}

/** Explains a 404: missing, latest version deleted/destroyed, or a path of the wrong KV version. */
function notFound(body: unknown, name: string, version: KvVersion): ProxyError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as NotFoundBody;
  const cause = { kind: 'not_found', status: 404 };
  const metadata = b.data?.metadata;
  if (!Array.isArray(b.errors) && metadata) {
    if (metadata.destroyed === true) {
      return new ProxyError('SECRET_NOT_FOUND', `the latest version of secret ${name} was destroyed in Vault; write a new version`, { cause });
    }
    if (typeof metadata.deletion_time === 'string' && metadata.deletion_time !== '') {
      return new ProxyError('SECRET_NOT_FOUND', `the latest version of secret ${name} was deleted in Vault; undelete it or write a new version`, { cause });
    }
  }
  if (!Array.isArray(b.errors) && Array.isArray(b.warnings) && b.warnings.length > 0) {
    return new ProxyError(
      'SECRET_NOT_FOUND',
      `Vault rejected the path for secret ${name} as wrong for the mount's KV engine (read as KV v${version}); check vault.kvMount and vault.kvVersion`,
      { cause },
    );
  }
  return new ProxyError('SECRET_NOT_FOUND', `secret ${name} does not exist in Vault`, { cause });
}

/**
 * A SecretReader for one KV mount. The version is detected once per reader (and only
 * remembered once detection succeeded). Rejects with a ProxyError: SECRET_NOT_FOUND,
 * VAULT_FORBIDDEN or VAULT_UNAVAILABLE (a LoginRefusedError when Vault refused the proxy's login).
 */
export function createKvReader(session: KvSession, options: KvReaderOptions): SecretReader {
  const mount = trimSlashes(options.mount);
  const kvVersion = kvVersionOnce(() => detectKvVersion(session, mount), options.version);

  return {
    async read(path: string): Promise<SecretData> {
      const v = await kvVersion();
      const name = `${mount}/${path}`;
      const apiPath = kvApiPath(mount, v, 'data', encodePath(path));
      let response: unknown;
      try {
        response = await session.call('read', (client) => client.read(apiPath));
      } catch (err) {
        if (err instanceof VaultSessionError && err.refusedByVault) throw loginRefused(err, `secret ${name} was not read`);
        const failure = classifyVaultError(err);
        switch (failure.kind) {
          case 'not_found':
            throw notFound(failure.body, name, v);
          case 'forbidden':
            throw new ProxyError(
              'VAULT_FORBIDDEN',
              `Vault denied reading secret ${name}; the proxy's Vault policy needs "read" on ${kvApiPath(mount, v, 'data', path)}`,
              { cause: { kind: failure.kind, status: failure.status } },
            );
          default:
            throw unavailable(failure, `reading secret ${name}`);
        }
      }
      const data = (response as { data?: { data?: unknown } | null } | null)?.data;
      return toSecretData(v === 2 ? data?.data : data);
    },
  };
}
