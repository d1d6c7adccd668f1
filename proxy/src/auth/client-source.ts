/**
 * Where the proxy's clients come from: the config file alone, or the config file plus the
 * token records in Vault when `tokenStore` is set. The app only sees a TokenDirectory and
 * a start/stop pair, whichever it is.
 */
import type { Logger } from 'winston';
import type { TokenDirectory } from './bearer';
import { ExpiryWatch } from './expiry-watch';
import { ClientRegistry } from './token-index';
import type { ProxyConfig } from '../config/schema';
import type { ProxyEvents } from '../observability/events';
import type { KvSession } from '../vault/kv';
import { TokenStoreDirectory } from './vault-records/directory';
import { createTokenRecordStore } from './vault-records/kv-records';

export interface ClientSource {
  readonly directory: TokenDirectory;
  /** First read of the Vault records (after the Vault login); resolves whether it worked or not. */
  start(): Promise<void>;
  stop(): void;
}

/**
 * Builds the client source for a validated config, reading records through the proxy's Vault
 * session. Either way, an ExpiryWatch warns about tokens close to their expiry.
 */
export function createClientSource(config: ProxyConfig, session: KvSession, events: ProxyEvents, logger: Logger): ClientSource {
  const source = createDirectory(config, session, events, logger);
  const watch = new ExpiryWatch({ tokens: () => source.directory.expiries(), windowSeconds: config.tokenExpiryWarningSeconds, events, logger });
  return {
    directory: source.directory,
    start: async () => {
      await source.start();
      watch.start();
    },
    stop: () => {
      watch.stop();
      source.stop();
    },
  };
}

function createDirectory(config: ProxyConfig, session: KvSession, events: ProxyEvents, logger: Logger): ClientSource {
  if (config.tokenStore === undefined) {
    if (Object.keys(config.clients).length === 0) {
      logger.warn('no clients: the config has no clients and no tokenStore, so every proxy token is refused');
    }
    const registry = new ClientRegistry(config.clients);
    return { directory: registry, start: () => Promise.resolve(), stop: () => undefined };
  }
  const directory = new TokenStoreDirectory({
    config: config.tokenStore,
    staticClients: config.clients,
    knownServices: new Set(Object.keys(config.services)),
    store: createTokenRecordStore(session, { mount: config.vault.kvMount, path: config.tokenStore.path, version: config.vault.kvVersion }),
    events,
    logger,
  });
  return { directory, start: () => directory.start(), stop: () => directory.stop() };
}
