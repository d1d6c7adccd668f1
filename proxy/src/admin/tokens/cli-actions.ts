/**
 * What the `token` commands do once commander has parsed them (cli-commands.ts defines the
 * commands and loads this module when one runs): load the config, open Vault, run the
 * operation from commands.ts and print. New tokens go to stdout alone (or `--out FILE`);
 * everything meant for people goes to stderr, so `TOKEN=$(secure-proxy token rotate ...)` works.
 * With `--n8n-url`, create and rotate also put the token into n8n's credential (n8n/sink.ts).
 */
import { configPathOf } from '../../config/load';
import type { ProxyConfig } from '../../config/schema';
import { createToken, listTokens, revokeAllTokens, revokeTokenById, rotateToken } from './commands';
import { reportGrant, reportIssued, reportRevoked, say } from './cli-report';
import { asAdminError, TokenAdminFailure, TokenAdminUsageError } from './errors';
import { parseDurationFlag, parseTtlFlag } from './durations';
import { formatListJson, formatListText } from './list-format';
import { checkCredential, N8nRefusal, type N8nTarget } from '../n8n/push';
import { n8nSink, type N8nSink } from '../n8n/sink';
import { n8nTargetOf, type N8nFlags } from '../n8n/target';
import { grantServices, ungrantServices } from './service-grants';
import { parseWorkflowsFlags, type WorkflowRuleChanges } from './workflow-grants';
import { fileSink, stdoutSink, type TokenSink } from './token-output';
import { loadAdminConfig, openAdminVault, type AdminVault } from './vault-access';

export interface CommonFlags {
  config?: string;
}

export interface PushFlags extends N8nFlags {
  n8nTimeout: string;
  out?: string;
}

export type CreateFlags = CommonFlags & PushFlags & { client: string; services?: string; ttl: string; add?: boolean; workflows: string[] };
export type RotateFlags = CommonFlags & PushFlags & { client: string; grace: string; ttl?: string };
export type RevokeFlags = CommonFlags & { id?: string; client?: string; all?: boolean };
export type GrantFlags = CommonFlags & { client: string; services?: string; workflows: string[] };
export type UngrantFlags = CommonFlags & { client: string; services: string };
export type ListFlags = CommonFlags & { client?: string; json?: boolean };

export async function create(flags: CreateFlags): Promise<void> {
  const ttlMs = parseTtlFlag(flags.ttl);
  const workflows = parseWorkflowsFlags(flags.workflows);
  const narrowed = withRuleServices([], workflows);
  const services = flags.services === undefined && narrowed.length === 0 ? undefined : withRuleServices(splitList(flags.services ?? ''), workflows);
  const n8n = await n8nTargetFor(flags);
  await withVault(flags, async (config, vault) => {
    const sink = await deliveryFor(flags.out, n8n);
    reportIssued(await createToken(config, vault.store, sink, { client: flags.client, services, ttlMs, add: flags.add === true, workflows }), sink);
  });
}

/** `defaultTtl`: the lifetime when neither --ttl nor the client's newest token says one. */
export async function rotate(flags: RotateFlags, defaultTtl: string): Promise<void> {
  const graceMs = parseDurationFlag('--grace', flags.grace);
  const ttlMs = flags.ttl === undefined ? undefined : parseTtlFlag(flags.ttl);
  const n8n = await n8nTargetFor(flags);
  await withVault(flags, async (config, vault) => {
    const sink = await deliveryFor(flags.out, n8n);
    const options = { client: flags.client, graceMs, ttlMs, defaultTtlMs: parseTtlFlag(defaultTtl) };
    reportIssued(await rotateToken(config, vault.store, sink, options), sink);
  });
}

export async function revoke(flags: RevokeFlags): Promise<void> {
  const byId = flags.id !== undefined;
  const all = flags.client !== undefined && flags.all === true;
  if (byId === all) throw new TokenAdminUsageError('pass either --id ID, or --client NAME --all');
  await withVault(flags, async (config, vault) => {
    reportRevoked(byId ? await revokeTokenById(vault.store, flags.id as string) : await revokeAllTokens(config, vault.store, flags.client as string));
  });
}

export async function grant(flags: GrantFlags): Promise<void> {
  const workflows = parseWorkflowsFlags(flags.workflows);
  if (flags.services === undefined && Object.keys(workflows).length === 0) {
    throw new TokenAdminUsageError('pass --services LIST, --workflows SERVICE=IDS, or both');
  }
  const services = withRuleServices(splitList(flags.services ?? ''), workflows);
  await withVault(flags, async (config, vault) => {
    reportGrant(await grantServices(config, vault.store, flags.client, services, workflows), 'grant');
  });
}

export async function ungrant(flags: UngrantFlags): Promise<void> {
  const services = splitList(flags.services);
  await withVault(flags, async (config, vault) => {
    reportGrant(await ungrantServices(config, vault.store, flags.client, services), 'ungrant');
  });
}

export async function list(flags: ListFlags): Promise<void> {
  await withVault(flags, async (_config, vault) => {
    const listed = await listTokens(vault.store, flags.client);
    process.stdout.write(flags.json === true ? formatListJson(listed) : formatListText(listed));
    const problems = listed.filter((entry) => entry.problem !== null);
    for (const entry of problems) say(`client "${entry.client}": ${entry.problem}`);
    if (problems.length > 0) process.exitCode = 1;
  });
}

async function withVault<T>(flags: CommonFlags, run: (config: ProxyConfig, vault: AdminVault) => Promise<T>): Promise<T> {
  const path = configPathOf(flags);
  if (path === undefined)
    throw new TokenAdminUsageError('pass --config FILE (or set SECURE_PROXY_CONFIG): the proxy config says where Vault and the token records are');
  const config = await loadAdminConfig(path, process.env);
  const vault = await openAdminVault(config);
  try {
    return await run(config, vault);
  } catch (err) {
    throw asAdminError(err);
  } finally {
    await vault.close();
  }
}

async function sinkFor(out: string | undefined): Promise<TokenSink> {
  return out === undefined ? stdoutSink() : fileSink(out);
}

/** The n8n to push to (null: none), checked for usage before Vault is opened. */
function n8nTargetFor(flags: PushFlags): Promise<N8nTarget | null> {
  return n8nTargetOf(flags, process.env, parseDurationFlag('--n8n-timeout', flags.n8nTimeout), say);
}

/**
 * Where the new token goes. With n8n, the credential is checked first, so a bad key, a wrong
 * credential id or an unreachable n8n stops the command before Vault changes.
 */
async function deliveryFor(out: string | undefined, n8n: N8nTarget | null): Promise<TokenSink | N8nSink> {
  if (n8n === null) return sinkFor(out);
  try {
    await checkCredential(n8n);
  } catch (err) {
    if (err instanceof N8nRefusal) throw new TokenAdminFailure(`${err.message}; nothing was changed: no token was issued and Vault is untouched`);
    throw err;
  }
  return n8nSink(n8n, out === undefined ? null : await fileSink(out));
}

/** The services to grant: those named, plus those a workflow rule narrows (a rule only applies to a granted service). */
function withRuleServices(services: readonly string[], rules: WorkflowRuleChanges): string[] {
  const narrowed = Object.entries(rules)
    .filter(([, ids]) => ids !== null)
    .map(([service]) => service);
  return [...new Set([...services, ...narrowed])];
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
