/**
 * Vault as the proxy's secret store: the session (token life cycle, readiness), a KV reader
 * for the configured mount, and the cache the hot path reads through.
 */
import type { ProxyConfig } from '../config/schema';
import type { ProxyEvents } from '../observability/events';
import { SecretCache } from '../secrets/cache';
import type { SecretData, SecretProvider, SecretReader } from '../secrets/types';
import { createKvReader } from './kv';
import { VaultSession } from './session';

export interface VaultSecretsOptions {
  /**
   * Called with the field values of every secret read from Vault (not on cache hits), e.g. to
   * register them with the log redactor. Must not keep or print them elsewhere.
   */
  onSecretRead?: (values: readonly string[]) => void;
}

/** The composed Vault secret source. */
export interface VaultSecrets {
  session: VaultSession;
  /** Cached secret access for the hot path. */
  secrets: SecretProvider;
  /** Logs in; resolves after the first attempt, successful or not (see `session.readiness()`). */
  start(): Promise<void>;
  /** Stops renewal and probes, closes Vault connections and drops cached secrets. */
  stop(): Promise<void>;
}

function observed(reader: SecretReader, onSecretRead: (values: readonly string[]) => void): SecretReader {
  return {
    async read(path: string): Promise<SecretData> {
      const data = await reader.read(path);
      onSecretRead(Object.values(data));
      return data;
    },
  };
}

/** Builds session, KV reader and cache from the validated config. */
export function createVaultSecrets(config: ProxyConfig, events: ProxyEvents, options: VaultSecretsOptions = {}): VaultSecrets {
  const session = new VaultSession({ vault: config.vault, events });
  const kv = createKvReader(session, { mount: config.vault.kvMount, version: config.vault.kvVersion });
  const reader = options.onSecretRead === undefined ? kv : observed(kv, options.onSecretRead);
  const secrets = new SecretCache(reader, {
    ttlMs: config.cache.ttlSeconds * 1000,
    maxStaleMs: config.cache.maxStaleSeconds * 1000,
    events,
  });
  return {
    session,
    secrets,
    start: () => session.start(),
    async stop() {
      secrets.clear();
      await session.stop();
    },
  };
}

export { VaultSession, type Readiness, type VaultSessionOptions } from './session';
export { createKvReader, detectKvVersion, type KvReaderOptions, type KvVersion } from './kv';
export { classifyVaultError, type VaultFailure } from './errors';
