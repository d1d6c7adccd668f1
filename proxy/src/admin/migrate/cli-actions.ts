/**
 * What `migrate scan` and `migrate rewrite` do once commander has parsed them (cli-commands.ts
 * defines the commands and loads this module when one runs). Reports go to stdout, advice to
 * stderr; no secret value is ever printed.
 */
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

export async function scan(inputs: string[], flags: ScanFlags): Promise<void> {
  const workflows = await scanInputs(inputs, flags);
  const findings = workflows.flatMap(scanWorkflow).map((detection) => detection.finding);
  process.stdout.write(flags.json === true ? formatScanJson(findings) : formatScanText(findings, workflows.length));
  process.exitCode = findings.length === 0 ? 0 : 1;
}

export interface ScanFlags {
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

export interface RewriteFlags {
  services: string;
  out: string;
  toVault?: boolean;
  force?: boolean;
  kvMount: string;
  credentialName: string;
  credentialId?: string;
}

export async function rewrite(file: string, flags: RewriteFlags): Promise<void> {
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
