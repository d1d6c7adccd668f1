/**
 * Command-line wiring of `secure-proxy migrate`: `scan` finds pasted secrets in exported
 * workflows (files, folders, or a running n8n); `rewrite` turns the HTTP Request nodes that
 * hold them into Secure Proxy Request nodes and, with --to-vault, moves the secrets into
 * Vault. Reports go to stdout, advice to stderr; no secret value is ever printed.
 */
import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseDurationFlag } from '../tokens/durations';
import { MigrateUsageError } from './errors';
import { n8nApiOf, readN8nWorkflows } from './read-n8n';
import { readWorkflowFile, readWorkflowInputs } from './read-files';
import { rewriteWorkflows } from './rewrite';
import { formatRewriteText, servicesSnippet } from './rewrite-report';
import { scanWorkflow } from './scan';
import { formatScanJson, formatScanText } from './scan-report';
import { readServiceMap } from './service-map';
import { storeServiceSecrets, vaultAccessOf } from './vault-store';
import type { SourcedWorkflow } from './workflow';

interface ScanFlags {
  json?: boolean;
  n8nUrl?: string;
  n8nApiKeyFile?: string;
  n8nTimeout: string;
}

const say = (line: string): void => void process.stderr.write(`${line}\n`);

async function scanInputs(inputs: string[], flags: ScanFlags): Promise<SourcedWorkflow[]> {
  if (inputs.length === 0 && flags.n8nUrl === undefined) {
    throw new MigrateUsageError('migrate scan needs workflow files or folders, or --n8n-url URL (with N8N_API_KEY) to read them from n8n');
  }
  if (flags.n8nUrl === undefined && flags.n8nApiKeyFile !== undefined) throw new MigrateUsageError('--n8n-api-key-file needs --n8n-url');
  const workflows = await readWorkflowInputs(inputs);
  if (flags.n8nUrl !== undefined) {
    const api = await n8nApiOf(
      { n8nUrl: flags.n8nUrl, n8nApiKeyFile: flags.n8nApiKeyFile, timeoutMs: parseDurationFlag('--n8n-timeout', flags.n8nTimeout) },
      process.env,
      say,
    );
    workflows.push(...(await readN8nWorkflows(api)));
  }
  return workflows;
}

interface RewriteFlags {
  services: string;
  out: string;
  toVault?: boolean;
  force?: boolean;
  kvMount: string;
  credentialName: string;
  credentialId?: string;
}

const DEFAULT_CREDENTIAL_NAME = 'Secure Proxy API';

async function rewrite(file: string, flags: RewriteFlags): Promise<void> {
  if (flags.force === true && flags.toVault !== true) throw new MigrateUsageError('--force only applies with --to-vault');
  const outFile = join(flags.out, basename(file));
  if (resolve(outFile) === resolve(file)) throw new MigrateUsageError(`--out ${flags.out} would overwrite the input ${file}; pick another folder`);
  const map = await readServiceMap(flags.services);
  const vault = flags.toVault === true ? vaultAccessOf(process.env, flags.kvMount) : null;
  const input = await readWorkflowFile(file);
  const result = rewriteWorkflows(input.workflows, map, { id: flags.credentialId ?? null, name: flags.credentialName });

  // Vault first: a rewritten workflow is only useful once its service's secret is in Vault.
  if (vault !== null && result.services.size > 0) {
    await storeServiceSecrets(vault, result.services, flags.force === true, say);
  }
  await mkdir(flags.out, { recursive: true });
  const documents = result.workflows.map((w) => w.workflow);
  await writeFile(outFile, `${JSON.stringify(input.single ? documents[0] : documents, null, 2)}\n`);
  process.stdout.write(formatRewriteText(result.outcomes, [outFile]));
  if (result.services.size > 0) process.stdout.write(`\n${servicesSnippet(result.services, flags.kvMount)}`);
  if (result.services.size > 0 && vault === null)
    say('The secrets are not in Vault yet: run again with --to-vault (VAULT_ADDR, VAULT_TOKEN), or put them there yourself.');
  process.exitCode = result.outcomes.every((o) => o.rewritten) ? 0 : 1;
}

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
    .action(async (inputs: string[], flags: ScanFlags) => {
      const workflows = await scanInputs(inputs, flags);
      const findings = workflows.flatMap(scanWorkflow).map((detection) => detection.finding);
      process.stdout.write(flags.json === true ? formatScanJson(findings) : formatScanText(findings, workflows.length));
      process.exitCode = findings.length === 0 ? 0 : 1;
    });

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
    .action(rewrite);
}
