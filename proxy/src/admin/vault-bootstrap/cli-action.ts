/**
 * What `vault bootstrap` does once commander has parsed it (cli-command.ts defines the command
 * and loads this module when it runs): check the options, open Vault with the admin token
 * from VAULT_TOKEN, make the changes (or list them with --dry-run) and print them.
 */
import { bootstrapVault } from './steps';
import { formatBootstrap } from './format';
import { BootstrapUsageError, checkOptions, type BootstrapAuth, type BootstrapOptions } from './options';
import { openAdminApi } from './vault-api';

/** What commander hands the action: the options' own fields, with the auth method still unchecked. */
export type BootstrapFlags = Omit<BootstrapOptions, 'auth' | 'authMount'> & {
  auth: string;
  authMount?: string;
  vaultAddr?: string;
  caFile?: string;
  dryRun?: boolean;
};

/** Deadline of one Vault call. */
const CALL_TIMEOUT_MS = 10_000;

export async function bootstrap(flags: BootstrapFlags): Promise<void> {
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
}

function optionsOf(flags: BootstrapFlags): BootstrapOptions {
  if (flags.auth !== 'approle' && flags.auth !== 'kubernetes') throw new BootstrapUsageError(`--auth must be approle or kubernetes, got "${flags.auth}"`);
  const auth: BootstrapAuth = flags.auth;
  const { vaultAddr: _address, caFile: _caFile, dryRun: _dryRun, ...own } = flags;
  return checkOptions({ ...own, auth, authMount: flags.authMount ?? auth });
}
