/**
 * What the forwarding code needs from a secret store. Vault is the real one; tests may
 * hand in another reader, but the cache in front of it is always the same.
 */

/** One secret's fields as strings (KV numbers and booleans are stringified; objects dropped). */
export type SecretData = Readonly<Record<string, string>>;

/**
 * Reads a secret from the store, uncached. Rejects with a ProxyError whose code is
 * SECRET_NOT_FOUND, VAULT_FORBIDDEN or VAULT_UNAVAILABLE (so the cache can decide whether
 * a stale value may keep serving: only VAULT_UNAVAILABLE allows that, and not when it is a
 * LoginRefusedError, i.e. the store refused the proxy itself).
 */
export interface SecretReader {
  read(path: string): Promise<SecretData>;
}

/** Cached access used on the hot path. Rejects with a ProxyError, like SecretReader. */
export interface SecretProvider {
  get(path: string): Promise<SecretData>;
  /**
   * The secret at `path` when it can be answered from memory right now: what `get` would
   * resolve with, counted and refreshed ahead the same way. Undefined otherwise (then `get`
   * reads it). Lets the hot path take a cached secret without a promise.
   */
  peek?(path: string): SecretData | undefined;
  /** Drops every cached value (config reload, tests). */
  clear(): void;
}

/** A secret as stored, with what a check-and-set write needs. */
export interface VersionedSecret {
  readonly data: SecretData;
  /** Every field as stored (objects and numbers too), so a write-back keeps what it does not change. */
  readonly raw: Readonly<Record<string, unknown>>;
  /** The KV v2 version; null on KV v1, which has no check-and-set. */
  readonly version: number | null;
}

/**
 * Read-modify-write access to a secret, for the one value the proxy itself changes: a
 * rotated OAuth2 refresh token. Rejects with a ProxyError like SecretReader.
 */
export interface SecretWriter {
  /** Reads the current version from the store, never from a cache. */
  readVersioned(path: string): Promise<VersionedSecret>;
  /** Writes `fields` as the new version if the secret is still at `version`; false when it moved on. */
  writeIfUnchanged(path: string, fields: Readonly<Record<string, unknown>>, version: number): Promise<boolean>;
}
