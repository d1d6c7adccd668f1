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
  /** Drops every cached value (config reload, tests). */
  clear(): void;
}
