/**
 * `secure-proxy vault bootstrap`: prepares a Vault for the proxy with the admin's token
 * (VAULT_TOKEN, never a flag, so it stays out of the process list and shell history). Exit 0
 * done (or nothing to do), 1 Vault refused or failed, 2 bad options.
 */
import type { Command } from 'commander';
import { BOOTSTRAP_DEFAULTS } from './options';
import type * as Action from './cli-action';

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
    .action((flags: Action.BootstrapFlags) => action().bootstrap(flags));
}

/**
 * The command's action, loaded when it runs rather than with the program: `serve` builds the
 * same program, and every module it loads stays in the heap each full garbage collection of
 * the serving process marks.
 */
function action(): typeof Action {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when the command runs, see above
  return require('./cli-action') as typeof Action;
}
