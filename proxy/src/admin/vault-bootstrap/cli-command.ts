/**
 * `secure-proxy vault bootstrap`: prepares a Vault for the proxy with the admin's token
 * (VAULT_TOKEN, never a flag, so it stays out of the process list and shell history). Exit 0
 * done (or nothing to do), 1 Vault refused or failed, 2 bad options.
 */
import type { Command } from 'commander';
import { bootstrapVault } from './steps';
import { formatBootstrap } from './format';
import { BOOTSTRAP_DEFAULTS, BootstrapUsageError, checkOptions, type BootstrapAuth, type BootstrapOptions } from './options';
import { openAdminApi } from './vault-api';

/** What commander hands the action: the options' own fields, with the auth method still unchecked. */
type Flags = Omit<BootstrapOptions, 'auth' | 'authMount'> & {
  auth: string;
  authMount?: string;
  vaultAddr?: string;
  caFile?: string;
  dryRun?: boolean;
};

/** Deadline of one Vault call. */
const CALL_TIMEOUT_MS = 10_000;

export function registerVaultCommands(program: Command): void {
  const vault = program.command('vault').description('Vault setup for the proxy, for Vault admins.');
  vault
    .command('bootstrap')
    .description(
      'Enable what is missing (KV v2 mount, AppRole or Kubernetes auth), write the policies (policies/*.hcl of this package), and create or update ' +
        "the proxy's role, with the admin token in VAULT_TOKEN. Idempotent: a second run changes nothing. Prints what it did; never prints a secret.",
    )
    .option('--vault-addr <url>', 'Vault address (env: VAULT_ADDR)')
    .option('--ca-file <file>', "PEM CA bundle that signed Vault's certificate")
    .option('--dry-run', 'read Vault and print the writes it would make, without making them')
    .option('--auth <method>', 'auth method for the proxy: approle or kubernetes', BOOTSTRAP_DEFAULTS.auth)
    .option('--auth-mount <path>', 'mount path of the auth method (default: the method name)')
    .option('--role <name>', "the proxy's role name", BOOTSTRAP_DEFAULTS.role)
    .option('--kv-mount <path>', 'KV mount of the secrets (vault.kvMount)', BOOTSTRAP_DEFAULTS.kvMount)
    .option('--services-path <path>', 'folder of the service secrets under the mount', BOOTSTRAP_DEFAULTS.servicesPath)
    .option('--records-path <path>', 'folder of the proxy token records (tokenStore.path)', BOOTSTRAP_DEFAULTS.recordsPath)
    .option('--no-token-store', 'do not let the proxy read token records (static clients only)')
    .option('--no-admin-policy', 'do not write the token-management policy')
    .option('--policy-prefix <prefix>', 'put in front of every policy name', BOOTSTRAP_DEFAULTS.policyPrefix)
    .option('--token-ttl <duration>', "TTL of the proxy's Vault token", BOOTSTRAP_DEFAULTS.tokenTtl)
    .option('--token-max-ttl <duration>', "max TTL of the proxy's Vault token", BOOTSTRAP_DEFAULTS.tokenMaxTtl)
    .option('--secret-id-ttl <duration>', 'AppRole: how long a secret id works', BOOTSTRAP_DEFAULTS.secretIdTtl)
    .option('--service-account <name>', 'Kubernetes: service account of the proxy pods', BOOTSTRAP_DEFAULTS.serviceAccount)
    .option('--namespace <name>', 'Kubernetes: namespace of the proxy pods (required with --auth kubernetes)')
    .option('--kubernetes-host <url>', 'Kubernetes: API server URL, written to auth/<mount>/config when that is not set')
    .action(async (flags: Flags) => {
      const options = optionsOf(flags);
      const address = flags.vaultAddr ?? process.env.VAULT_ADDR;
      if (address === undefined || address === '') throw new BootstrapUsageError('pass --vault-addr URL or set VAULT_ADDR');
      if (!URL.canParse(address) || !/^https?:$/.test(new URL(address).protocol))
        throw new BootstrapUsageError(`--vault-addr must be an http(s) URL, got "${address}"`);
      const token = process.env.VAULT_TOKEN;
      if (token === undefined || token === '') {
        throw new BootstrapUsageError(
          'set VAULT_TOKEN to a Vault token allowed to enable mounts and auth methods and to write policies and roles (a flag would show it in the process list)',
        );
      }
      const api = openAdminApi({
        address: address.replace(/\/+$/, ''),
        token,
        namespace: process.env.VAULT_NAMESPACE || undefined,
        caFile: flags.caFile,
        timeoutMs: CALL_TIMEOUT_MS,
      });
      try {
        const result = await bootstrapVault(api, options, flags.dryRun === true);
        process.stdout.write(formatBootstrap(result, api.address, flags.dryRun === true));
      } finally {
        api.close();
      }
    });
}

function optionsOf(flags: Flags): BootstrapOptions {
  if (flags.auth !== 'approle' && flags.auth !== 'kubernetes') throw new BootstrapUsageError(`--auth must be approle or kubernetes, got "${flags.auth}"`);
  const auth: BootstrapAuth = flags.auth;
  const { vaultAddr: _address, caFile: _caFile, dryRun: _dryRun, ...own } = flags;
  return checkOptions({ ...own, auth, authMount: flags.authMount ?? auth });
}
