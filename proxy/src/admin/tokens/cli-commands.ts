/**
 * Command-line wiring of the Vault-backed token lifecycle: `token create | rotate | revoke |
 * list | grant | ungrant` under the `token` command. Parses flags, loads the config, opens Vault, runs the
 * operation from commands.ts and prints. New tokens go to stdout alone (or `--out FILE`);
 * everything meant for people goes to stderr, so `TOKEN=$(secure-proxy token rotate ...)` works.
 * With `--n8n-url`, create and rotate also put the token into n8n's credential (n8n-sink.ts).
 */
import type { Command } from 'commander';
import { configOption, configPathOf } from '../../config/load';
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

interface CommonFlags {
  config?: string;
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

interface PushFlags extends N8nFlags {
  n8nTimeout: string;
  out?: string;
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
  withN8nFlags(create).action(
    async (flags: CommonFlags & PushFlags & { client: string; services?: string; ttl: string; add?: boolean; workflows: string[] }) => {
      const ttlMs = parseTtlFlag(flags.ttl);
      const workflows = parseWorkflowsFlags(flags.workflows);
      const narrowed = withRuleServices([], workflows);
      const services = flags.services === undefined && narrowed.length === 0 ? undefined : withRuleServices(splitList(flags.services ?? ''), workflows);
      const n8n = await n8nTargetFor(flags);
      await withVault(flags, async (config, vault) => {
        const sink = await deliveryFor(flags.out, n8n);
        reportIssued(await createToken(config, vault.store, sink, { client: flags.client, services, ttlMs, add: flags.add === true, workflows }), sink);
      });
    },
  );

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
  withN8nFlags(rotate).action(async (flags: CommonFlags & PushFlags & { client: string; grace: string; ttl?: string }) => {
    const graceMs = parseDurationFlag('--grace', flags.grace);
    const ttlMs = flags.ttl === undefined ? undefined : parseTtlFlag(flags.ttl);
    const n8n = await n8nTargetFor(flags);
    await withVault(flags, async (config, vault) => {
      const sink = await deliveryFor(flags.out, n8n);
      const options = { client: flags.client, graceMs, ttlMs, defaultTtlMs: parseTtlFlag(DEFAULT_TTL) };
      reportIssued(await rotateToken(config, vault.store, sink, options), sink);
    });
  });

  token
    .command('revoke')
    .description('Remove a token (--id) or every token of a client (--client C --all) from Vault; prints what was revoked.')
    .option(...CONFIG_FLAG)
    .option('--id <id>', 'the token id (the part after spt_, as "token list" shows it)')
    .option('--client <name>', 'with --all: the client whose tokens to revoke')
    .option('--all', 'revoke every token of --client')
    .action(async (flags: CommonFlags & { id?: string; client?: string; all?: boolean }) => {
      const byId = flags.id !== undefined;
      const all = flags.client !== undefined && flags.all === true;
      if (byId === all) throw new TokenAdminUsageError('pass either --id ID, or --client NAME --all');
      await withVault(flags, async (config, vault) => {
        reportRevoked(byId ? await revokeTokenById(vault.store, flags.id as string) : await revokeAllTokens(config, vault.store, flags.client as string));
      });
    });

  token
    .command('grant')
    .description(
      "Let a client in Vault also use these services (defined in the proxy config), or narrow services to listed workflows (--workflows). Its tokens stay as they are; prints the client's record before → after.",
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name')
    .option('--services <list>', 'comma-separated services to grant (required unless --workflows names them)')
    .option(...WORKFLOWS_FLAG)
    .action(async (flags: CommonFlags & { client: string; services?: string; workflows: string[] }) => {
      const workflows = parseWorkflowsFlags(flags.workflows);
      if (flags.services === undefined && Object.keys(workflows).length === 0) {
        throw new TokenAdminUsageError('pass --services LIST, --workflows SERVICE=IDS, or both');
      }
      const services = withRuleServices(splitList(flags.services ?? ''), workflows);
      await withVault(flags, async (config, vault) => {
        reportGrant(await grantServices(config, vault.store, flags.client, services, workflows), 'grant');
      });
    });

  token
    .command('ungrant')
    .description(
      "Stop a client in Vault from using these services (and drop their workflow rules). Its tokens stay as they are; prints the client's record before → after.",
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name')
    .requiredOption('--services <list>', 'comma-separated services to take away')
    .action(async (flags: CommonFlags & { client: string; services: string }) => {
      const services = splitList(flags.services);
      await withVault(flags, async (config, vault) => {
        reportGrant(await ungrantServices(config, vault.store, flags.client, services), 'ungrant');
      });
    });

  token
    .command('list')
    .description("List the tokens in Vault: client, id, created, expires, state. Never a token or hash. Last use is in the proxy's audit log and metrics.")
    .option(...CONFIG_FLAG)
    .option('--client <name>', 'only this client')
    .option('--json', 'print JSON')
    .action(async (flags: CommonFlags & { client?: string; json?: boolean }) => {
      await withVault(flags, async (_config, vault) => {
        const listed = await listTokens(vault.store, flags.client);
        process.stdout.write(flags.json === true ? formatListJson(listed) : formatListText(listed));
        const problems = listed.filter((entry) => entry.problem !== null);
        for (const entry of problems) say(`client "${entry.client}": ${entry.problem}`);
        if (problems.length > 0) process.exitCode = 1;
      });
    });
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
