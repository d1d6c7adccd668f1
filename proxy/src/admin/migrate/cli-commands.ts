/**
 * Command-line wiring of `secure-proxy migrate`: `scan` finds pasted secrets in exported
 * workflows (files, folders, or a running n8n); `rewrite` turns the HTTP Request nodes that
 * hold them into Secure Proxy Request nodes and, with --to-vault, moves the secrets into
 * Vault. This module is the command line (flags, help); what each command does is in
 * cli-actions.ts, loaded when one runs.
 */
import type { Command } from 'commander';
import type * as Actions from './cli-actions';

const DEFAULT_CREDENTIAL_NAME = 'Secure Proxy API';

/** Adds `migrate scan` and `migrate rewrite` to the program. */
export function registerMigrateCommands(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('Find API secrets pasted into n8n workflows and move them behind the proxy: scan, then rewrite (see docs/migration.md).');

  migrate
    .command('scan')
    .description(
      'Find pasted secrets in exported workflows: single workflow files, arrays of workflows, export folders (n8n export:workflow --separate), ' +
        'or a running n8n with --n8n-url. Exit 0 nothing found, 1 findings, 2 unreadable input or bad usage. Prints fingerprints, never a secret.',
    )
    .argument('[inputs...]', 'workflow JSON files or folders of them')
    .option('--json', 'print {"findings": [...]} as JSON')
    .option('--n8n-url <url>', 'also read every workflow from this n8n through its public API (key from N8N_API_KEY or --n8n-api-key-file)')
    .option('--n8n-api-key-file <file>', 'file holding the n8n API key, instead of the environment variable N8N_API_KEY')
    .option('--n8n-timeout <duration>', 'how long to wait for each n8n API call', '30s')
    .action((inputs: string[], flags: Actions.ScanFlags) => actions().scan(inputs, flags));

  migrate
    .command('rewrite')
    .description(
      'Turn the HTTP Request nodes of a workflow file that call a mapped API host with a pasted secret into Secure Proxy Request nodes, ' +
        'written to --out; with --to-vault also store each secret in Vault KV v2 (check-and-set). Prints the services to add to the proxy config. ' +
        'Exit 0 every secret moved, 1 some left in place (listed with the reason) or Vault refused, 2 bad usage or unreadable input. Never prints a secret.',
    )
    .argument('<file>', 'workflow JSON file (one workflow or an array)')
    .requiredOption('--services <map.yaml>', 'YAML map of API hosts to proxy services, e.g. "api.github.com: { service: github }"')
    .requiredOption('--out <dir>', 'folder for the rewritten workflow file (same file name)')
    .option('--to-vault', "store each secret in Vault at the service's secret path (VAULT_ADDR, admin token in VAULT_TOKEN)")
    .option('--force', 'with --to-vault: replace a different value already stored at a secret path')
    .option('--kv-mount <mount>', 'Vault KV v2 mount of the service secrets', 'secret')
    .option(
      '--credential-name <name>',
      'name of the "Secure Proxy API" credential the rewritten nodes use; n8n links it by name on import',
      DEFAULT_CREDENTIAL_NAME,
    )
    .option('--credential-id <id>', 'id of that credential in n8n, when known')
    .action((file: string, flags: Actions.RewriteFlags) => actions().rewrite(file, flags));
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
