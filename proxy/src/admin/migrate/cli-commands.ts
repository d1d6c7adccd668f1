/**
 * Command-line wiring of `secure-proxy migrate`: `scan` finds pasted secrets in exported
 * workflows (files, folders, or a running n8n); `rewrite` turns the HTTP Request nodes that
 * hold them into Secure Proxy Request nodes and, with --to-vault, moves the secrets into
 * Vault. Reports go to stdout, advice to stderr; no secret value is ever printed.
 */
import type { Command } from 'commander';
import { parseDurationFlag } from '../tokens/durations';
import { MigrateUsageError } from './errors';
import { n8nApiOf, readN8nWorkflows } from './read-n8n';
import { readWorkflowInputs } from './read-files';
import { scanWorkflow } from './scan';
import { formatScanJson, formatScanText } from './scan-report';
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
}
