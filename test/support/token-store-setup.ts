/**
 * A Vault-backed token store for tests of the token lifecycle: the documented policies (the
 * proxy may list and read the records, an admin token may write them), a config file the
 * built `secure-proxy token` command reads, proxies started with `tokenStore` through their
 * own AppRole, and the CLI run with the admin's VAULT_TOKEN. Every CLI stderr and every
 * token it printed are kept, so a suite can prove none of them leaked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyConfigInput } from '../../proxy/src/config/schema';
import { cleanEnv, runCli, type CliResult } from './cli';
import { startProxy, type ProxyHarness, type TestProxy } from './proxy-harness';
import { createAppRole, createToken, writePolicy } from './vault-setup';

export const RECORDS_PATH = 'secure-proxy/clients';

type ServiceInput = ProxyConfigInput['services'][string];

export interface TokenStoreOptions {
  /** Services besides `echo`, in the config file the CLI reads and in every replica. */
  services?: Record<string, ServiceInput>;
}

export interface TokenStoreSetup {
  /** A temporary folder holding the config file; tests may put files there. Removed by close(). */
  dir: string;
  /** The admin's Vault token: exactly the documented token-management policy. */
  adminToken: string;
  /** Every stderr the CLI wrote (what people read; stdout may hold a token on purpose). */
  stderrs: string[];
  /** Every token issue() returned; suites add tokens they got another way. */
  issued: string[];
  /** Proxies started so far; close() stops them. */
  proxies: TestProxy[];
  /** Runs `secure-proxy token <args> --config <file>` with the admin's token (and `env` on top). */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** Runs an issuing command, expects exit 0 and the token alone on stdout, and returns it (kept in `issued`). */
  issue(args: string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** The expiry `rotate` gave an older token, in epoch ms (its before → after on stderr says "~ token <id> now expires <iso> (was …)"). */
  expiryPrintedFor(token: string): number;
  /** A proxy replica reading the records, serving `echo` (secret svc/echo, bearer) and the extra services. */
  replica(tokenStore: NonNullable<ProxyConfigInput['tokenStore']>, extra?: Partial<ProxyConfigInput>): Promise<TestProxy>;
  /** Stops every proxy and removes the folder. */
  close(): Promise<void>;
}

export async function setUpTokenStore(harness: ProxyHarness, options: TokenStoreOptions = {}): Promise<TokenStoreSetup> {
  const { vault, mount, approleMount } = harness;
  // The proxy: its harness policy plus list/read on the records (docs/vault-admin.md).
  await writePolicy(vault, `${vault.prefix}-records`, {
    path: { [`${mount}/metadata/${RECORDS_PATH}/`]: { capabilities: ['list'] }, [`${mount}/data/${RECORDS_PATH}/*`]: { capabilities: ['read'] } },
  });
  const proxyAuth = await createAppRole(vault, approleMount, 'proxy-records', {
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
  const services = { echo: { target: `${harness.upstream.url}/base`, secret: 'svc/echo', inject: { type: 'bearer' as const } }, ...options.services };
  // The proxy's own login refers to variables the admin's machine does not have: the CLI must
  // let VAULT_TOKEN replace it without resolving them.
  writeFileSync(
    configFile,
    JSON.stringify({
      vault: {
        address: vault.address,
        auth: { method: 'approle', roleId: '${VAULT_ROLE_ID}', secretId: '${VAULT_SECRET_ID}', mount: approleMount },
        kvMount: mount,
      },
      tokenStore: {},
      services,
    }),
  );
  const stderrs: string[] = [];
  const issued: string[] = [];
  const proxies: TestProxy[] = [];
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => {
    const result = await runCli(['token', ...args, '--config', configFile], { env: cleanEnv({ VAULT_TOKEN: adminToken, ...env }) });
    stderrs.push(result.stderr);
    return result;
  };
  return {
    dir,
    adminToken,
    stderrs,
    issued,
    proxies,
    cli,
    async issue(args, env) {
      const result = await cli(args, env);
      expect(result.stderr).not.toMatch(/^secure-proxy:/m);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^spt_[a-z0-9]+_[A-Za-z0-9_-]+\n$/);
      const token = result.stdout.trim();
      issued.push(token);
      return token;
    },
    expiryPrintedFor(token) {
      const id = /^spt_([a-z0-9]+)_/.exec(token)?.[1];
      const match = new RegExp(`^  ~ token ${id} now expires (\\S+) \\(was \\S+\\)$`, 'm').exec(stderrs.join('\n'));
      if (id === undefined || match === null) throw new Error(`no expiry was printed for token ${id ?? '(not a proxy token)'}`);
      return Date.parse(match[1]);
    },
    async replica(tokenStore, extra = {}) {
      const t = await startProxy(harness, (base) => ({
        vault: { ...base.vault, auth: { method: 'approle', roleId: proxyAuth.roleId, secretId: proxyAuth.secretId, mount: approleMount } },
        tokenStore,
        services,
        ...extra,
      }));
      proxies.push(t);
      return t;
    },
    async close() {
      for (const t of proxies) await t.proxy.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
