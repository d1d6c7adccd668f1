/**
 * A real n8n 2.x for end-to-end tests: a throwaway user folder with its own SQLite database and
 * encryption key, headless CLI commands (import, execute, export), the HTTP server on loopback,
 * and community packages installed under `.n8n/nodes` the way n8n's Community Nodes UI does.
 *
 *   const n8n = await createN8nInstance();
 *   await n8n.installCommunityPackage(await packPackage());
 *   await n8n.importCredentials([...]);
 *   const result = await n8n.execute(await n8n.importWorkflow(workflow));
 *   await n8n.close();
 *
 * n8n comes from `$N8N_BIN` or scripts/install-n8n.sh (see ./n8n/locate.ts). Each CLI command
 * boots n8n (5–10 s); `start()` takes 10–30 s. Nothing listens beyond 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { parseExecutionOutput, type ExecutionOutput, type NodeRun } from './n8n/execution';
import { n8nEnvironment } from './n8n/environment';
import { locateN8n, nodeForN8n } from './n8n/locate';
import { DEFAULT_API_KEY_SCOPES, createApiKey, makeOwner, ownerEnv, type Owner } from './n8n/owner';
import { npmEnv } from './n8n/pack';
import { freePort, killGroup, runCommand, sleep, startDaemon, type CommandResult, type Daemon } from './n8n/processes';
import { tempRoot } from './n8n/session';

export { packDirectory, packPackage } from './n8n/pack';
export { outputItems, parseExecutionOutput, type ExecutionOutput, type NodeRun } from './n8n/execution';
export { DEFAULT_API_KEY_SCOPES } from './n8n/owner';
export type { CommandResult } from './n8n/processes';

export interface N8nInstanceOptions {
  /** Extra environment for every n8n process (e.g. NODE_EXTRA_CA_CERTS, or N8N_* overrides). */
  env?: Record<string, string>;
  /** Time limit for each CLI command; default 120 s. */
  commandTimeoutMs?: number;
}

export interface ExecuteResult extends CommandResult {
  /** The execution n8n printed (`--rawOutput`; on failure n8n logs it at level info). */
  run?: ExecutionOutput;
  /** `run.data.resultData.runData`: the runs of each node, by node name. */
  runData?: Record<string, NodeRun[]>;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** A credential as `n8n import:credentials` takes it; `data` is plain and encrypted on import. */
export interface CredentialImport {
  id: string;
  name: string;
  type: string;
  data: Record<string, unknown>;
}

/** Creates the temp user folder and picks the ports; nothing runs until a method is called. */
export async function createN8nInstance(options: N8nInstanceOptions = {}): Promise<N8nInstance> {
  const n8n = locateN8n();
  const root = await mkdtemp(join(tempRoot(), 'n8n-'));
  return new N8nInstance(root, n8n.script, makeOwner(n8n.nodeModules), await freePort(), options);
}

export class N8nInstance {
  /** N8N_USER_FOLDER; n8n keeps its state in `.n8n` below it. */
  readonly userFolder: string;
  readonly baseUrl: string;
  private readonly files: string;
  private readonly groups = new Set<number>();
  private readonly encryptionKey = randomBytes(24).toString('hex');
  private daemon: Daemon | undefined;
  private lastDaemon: Daemon | undefined;
  private fileCounter = 0;

  constructor(
    private readonly root: string,
    private readonly n8nScript: string,
    private readonly owner: Owner,
    readonly port: number,
    private readonly options: N8nInstanceOptions,
  ) {
    this.userFolder = join(root, 'user');
    this.files = join(root, 'files');
    mkdirSync(this.userFolder);
    mkdirSync(this.files);
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  /** Runs `n8n <args>` to completion. */
  async cli(args: string[]): Promise<CommandResult> {
    return runCommand(nodeForN8n(), [this.n8nScript, ...args], {
      cwd: this.root,
      env: await this.env(),
      timeoutMs: this.options.commandTimeoutMs,
      groups: this.groups,
    });
  }

  /**
   * Installs a packed community package into `<user folder>/.n8n/nodes` with
   * `npm install --legacy-peer-deps <tgz>`, next to the package.json n8n writes there. n8n loads
   * packages when a process starts, so install before `start()` (or `stop()` first).
   */
  async installCommunityPackage(tgzPath: string): Promise<void> {
    if (this.daemon?.running()) throw new Error('installCommunityPackage: stop() the server first; n8n loads packages at start');
    const nodesDir = join(this.userFolder, '.n8n', 'nodes');
    mkdirSync(nodesDir, { recursive: true });
    const packageJson = join(nodesDir, 'package.json');
    if (!existsSync(packageJson)) {
      writeFileSync(packageJson, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
    }
    const result = await runCommand('npm', ['install', '--legacy-peer-deps', '--no-audit', '--no-fund', '--no-package-lock', tgzPath], {
      cwd: nodesDir,
      env: npmEnv(),
      groups: this.groups,
    });
    if (result.code !== 0) throw new Error(`npm install ${tgzPath} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  }

  /** `n8n import:credentials`: upserts by id. */
  async importCredentials(credentials: CredentialImport[]): Promise<void> {
    await this.checked(['import:credentials', `--input=${this.writeFile('credentials', credentials)}`]);
  }

  /** `n8n import:workflow`; gives the workflow an id when it has none and returns the id. */
  async importWorkflow(workflow: Record<string, unknown>): Promise<string> {
    const id = typeof workflow.id === 'string' ? workflow.id : randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16);
    await this.checked(['import:workflow', `--input=${this.writeFile('workflow', [{ ...workflow, id }])}`]);
    return id;
  }

  /** `n8n execute --id=<id> --rawOutput`: exit code 0 on success, 1 when the workflow failed. */
  async execute(workflowId: string): Promise<ExecuteResult> {
    let result = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput']);
    let run = parseExecutionOutput(result.stdout);
    if (result.signal !== null && run === undefined) {
      // n8n died of a signal before it printed any run (seen once on a loaded machine: exit by
      // signal with no output). That is n8n's process, not the run under test: run it once more,
      // and say so. A second death fails the test with the signal and n8n's output.
      console.warn(`n8n execute --id=${workflowId} died of ${result.signal} before printing a run; running it once more`);
      result = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput']);
      run = parseExecutionOutput(result.stdout);
      if (result.signal !== null && run === undefined) {
        throw new Error(`n8n execute --id=${workflowId} died of ${result.signal} twice before printing a run\nstderr:\n${result.stderr.slice(-4000)}`);
      }
    }
    if (diedOfSegfault(result) && run !== undefined && run.finished) {
      // n8n 2.41.1 on Node 24 can segfault in an isolated-vm thread while exiting, after it printed
      // a finished run (see ./n8n/environment.ts). The run is what the test is about: judge it
      // by its own result, and say so, instead of failing on n8n's teardown.
      console.warn(`n8n execute --id=${workflowId} crashed on exit after a finished run; judging the run itself`);
      return { ...result, code: run.data.resultData.error === undefined ? 0 : 1, run, runData: run.data.resultData.runData };
    }
    return { ...result, run, runData: run?.data.resultData.runData };
  }

  /** `n8n export:workflow --id=<id>`: the JSON text an admin would commit (an array of one workflow). */
  async exportWorkflow(workflowId: string): Promise<string> {
    const output = join(this.files, `export-${++this.fileCounter}.json`);
    await this.checked(['export:workflow', `--id=${workflowId}`, '--pretty', `--output=${output}`]);
    return readFileSync(output, 'utf8');
  }

  /** The SQLite database file. n8n runs it in WAL mode: recent writes sit in `<file>-wal`. */
  databaseFile(): string {
    return join(this.userFolder, '.n8n', 'database.sqlite');
  }

  /** The database file and its write-ahead log, for tests that search the stored bytes. */
  databaseBytes(): Buffer {
    const file = this.databaseFile();
    return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
  }

  /** Starts `n8n start` and resolves once /healthz and /healthz/readiness answer 200. */
  async start(timeoutMs = 120_000): Promise<void> {
    if (this.daemon?.running()) return;
    const daemon = startDaemon(nodeForN8n(), [this.n8nScript, 'start'], { cwd: this.root, env: await this.env(), groups: this.groups });
    this.daemon = daemon;
    this.lastDaemon = daemon;
    const deadline = Date.now() + timeoutMs;
    for (const path of ['/healthz', '/healthz/readiness']) {
      while ((await this.status(path)) !== 200) {
        if (!daemon.running()) throw new Error(`n8n start exited before it was ready:\n${daemon.output()}`);
        if (Date.now() > deadline) throw new Error(`n8n start was not ready in ${timeoutMs} ms:\n${daemon.output()}`);
        await sleep(250);
      }
    }
  }

  /** Stops the HTTP server (SIGTERM, then SIGKILL after 15 s) with everything it started. */
  async stop(): Promise<void> {
    if (!this.daemon) return;
    await killGroup(this.daemon.pid, 15_000);
    this.groups.delete(this.daemon.pid);
    this.daemon = undefined;
  }

  /** Output of the running (or last) `n8n start`. */
  serverOutput(): string {
    return this.lastDaemon?.output() ?? '';
  }

  /**
   * Logs in as the env-managed owner and creates a public-API key (see ./n8n/owner.ts for the
   * recipe). Starts the server when it is not running.
   */
  async createOwnerAndApiKey(scopes: string[] = DEFAULT_API_KEY_SCOPES): Promise<string> {
    await this.start();
    return createApiKey(this.baseUrl, this.owner, scopes);
  }

  /** The env-managed owner's email and password, for logging into the editor (a browser test). */
  ownerLogin(): { email: string; password: string } {
    return { email: this.owner.email, password: this.owner.password };
  }

  /** Calls the public REST API (`/api/v1/...`) with an API key; JSON in, JSON (or text) out. */
  async api(apiKey: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const response = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: { 'x-n8n-api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const isJson = response.headers.get('content-type')?.includes('json');
    return { status: response.status, body: isJson && text ? JSON.parse(text) : text };
  }

  /** Kills every process this instance started and deletes its temp folder. */
  async close(): Promise<void> {
    this.daemon = undefined;
    await Promise.all([...this.groups].map((pid) => killGroup(pid, 15_000)));
    this.groups.clear();
    rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }

  private async checked(args: string[]): Promise<CommandResult> {
    const result = await this.cli(args);
    if (result.code !== 0) throw new Error(`n8n ${args.join(' ')} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  private writeFile(kind: string, content: unknown): string {
    const file = join(this.files, `${kind}-${++this.fileCounter}.json`);
    writeFileSync(file, JSON.stringify(content));
    return file;
  }

  private async status(path: string): Promise<number> {
    try {
      return (await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(2_000) })).status;
    } catch (error) {
      // Not listening yet (fetch's TypeError, ECONNREFUSED) or too slow to answer: keep polling.
      // By name: under jest, fetch's errors come from another realm, so instanceof fails.
      const name = (error as { name?: unknown }).name;
      if (name === 'TypeError' || name === 'TimeoutError') return 0;
      throw error;
    }
  }

  /** A fresh task broker port per process, so that a CLI command can run beside `n8n start`. */
  private async env(): Promise<NodeJS.ProcessEnv> {
    return n8nEnvironment({
      userFolder: this.userFolder,
      encryptionKey: this.encryptionKey,
      port: this.port,
      brokerPort: await freePort(),
      extra: { ...ownerEnv(this.owner), ...this.options.env },
    });
  }
}

/** A process killed by SIGSEGV: a signal for a direct child, exit code 139 through a shell. */
function diedOfSegfault(result: CommandResult): boolean {
  return result.signal === 'SIGSEGV' || result.code === 139;
}
