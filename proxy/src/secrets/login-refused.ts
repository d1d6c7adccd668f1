/**
 * The one secret-store failure the cache must not paper over. VAULT_UNAVAILABLE covers two
 * different things: Vault out of reach (network, timeout, 429, 5xx, sealed), where a cached
 * secret may keep serving for `cache.maxStaleSeconds`, and Vault refusing the proxy itself
 * (its login or token), which is how an admin cuts the proxy off during an incident. The
 * client sees the same code for both; this type lets the cache tell them apart without
 * reading message text.
 */
import { ProxyError } from '../contract/proxy-error';

/** VAULT_UNAVAILABLE because Vault refused the proxy's own credentials: no stale copy may serve. */
export class LoginRefusedError extends ProxyError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VAULT_UNAVAILABLE', message, options);
    this.name = 'LoginRefusedError';
  }
}
