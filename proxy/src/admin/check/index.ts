/**
 * `secure-proxy check`: proves a config works before it is deployed. Logs in to Vault with
 * the configured auth method, detects the KV version, reads every service's secret and
 * checks it holds what the service's injection needs, reads every CA file, and (with
 * tokenStore) lists and judges the token records, all through the modules the running
 * proxy uses. Stops the session (renewal and probe timers, pooled sockets) before returning.
 */
import type { ProxyConfig } from '../../config/schema';
import { toProxyError } from '../../contract/proxy-error';
import { ProxyEvents } from '../../observability/events';
import { createKvReader, detectKvVersion, trimSlashes } from '../../vault/kv';
import { createKvWriter } from '../../vault/kv-writer';
import type { VaultSession } from '../../vault/session';
import { checkLogin, openCheckSession } from './vault-login';
import { checkServices, compileServices, serviceReport } from './services';
import { checkCaFiles } from './ca-files';
import { checkTokenStore, tokenStoreNotChecked } from './token-store';
import type { CheckProblem, CheckReport, KvReport, TokenStoreReport } from './report';

export type { CaFileReport, CheckReport, CheckProblem, KvReport, LoginReport, ServiceReport, TokenClientReport, TokenStoreReport } from './report';
export { formatCheckJson, formatCheckText } from './format';

export interface CheckOptions {
  /** Names the config in ConfigError messages (the file path). */
  source?: string;
  /** The time expiries are judged at (tests); now by default. */
  now?: number;
}

type VaultSettings = ProxyConfig['vault'];

/** The KV report before anything was asked: what the config says. */
function configuredKv(vault: VaultSettings, error: CheckProblem | null): KvReport {
  return {
    // The reader ignores surrounding slashes too.
    mount: trimSlashes(vault.kvMount),
    version: vault.kvVersion ?? null,
    source: vault.kvVersion === undefined ? 'detected' : 'configured',
    error,
  };
}

/** Asks Vault for the mount's KV version, unless vault.kvVersion is set. */
async function checkKvMount(session: VaultSession, vault: VaultSettings): Promise<KvReport> {
  const kv = configuredKv(vault, null);
  if (kv.source === 'configured') return kv;
  try {
    return { ...kv, version: await detectKvVersion(session, kv.mount) };
  } catch (err) {
    const error = toProxyError(err);
    return { ...kv, error: { code: error.code, message: error.message } };
  }
}

/**
 * Runs every check for a validated config. Rejects only with a ConfigError (a config the proxy
 * could not start with); every Vault or secret problem is in the report.
 */
export async function runCheck(config: ProxyConfig, options: CheckOptions = {}): Promise<CheckReport> {
  const check = openCheckSession(config.vault, new ProxyEvents());
  let services;
  try {
    services = compileServices(config, options.source, createKvWriter(check.session, { mount: config.vault.kvMount, version: config.vault.kvVersion }));
  } catch (err) {
    await check.session.stop();
    throw err;
  }
  const now = options.now ?? Date.now();
  const warnings: string[] = [];
  try {
    const login = await checkLogin(check, config.vault.auth.method, warnings);
    const caFiles = checkCaFiles(config, now, warnings);
    let kv: KvReport;
    let serviceReports;
    let tokenStore: TokenStoreReport | null = null;
    if (login.error === null) {
      kv = await checkKvMount(check.session, config.vault);
      // A failed detection is left to the reader, which tries again and explains it per service.
      const version = kv.version ?? undefined;
      const reader = createKvReader(check.session, { mount: kv.mount, version });
      serviceReports = await checkServices(services, reader);
      if (config.tokenStore !== undefined) tokenStore = await checkTokenStore(config, config.tokenStore, check.session, version, now, warnings);
    } else {
      const notChecked: CheckProblem = { code: login.error.code, message: `not checked: ${login.error.message}` };
      kv = configuredKv(config.vault, notChecked);
      serviceReports = services.map((service) => serviceReport(service, notChecked));
      if (config.tokenStore !== undefined) tokenStore = tokenStoreNotChecked(config, config.tokenStore, notChecked);
    }
    return {
      ok: login.ok && kv.error === null && serviceReports.every((s) => s.ok) && caFiles.every((f) => f.ok) && (tokenStore?.ok ?? true),
      vault: { address: config.vault.address, namespace: config.vault.namespace ?? null, login, kv },
      services: serviceReports,
      caFiles,
      tokenStore,
      warnings,
    };
  } finally {
    await check.session.stop();
  }
}
