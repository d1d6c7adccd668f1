/**
 * The `token` commands' command line: `token create | rotate | revoke | list | grant | ungrant`,
 * their flags and help. What each does is in cli-actions.ts, loaded when one of them runs.
 */
import type { Command } from 'commander';
import { configOption } from '../../config/load';
import type * as Actions from './cli-actions';

const DEFAULT_TTL = '90d';
const DEFAULT_GRACE = '15m';
const DEFAULT_N8N_TIMEOUT = '10s';
const CONFIG_FLAG = configOption('proxy config file: Vault address, kvMount, tokenStore.path, services');
const WORKFLOWS_FLAG = [
  '--workflows <service=ids>',
  'let the client use SERVICE only from these n8n workflow ids (comma-separated; the id is in the workflow URL), e.g. payments=V9xTRe2yW6kXnqDp,Q2wE; repeat for more services; SERVICE= with no ids removes the rule',
  (value: string, previous: string[]) => [...previous, value],
  [] as string[],
] as const;

/** Adds the flags that push a new token into n8n's credential. */
function withN8nFlags(command: Command): Command {
  return command
    .option('--n8n-url <url>', "n8n base URL: put the new token into the credential --n8n-credential-id through n8n's public API (after Vault holds it)")
    .option('--n8n-credential-id <id>', 'id of the "Secure Proxy API" credential in n8n to update')
    .option(
      '--n8n-api-key-file <file>',
      'file holding the n8n API key; without it the key comes from the environment variable N8N_API_KEY. There is no flag for the key itself: ps and shell history would show it',
    )
    .option('--n8n-timeout <duration>', 'how long to wait for each n8n API call', DEFAULT_N8N_TIMEOUT);
}

/** Adds create, rotate, revoke, grant, ungrant and list to the `token` command. */
export function registerTokenLifecycleCommands(token: Command): void {
  const create = token
    .command('create')
    .description(
      'Create a client record in Vault with a new token (or add a token with --add). Prints only the token on stdout, ' +
        'unless --out or --n8n-url takes it (then stdout stays empty; a refused n8n push prints it when there is no --out).',
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name, e.g. n8n-prod')
    .option(
      '--services <list>',
      'comma-separated services the client may use (required for a new client; with --add they are granted in addition, never replacing any: see "token grant" and "token ungrant")',
    )
    .option('--ttl <duration>', 'lifetime of the new token, e.g. 90d, 12h, or "never"', DEFAULT_TTL)
    .option('--add', 'add a token to an existing client instead of failing')
    .option(...WORKFLOWS_FLAG)
    .option('--out <file>', 'write the token to this file (mode 0600) instead of stdout');
  withN8nFlags(create).action((flags: Actions.CreateFlags) => actions().create(flags));

  const rotate = token
    .command('rotate')
    .description(
      'Issue a new token for a client; its older tokens stay valid for the grace period, then expire. Prints only the token on stdout, ' +
        'unless --out or --n8n-url takes it. With --n8n-url the new token is valid in Vault before n8n gets it, so running workflows never fail.',
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name')
    .option('--grace <duration>', 'how long older tokens keep working, e.g. 15m, 1h; 0 ends them now', DEFAULT_GRACE)
    .option(
      '--ttl <duration>',
      `lifetime of the new token, e.g. 90d, or "never" (default: the lifetime the client's newest token was issued with; ${DEFAULT_TTL} when it has none)`,
    )
    .option('--out <file>', 'write the token to this file (mode 0600) instead of stdout');
  withN8nFlags(rotate).action((flags: Actions.RotateFlags) => actions().rotate(flags, DEFAULT_TTL));

  token
    .command('revoke')
    .description('Remove a token (--id) or every token of a client (--client C --all) from Vault; prints what was revoked.')
    .option(...CONFIG_FLAG)
    .option('--id <id>', 'the token id (the part after spt_, as "token list" shows it)')
    .option('--client <name>', 'with --all: the client whose tokens to revoke')
    .option('--all', 'revoke every token of --client')
    .action((flags: Actions.RevokeFlags) => actions().revoke(flags));

  token
    .command('grant')
    .description(
      "Let a client in Vault also use these services (defined in the proxy config), or narrow services to listed workflows (--workflows). Its tokens stay as they are; prints the client's record before → after.",
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name')
    .option('--services <list>', 'comma-separated services to grant (required unless --workflows names them)')
    .option(...WORKFLOWS_FLAG)
    .action((flags: Actions.GrantFlags) => actions().grant(flags));

  token
    .command('ungrant')
    .description(
      "Stop a client in Vault from using these services (and drop their workflow rules). Its tokens stay as they are; prints the client's record before → after.",
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name')
    .requiredOption('--services <list>', 'comma-separated services to take away')
    .action((flags: Actions.UngrantFlags) => actions().ungrant(flags));

  token
    .command('list')
    .description("List the tokens in Vault: client, id, created, expires, state. Never a token or hash. Last use is in the proxy's audit log and metrics.")
    .option(...CONFIG_FLAG)
    .option('--client <name>', 'only this client')
    .option('--json', 'print JSON')
    .action((flags: Actions.ListFlags) => actions().list(flags));
}

/**
 * The commands' actions, loaded when one runs rather than with the program: `serve` builds the
 * same program, and every module it loads stays in the heap each full garbage collection of
 * the serving process marks.
 */
function actions(): typeof Actions {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when a command runs, see above
  return require('./cli-actions') as typeof Actions;
}
