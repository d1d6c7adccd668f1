/**
 * A Vault-backed token store for tests of the token lifecycle: the documented policies (the
 * proxy may list and read the records, an admin token may write them), a config file the
 * built `secure-proxy token` command reads, proxies started with `tokenStore` through their
 * own AppRole, and the CLI run with the admin's VAULT_TOKEN. Every CLI output and every
 * token it printed are kept, so a suite can prove none of them leaked.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyConfigInput } from '../../proxy/src/config/schema';
import { cleanEnv, runCli, type CliResult } from './cli';
import { startProxy, type ProxyHarness, type TestProxy } from './proxy-harness';
import { createAppRole, createToken, writePolicy } from './vault-setup';

export const RECORDS_PATH = 'secure-proxy/clients';

export interface TokenStoreSetup {
  configFile: string;
  dir: string;
  adminToken: string;
  /** Every stdout and stderr the CLI wrote. */
  outputs: string[];
  /** Proxies started so far; stop them with stopAll(). */
  proxies: TestProxy[];
  /** Runs `secure-proxy token <args> --config <file>` with the admin's token (and `env` on top). */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** A proxy replica reading the records, serving the service `echo` (secret svc/echo, bearer). */
  replica(tokenStore: NonNullable<ProxyConfigInput['tokenStore']>, extra?: Partial<ProxyConfigInput>): Promise<TestProxy>;
  stopAll(): Promise<void>;
}

export async function setUpTokenStore(harness: ProxyHarness): Promise<TokenStoreSetup> {
  const { vault, mount } = harness;
  await writePolicy(vault, `${vault.prefix}-records`, {
    path: { [`${mount}/metadata/${RECORDS_PATH}/`]: { capabilities: ['list'] }, [`${mount}/data/${RECORDS_PATH}/*`]: { capabilities: ['read'] } },
  });
  const proxyAuth = await createAppRole(vault, `${vault.prefix}-approle`, 'proxy-records', {
    policies: [`${vault.prefix}-proxy`, `${vault.prefix}-records`],
    tokenTtl: '1h',
    tokenMaxTtl: '4h',
  });
  await writePolicy(vault, `${vault.prefix}-admin`, {
    path: {
      [`${mount}/data/${RECORDS_PATH}/*`]: { capabilities: ['create', 'read', 'update', 'list'] },
      [`${mount}/metadata/${RECORDS_PATH}/*`]: { capabilities: ['create', 'read', 'update', 'list'] },
    },
  });
  const adminToken = await createToken(vault, { policies: [`${vault.prefix}-admin`], ttl: '1h' });
  const dir = mkdtempSync(join(tmpdir(), 'sp-token-store-'));
  const configFile = join(dir, 'proxy.yaml');
  const echo = { target: `${harness.upstream.url}/base`, secret: 'svc/echo', inject: { type: 'bearer' as const } };
  writeFileSync(
    configFile,
    JSON.stringify({ vault: { address: vault.address, auth: { method: 'token', token: 'replaced-by-VAULT_TOKEN' }, kvMount: mount }, tokenStore: {}, services: { echo } }),
  );
  const outputs: string[] = [];
  const proxies: TestProxy[] = [];
  return {
    configFile,
    dir,
    adminToken,
    outputs,
    proxies,
    async cli(args, env = {}) {
      const result = await runCli(['token', ...args, '--config', configFile], { env: cleanEnv({ VAULT_TOKEN: adminToken, ...env }) });
      outputs.push(result.stdout, result.stderr);
      return result;
    },
    async replica(tokenStore, extra = {}) {
      const t = await startProxy(harness, (base) => ({
        vault: { ...base.vault, auth: { method: 'approle', roleId: proxyAuth.roleId, secretId: proxyAuth.secretId, mount: `${vault.prefix}-approle` } },
        tokenStore,
        services: { echo },
        ...extra,
      }));
      proxies.push(t);
      return t;
    },
    async stopAll() {
      for (const t of proxies) await t.proxy.stop();
    },
  };
}
