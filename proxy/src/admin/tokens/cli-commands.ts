/**
 * Command-line wiring of the Vault-backed token lifecycle: `token create | rotate | revoke |
 * list` under the `token` command. Parses flags, loads the config, opens Vault, runs the
 * operation from commands.ts and prints. New tokens go to stdout alone (or `--out FILE`);
 * everything meant for people goes to stderr, so `TOKEN=$(secure-proxy token rotate ...)` works.
 * With `--n8n-url`, create and rotate also put the token into n8n's credential (n8n-sink.ts).
 */
import type { Command } from 'commander';
import { configOption, configPathOf } from '../../config/load';
import type { ProxyConfig } from '../../config/schema';
import { createToken, listTokens, revokeAllTokens, revokeTokenById, rotateToken, type IssuedReport, type RevokedReport } from './commands';
import { asAdminError, TokenAdminFailure, TokenAdminUsageError } from './errors';
import { parseDurationFlag, parseTtlFlag } from './durations';
import { formatListJson, formatListText } from './list-format';
import { checkCredential, N8nRefusal, type N8nTarget } from '../n8n/push';
import { n8nSink, type N8nSink } from '../n8n/sink';
import { n8nTargetOf, type N8nFlags } from '../n8n/target';
import { fileSink, stdoutSink, type TokenSink } from './token-output';
import { loadAdminConfig, openAdminVault, type AdminVault } from './vault-access';

const DEFAULT_TTL = '90d';
const DEFAULT_GRACE = '15m';
const DEFAULT_N8N_TIMEOUT = '10s';
const CONFIG_FLAG = configOption('proxy config file: Vault address, kvMount, tokenStore.path, services');

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

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

function reportIssued(report: IssuedReport, sink: TokenSink | N8nSink): void {
  const expiry = report.expiresAt === null ? 'never expires' : `expires ${report.expiresAt}`;
  say(`created token ${report.id} for client "${report.client}" (${expiry}; services: ${report.services.join(', ') || 'none'})`);
  for (const older of report.shortened) say(`token ${older.id} now expires ${older.expiresAt ?? 'never'}`);
  const failure = 'pushFailure' in sink ? sink.pushFailure : null;
  if (!report.checkedAndSet)
    say('warning: the KV mount is version 1, which has no check-and-set; concurrent changes to this client could overwrite each other');
  if (failure !== null) {
    // Vault accepts the token already: say so, and where it is, so the admin can finish by hand.
    const deadline = report.shortened.map((t) => t.expiresAt).find((at) => at !== null);
    throw new TokenAdminFailure(
      `${failure.message}. The new token ${report.id} is valid (${expiry}) and was written to ${sink.description}; ` +
        `put it into n8n's "Secure Proxy API" credential by hand${deadline === undefined ? '' : ` before the older tokens stop working at ${deadline}`}`,
    );
  }
  const pushed = 'pushed' in sink && sink.pushed;
  say(
    pushed
      ? `the token was written to ${sink.description} and is not shown again; n8n uses it from its next execution`
      : `the token was written to ${sink.description} and is not shown again; store it in n8n's "Secure Proxy API" credential`,
  );
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

function reportRevoked(report: RevokedReport): void {
  if (report.revoked.length === 0) {
    process.stdout.write(`client "${report.client}" had no tokens; nothing revoked\n`);
    return;
  }
  for (const token of report.revoked) process.stdout.write(`revoked token ${token.id} of client "${report.client}" (created ${token.createdAt})\n`);
  say('every proxy replica refuses the revoked tokens within tokenStore.refreshSeconds');
}

/** Adds create, rotate, revoke and list to the `token` command. */
export function registerTokenLifecycleCommands(token: Command): void {
  const create = token
    .command('create')
    .description(
      'Create a client record in Vault with a new token (or add a token with --add). Prints only the token on stdout, ' +
        'unless --out or --n8n-url takes it (then stdout stays empty; a refused n8n push prints it when there is no --out).',
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name, e.g. n8n-prod')
    .option('--services <list>', 'comma-separated services the client may use (required for a new client)')
    .option('--ttl <duration>', 'lifetime of the new token, e.g. 90d, 12h, or "never"', DEFAULT_TTL)
    .option('--add', 'add a token to an existing client instead of failing')
    .option('--out <file>', 'write the token to this file (mode 0600) instead of stdout');
  withN8nFlags(create).action(async (flags: CommonFlags & PushFlags & { client: string; services?: string; ttl: string; add?: boolean }) => {
    const ttlMs = parseTtlFlag(flags.ttl);
    const services = flags.services === undefined ? undefined : splitList(flags.services);
    const n8n = await n8nTargetFor(flags);
    await withVault(flags, async (config, vault) => {
      const sink = await deliveryFor(flags.out, n8n);
      reportIssued(await createToken(config, vault.store, sink, { client: flags.client, services, ttlMs, add: flags.add === true }), sink);
    });
  });

  const rotate = token
    .command('rotate')
    .description(
      'Issue a new token for a client; its older tokens stay valid for the grace period, then expire. Prints only the token on stdout, ' +
        'unless --out or --n8n-url takes it. With --n8n-url the new token is valid in Vault before n8n gets it, so running workflows never fail.',
    )
    .option(...CONFIG_FLAG)
    .requiredOption('--client <name>', 'client name')
    .option('--grace <duration>', 'how long older tokens keep working, e.g. 15m, 1h; 0 ends them now', DEFAULT_GRACE)
    .option('--ttl <duration>', 'lifetime of the new token, e.g. 90d, or "never"', DEFAULT_TTL)
    .option('--out <file>', 'write the token to this file (mode 0600) instead of stdout');
  withN8nFlags(rotate).action(async (flags: CommonFlags & PushFlags & { client: string; grace: string; ttl: string }) => {
    const graceMs = parseDurationFlag('--grace', flags.grace);
    const ttlMs = parseTtlFlag(flags.ttl);
    const n8n = await n8nTargetFor(flags);
    await withVault(flags, async (config, vault) => {
      const sink = await deliveryFor(flags.out, n8n);
      reportIssued(await rotateToken(config, vault.store, sink, { client: flags.client, graceMs, ttlMs }), sink);
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

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
