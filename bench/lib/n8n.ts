/**
 * The n8n target: in a real n8n (the end-to-end tests' harness, test/support/n8n-harness.ts,
 * and the n8n that scripts/install-n8n.sh installs), N8N_ITEMS items go through n8n's HTTP
 * Request node calling the upstream directly with a header credential, and through the Secure
 * Proxy Request node calling the bench's proxy: two workflows (Start → Items → the node),
 * executed alternately PAIRS times each in the same n8n user folder. Each node's own
 * `executionTime` (n8n's wall time for the node, every item included) is compared; n8n's boot
 * and the Items node are in neither.
 *
 * The harness is TypeScript written for jest; it is loaded here through a require hook that
 * transpiles test/support files with the repository's TypeScript (type stripping alone does
 * not handle its parameter properties and extensionless imports).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parse as parseFlatted } from 'flatted';
import { createRequire } from 'node:module';
import { median } from './report.ts';

export const N8N_ITEMS = 1000;
const PAIRS = 3;

const require = createRequire(import.meta.url);

interface NodeRun {
  executionTime?: number;
  executionStatus?: string;
  data?: { main: Array<Array<{ json: Record<string, unknown> }> | null> };
  error?: { message: string };
}

interface N8nInstance {
  installCommunityPackage(tgz: string): Promise<void>;
  importCredentials(credentials: Array<{ id: string; name: string; type: string; data: Record<string, unknown> }>): Promise<void>;
  importWorkflow(workflow: Record<string, unknown>): Promise<string>;
  readonly userFolder: string;
  execute(id: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

interface Harness {
  createN8nInstance(): Promise<N8nInstance>;
  packPackage(): Promise<string>;
}

/** test/support/n8n/session.ts: n8n's process groups are listed in a session folder, so a runner that stops early can end them. */
interface Session {
  SESSION_ENV: string;
  killListedGroups(session: string): void;
}

type Loader = (module: { _compile(code: string, filename: string): void }, filename: string) => void;

function loadHarness(): Harness {
  const ts = require('typescript') as typeof import('typescript');
  const extensions = (require('node:module') as { _extensions: Record<string, Loader> })._extensions;
  const previous = extensions['.ts'];
  extensions['.ts'] = (module, filename) => {
    if (!filename.includes('/test/support/')) {
      if (previous === undefined) throw new Error(`bench: no loader for ${filename}`);
      previous(module, filename);
      return;
    }
    const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    module._compile(outputText, filename);
  };
  return require('../../test/support/n8n-harness') as Harness;
}

/**
 * Runs `body` with a session folder that lists every n8n process group the harness starts:
 * however the runner ends (its hard time limit exits the process), those groups are killed.
 */
async function inSession<T>(body: () => Promise<T>): Promise<T> {
  const session = require('../../test/support/n8n/session') as Session;
  const dir = mkdtempSync(join(tmpdir(), 'secure-proxy-bench-n8n-session-'));
  const previous = process.env[session.SESSION_ENV];
  process.env[session.SESSION_ENV] = dir;
  const onExit = (): void => session.killListedGroups(dir);
  process.on('exit', onExit);
  try {
    return await body();
  } finally {
    process.off('exit', onExit);
    session.killListedGroups(dir);
    if (previous === undefined) delete process.env[session.SESSION_ENV];
    else process.env[session.SESSION_ENV] = previous;
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface N8nInputs {
  proxyUrl: string;
  proxyToken: string;
  /** Base URL of the upstream; the workflow calls `<upstream>/base/hello` directly and `api` `/hello` through the proxy. */
  upstreamUrl: string;
  upstreamAuthorization: string;
}

export interface N8nResult {
  /** Median over the pairs of proxy node time / direct node time. */
  ratio: number;
  /** Medians over the pairs, in seconds, for ITEMS items. */
  proxySeconds: number;
  directSeconds: number;
  pairs: Array<{ directMs: number; proxyMs: number }>;
}

const PROXY_CREDENTIAL = { id: 'benchProxyCred01', name: 'Secure Proxy (bench)' };
const HEADER_CREDENTIAL = { id: 'benchHeaderCred1', name: 'API key header (bench)' };

type Variant = 'Direct' | 'Proxy';

/** Start → Items → the node under test: n8n's HTTP Request node calling the upstream, or the Secure Proxy Request node. */
function workflow(inputs: N8nInputs, variant: Variant): Record<string, unknown> {
  const measured =
    variant === 'Direct'
      ? {
          type: 'n8n-nodes-base.httpRequest',
          typeVersion: 4.2,
          parameters: { url: `${inputs.upstreamUrl}/base/hello`, authentication: 'genericCredentialType', genericAuthType: 'httpHeaderAuth', options: {} },
          credentials: { httpHeaderAuth: HEADER_CREDENTIAL },
        }
      : {
          type: 'n8n-nodes-secure-proxy.secureProxyRequest',
          typeVersion: 1,
          parameters: { service: 'api', method: 'GET', path: '/hello' },
          credentials: { secureProxyApi: PROXY_CREDENTIAL },
        };
  const nodes: Array<Record<string, unknown>> = [
    { id: 'start', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
    {
      id: 'items',
      name: 'Items',
      type: 'n8n-nodes-base.code',
      typeVersion: 2,
      position: [200, 0],
      parameters: { jsCode: `return Array.from({ length: ${N8N_ITEMS} }, (_, i) => ({ json: { i } }));` },
    },
    { id: 'measured', name: variant, position: [400, 0], ...measured },
  ];
  return {
    name: `bench: ${N8N_ITEMS} items, ${variant === 'Direct' ? 'HTTP Request node' : 'Secure Proxy Request node'}`,
    nodes,
    connections: { Start: { main: [[{ node: 'Items', type: 'main', index: 0 }]] }, Items: { main: [[{ node: variant, type: 'main', index: 0 }]] } },
    settings: {},
    active: false,
  };
}

/** Node time in ms, after checking the node answered every item with the upstream's body. */
function nodeMs(runData: Record<string, NodeRun[]>, name: string): number {
  const run = runData[name]?.[0];
  if (run === undefined) throw new Error(`n8n: node '${name}' did not run`);
  if (run.error !== undefined) throw new Error(`n8n: node '${name}' failed: ${run.error.message}`);
  const items = run.data?.main[0] ?? [];
  const wrong = items.filter((item) => item.json.hello !== 'world').length;
  if (items.length !== N8N_ITEMS || wrong > 0) throw new Error(`n8n: node '${name}' gave ${items.length} items, ${wrong} without the expected body`);
  if (typeof run.executionTime !== 'number') throw new Error(`n8n: node '${name}' has no executionTime`);
  return run.executionTime;
}

/**
 * One execution (`n8n execute`, which boots n8n for it): the measured node's time, read from
 * the execution n8n saved in its database. Not from what `execute --rawOutput` prints: output
 * of a thousand items or more sometimes came out cut short when n8n exits.
 */
async function executeAndTime(n8n: N8nInstance, id: string, variant: Variant, after: number): Promise<{ ms: number; executionId: number }> {
  const result = await n8n.execute(id);
  const saved = savedExecution(n8n.userFolder, id);
  if (result.code !== 0 || saved === undefined || saved.id <= after || saved.status !== 'success') {
    const file = join(mkdtempSync(join(tmpdir(), 'secure-proxy-bench-n8n-')), 'execute-output.txt');
    writeFileSync(file, `${result.stdout}\n---- stderr ----\n${result.stderr}`);
    throw new Error(`n8n execute (${variant}): code ${result.code}, saved execution ${saved?.id ?? 'none'} ${saved?.status ?? ''}; its output is in ${file}`);
  }
  // Every item is checked: a failed or wrong item fails the bench.
  return { ms: nodeMs(saved.runData, variant), executionId: saved.id };
}

/** The workflow's latest execution in n8n's SQLite database (execution data is stored in `flatted` form). */
function savedExecution(userFolder: string, workflowId: string): { id: number; status: string; runData: Record<string, NodeRun[]> } | undefined {
  const db = new DatabaseSync(join(userFolder, '.n8n', 'database.sqlite'), { readOnly: true });
  try {
    const row = db
      .prepare(
        'SELECT e.id AS id, e.status AS status, d.data AS data FROM execution_entity e JOIN execution_data d ON d.executionId = e.id WHERE e.workflowId = ? ORDER BY e.id DESC LIMIT 1',
      )
      .get(workflowId) as { id: number; status: string; data: string } | undefined;
    if (row === undefined) return undefined;
    const data = parseFlatted(row.data) as { resultData: { runData: Record<string, NodeRun[]> } };
    return { id: row.id, status: row.status, runData: data.resultData.runData };
  } finally {
    db.close();
  }
}

/** Boots a throwaway n8n, runs each workflow PAIRS times, alternating, and closes n8n. Throws on any failed item. */
export async function runN8nWorkflow(inputs: N8nInputs): Promise<N8nResult> {
  const harness = loadHarness();
  return inSession(() => measureNodes(harness, inputs));
}

async function measureNodes(harness: Harness, inputs: N8nInputs): Promise<N8nResult> {
  const n8n = await harness.createN8nInstance();
  try {
    await n8n.installCommunityPackage(await harness.packPackage());
    await n8n.importCredentials([
      { ...PROXY_CREDENTIAL, type: 'secureProxyApi', data: { url: inputs.proxyUrl, token: inputs.proxyToken } },
      { ...HEADER_CREDENTIAL, type: 'httpHeaderAuth', data: { name: 'Authorization', value: inputs.upstreamAuthorization } },
    ]);
    const ids = { Direct: await n8n.importWorkflow(workflow(inputs, 'Direct')), Proxy: await n8n.importWorkflow(workflow(inputs, 'Proxy')) };
    const pairs: Array<{ directMs: number; proxyMs: number }> = [];
    let lastExecution = 0;
    for (let pair = 0; pair < PAIRS; pair++) {
      // Alternating, and each pair in the other order: neither node always runs on a warmer machine.
      const order: Variant[] = pair % 2 === 0 ? ['Direct', 'Proxy'] : ['Proxy', 'Direct'];
      const ms: Record<Variant, number> = { Direct: 0, Proxy: 0 };
      for (const variant of order) {
        const timed = await executeAndTime(n8n, ids[variant], variant, lastExecution);
        ms[variant] = timed.ms;
        lastExecution = timed.executionId;
      }
      pairs.push({ directMs: ms.Direct, proxyMs: ms.Proxy });
    }
    return {
      ratio: median(pairs.map((p) => p.proxyMs / p.directMs)),
      proxySeconds: median(pairs.map((p) => p.proxyMs)) / 1000,
      directSeconds: median(pairs.map((p) => p.directMs)) / 1000,
      pairs,
    };
  } finally {
    await n8n.close();
  }
}
