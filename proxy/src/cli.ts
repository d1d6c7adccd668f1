#!/usr/bin/env node
/**
 * The `secure-proxy` command line. `serve --config FILE` runs the proxy; `serve` without a
 * config starts dev mode; serve is also what runs without a command. `check --config FILE` proves a config against Vault without serving.
 * `migrate scan | rewrite` finds API secrets pasted into n8n workflows and moves them behind the proxy.
 * Exit codes: 0 ok, 1 runtime failure (or a failed check), 2 bad usage or config.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configOption, configPathOf, loadConfigFile } from './config/load';
import { ConfigError } from './config/errors';
import { generateToken, hashToken } from './auth/token-format';
import { runProxy } from './app/run';
import { ListenError } from './listener/server';
import type * as Check from './admin/check';
import { DevModeUnavailableError, startDevMode } from './cli/dev-mode';
import { EXAMPLE_CONFIG } from './cli/example-config';
import { registerTokenLifecycleCommands } from './admin/tokens/cli-commands';
import { TokenAdminUsageError } from './admin/tokens/errors';
import { registerVaultCommands } from './admin/vault-bootstrap/cli-command';
import { BootstrapUsageError } from './admin/vault-bootstrap/options';
import { registerMigrateCommands } from './admin/migrate/cli-commands';
import { MigrateUsageError, UnreadableInputError } from './admin/migrate/errors';

const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command()
    .name('secure-proxy')
    .description('Injects API secrets from HashiCorp Vault into requests from n8n, so workflows never hold them.')
    .version(version)
    .showHelpAfterError()
    .exitOverride();

  program
    .command(DEFAULT_COMMAND)
    .description('Run the proxy (the default command). Without --config (or SECURE_PROXY_CONFIG) it starts dev mode: NOT for production.')
    .option(...configOption('YAML or JSON config file'))
    .option('--dev-port <port>', 'dev mode only: port for the proxy', parsePort, 8080)
    .action(async (options: { config?: string; devPort: number }) => {
      const configPath = configPathOf(options);
      try {
        if (configPath === undefined) await startDevMode(options.devPort);
        else await runProxy(await loadConfigFile(configPath), { configFile: configPath });
      } catch (err) {
        if (!(err instanceof ListenError)) throw err;
        const fix =
          configPath === undefined
            ? 'Pick another port with --dev-port <port>, or --dev-port 0 for a free one.'
            : 'Change listen.port in the config (or set SECURE_PROXY_PORT), or stop what holds the port.';
        throw new Error(`${err.message}. ${fix}`);
      }
    });

  program
    .command('check')
    .description(
      "Check a config against Vault without serving: the login, the KV mount, and every service's secret and the fields its injection needs. " +
        'Exit 0 all good, 1 a Vault or service problem, 2 bad usage or config. Never prints a secret or token.',
    )
    .option(...configOption('YAML or JSON config file'))
    .option('--json', 'print the report as JSON')
    .action(async (options: { config?: string; json?: boolean }) => {
      const configPath = configPathOf(options);
      if (configPath === undefined) {
        throw new UsageError(
          `check needs a config: pass --config FILE or set SECURE_PROXY_CONFIG (dev mode has no config to check; an example to start from: ${EXAMPLE_CONFIG})`,
        );
      }
      const check = checkModule();
      const report = await check.runCheck(await loadConfigFile(configPath), { source: configPath });
      process.stdout.write(options.json === true ? check.formatCheckJson(report) : check.formatCheckText(report));
      process.exitCode = report.ok ? 0 : 1;
    });

  const token = program
    .command('token')
    .description(
      'Proxy tokens: create, rotate, revoke and list token records in Vault (tokenStore), grant and ungrant their services; generate and hash for static config-file clients.',
    );
  registerTokenLifecycleCommands(token);
  token
    .command('generate')
    .description('Print a new proxy token and the config entry holding its hash. The token is shown once.')
    .option('--client <name>', 'client name for the printed config snippet', 'n8n-prod')
    .action((options: { client: string }) => {
      const created = generateToken();
      process.stdout.write(
        [
          `token: ${created.token}`,
          '',
          '# Put this under clients: in the proxy config; store the token in n8n\'s "Secure Proxy API" credential.',
          `${options.client}:`,
          `  tokenHashes: [{ hash: "${created.hash}", id: "${created.id}" }]`,
          '  services: []',
          '',
        ].join('\n'),
      );
    });
  token
    .command('hash')
    .description('Read a token from standard input and print its sha256:<hex> hash for tokenHashes.')
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const value = Buffer.concat(chunks).toString('utf8').trim();
      if (value === '') throw new UsageError('no token on standard input');
      process.stdout.write(`${hashToken(value)}\n`);
    });
  registerVaultCommands(program);
  registerMigrateCommands(program);
  return program;
}

class UsageError extends Error {}

/**
 * The check, loaded when `check` runs. Like the other admin commands' actions it stays out of
 * the serving process: `serve` builds this same program, and every module loaded stays in the
 * heap that each of its full garbage collections marks.
 */
function checkModule(): typeof Check {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when the command runs, see above
  return require('./admin/check') as typeof Check;
}

/** What runs when the first argument is not a command: `secure-proxy` and `secure-proxy --config x` serve. */
const DEFAULT_COMMAND = 'serve';

/**
 * Puts the default command in front when the arguments start with none (nothing, or an
 * option such as --config), so that a mistyped command (`chek`) is not taken as an argument
 * of serve but reported as unknown, with the closest command suggested. The program's own
 * --help and --version stay its own.
 */
export function withDefaultCommand(program: Command, argv: readonly string[]): string[] {
  const [node, script, first, ...rest] = argv;
  const own = first === '-h' || first === '--help' || program.options.some((option) => first === option.short || first === option.long);
  if (first !== undefined && (own || !first.startsWith('-'))) return [...argv];
  return [node, script, DEFAULT_COMMAND, ...(first === undefined ? [] : [first]), ...rest];
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--dev-port must be 0-65535, got "${value}"`);
  return port;
}

async function main(argv: string[]): Promise<void> {
  try {
    const program = buildProgram();
    await program.parseAsync(withDefaultCommand(program, argv));
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      err instanceof TokenAdminUsageError ||
      err instanceof BootstrapUsageError ||
      err instanceof DevModeUnavailableError ||
      err instanceof MigrateUsageError ||
      err instanceof UnreadableInputError
    ) {
      process.stderr.write(`secure-proxy: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`secure-proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

/**
 * After a command failed, the process must end even if something it started still holds the
 * event loop (a socket, a timer): the failure is final and the message is written. The timer
 * is unref'd, so a process that empties its loop sooner exits on its own.
 */
function exitSoonAfterFailure(): void {
  if (process.exitCode !== undefined && process.exitCode !== 0) setTimeout(() => process.exit(), 2_000).unref();
}

if (require.main === module) void main(process.argv).then(exitSoonAfterFailure);
