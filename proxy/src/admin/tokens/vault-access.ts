/**
 * How `secure-proxy token` commands reach Vault: the proxy's config file says where Vault and
 * the records are (vault.address, kvMount, tokenStore.path) and which services exist; the
 * admin's own Vault token (VAULT_TOKEN) is the normal credential, the config's auth the
 * fallback. Calls go through the proxy's VaultSession, so timeouts, TLS and redirect handling
 * are the proxy's.
 */
import { readFile } from 'node:fs/promises';
import { buildConfig, parseConfigText } from '../../config/load';
import { ConfigError } from '../../config/errors';
import { DEFAULT_TOKEN_RECORDS_PATH, type ProxyConfig } from '../../config/schema';
import { ProxyEvents } from '../../observability/events';
import { createTokenRecordStore, type TokenRecordStore } from '../../auth/vault-records/kv-records';
import { VaultSession } from '../../vault/session';
import { TokenAdminFailure } from './errors';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Loads the config for a token command. With VAULT_TOKEN set, the file's `vault.auth` is
 * replaced by that token before validation: the admin's machine need not hold the proxy's
 * own login secrets (an AppRole secret id referenced as `${VAULT_SECRET_ID}`, say).
 */
export async function loadAdminConfig(path: string, env: Env): Promise<ProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the config file (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`]);
  }
  const raw = parseConfigText(text, path);
  const token = env.VAULT_TOKEN;
  if (token !== undefined && token !== '' && raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const file = raw as { vault?: unknown };
    if (file.vault !== null && typeof file.vault === 'object' && !Array.isArray(file.vault)) {
      // Without an auth in the file, the loader fills token auth from VAULT_TOKEN (after interpolation, so taken verbatim).
      const { auth: _proxyLogin, ...rest } = file.vault as Record<string, unknown>;
      file.vault = rest;
    }
  }
  return buildConfig(raw, env, path);
}

/** An open connection to the token records; close it when done. */
export interface AdminVault {
  store: TokenRecordStore;
  close(): Promise<void>;
}

/** Logs in to Vault and returns the record store of the config's tokenStore.path. */
export async function openAdminVault(config: ProxyConfig): Promise<AdminVault> {
  const session = new VaultSession({ vault: config.vault, events: new ProxyEvents() });
  await session.start();
  const readiness = session.readiness();
  if (!readiness.ready) {
    await session.stop();
    throw new TokenAdminFailure(
      `cannot use Vault at ${config.vault.address}: ${readiness.reason ?? 'the login failed'} (set VAULT_TOKEN to your own Vault token, or check vault.auth)`,
    );
  }
  const store = createTokenRecordStore(session, {
    mount: config.vault.kvMount,
    // A config without tokenStore still names the default folder, so records can be prepared before the proxy reads them.
    path: config.tokenStore?.path ?? DEFAULT_TOKEN_RECORDS_PATH,
    version: config.vault.kvVersion,
  });
  return { store, close: () => session.stop() };
}
