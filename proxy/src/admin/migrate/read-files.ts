/**
 * Workflows from files and folders, in every shape n8n writes them:
 * - one workflow (the editor's "Download", `n8n export:workflow --id=…`);
 * - an array of workflows (`n8n export:workflow --all`);
 * - a folder of workflow files (`n8n export:workflow --all --separate --output=dir/`), read
 *   recursively, `*.json` only;
 * - a public-API page (`{"data": [workflows], "nextCursor": …}`) saved to a file.
 * A file that is not JSON, or JSON without workflows, is an UnreadableInputError naming it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UnreadableInputError } from './errors';
import { isWorkflow, type SourcedWorkflow } from './workflow';

/** The workflows held by a parsed JSON document, or null when it holds none. */
export function workflowsOf(document: unknown, source: string): SourcedWorkflow[] | null {
  if (isWorkflow(document)) return [{ source, workflow: document }];
  const list = Array.isArray(document) ? document : (document as { data?: unknown } | null)?.data;
  if (!Array.isArray(list)) return null;
  if (!list.every(isWorkflow)) return null;
  return list.map((workflow, index) => ({ source: list.length === 1 ? source : `${source}[${index}]`, workflow }));
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** The workflows of one file, and whether the file held a single workflow (rather than a list). */
export async function readWorkflowFile(path: string): Promise<{ workflows: SourcedWorkflow[]; single: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UnreadableInputError(path, errnoText(err));
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    // SyntaxError names the position only; the text around it might be a secret.
    throw new UnreadableInputError(path, `not valid JSON (${(err as Error).message.replace(/,? *"[\s\S]*$/, '').slice(0, 120)})`);
  }
  const workflows = workflowsOf(document, path);
  if (workflows === null) {
    throw new UnreadableInputError(path, 'not an n8n workflow export: expected a workflow ({"nodes": [...]}), an array of workflows, or {"data": [workflows]}');
  }
  return { workflows, single: isWorkflow(document) };
}

async function jsonFilesUnder(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    throw new UnreadableInputError(folder, errnoText(err));
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await jsonFilesUnder(path)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) files.push(path);
  }
  return files;
}

/** Every workflow in the given files and folders, in order. */
export async function readWorkflowInputs(inputs: readonly string[]): Promise<SourcedWorkflow[]> {
  const out: SourcedWorkflow[] = [];
  for (const input of inputs) {
    let info;
    try {
      info = await stat(input);
    } catch (err) {
      throw new UnreadableInputError(input, errnoText(err));
    }
    const files = info.isDirectory() ? await jsonFilesUnder(input) : [input];
    if (info.isDirectory() && files.length === 0) throw new UnreadableInputError(input, 'the folder holds no .json files');
    for (const file of files) out.push(...(await readWorkflowFile(file)).workflows);
  }
  return out;
}
