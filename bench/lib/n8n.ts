/**
 * The n8n target: one workflow in a real n8n (the end-to-end tests' harness, test/support/
 * n8n-harness.ts, and the n8n that scripts/install-n8n.sh installs) pushes ITEMS items through
 * n8n's HTTP Request node calling the upstream directly with a header credential, and through
 * the Secure Proxy Request node calling the bench's proxy, alternating PAIRS times in one
 * chain (Start → Items → Direct 1 → Proxy 1 → Direct 2 → …), so both nodes see the same
 * process, the same warm-up and the same machine. Each node's own `executionTime` (n8n's
 * wall time for the node, every item included) is compared; n8n's boot is in neither.
 *
 * The harness is TypeScript written for jest; it is loaded here through a require hook that
 * transpiles test/support files with the repository's TypeScript (type stripping alone does
 * not handle its parameter properties and extensionless imports).
 */
import { readFileSync } from 'node:fs';
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
  execute(id: string): Promise<{ code: number | null; stdout: string; stderr: string; run?: { status: string }; runData?: Record<string, NodeRun[]> }>;
  close(): Promise<void>;
}

interface Harness {
  createN8nInstance(): Promise<N8nInstance>;
  packPackage(): Promise<string>;
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

function workflow(inputs: N8nInputs): Record<string, unknown> {
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
  ];
  for (let pair = 1; pair <= PAIRS; pair++) {
    nodes.push({
      id: `direct-${pair}`,
      name: `Direct ${pair}`,
      type: 'n8n-nodes-base.httpRequest',
      typeVersion: 4.2,
      position: [200 + pair * 400, 0],
      parameters: { url: `${inputs.upstreamUrl}/base/hello`, authentication: 'genericCredentialType', genericAuthType: 'httpHeaderAuth', options: {} },
      credentials: { httpHeaderAuth: HEADER_CREDENTIAL },
    });
    nodes.push({
      id: `proxy-${pair}`,
      name: `Proxy ${pair}`,
      type: 'n8n-nodes-secure-proxy.secureProxyRequest',
      typeVersion: 1,
      position: [400 + pair * 400, 0],
      parameters: { service: 'api', method: 'GET', path: '/hello' },
      credentials: { secureProxyApi: PROXY_CREDENTIAL },
    });
  }
  const connections: Record<string, unknown> = {};
  for (let i = 0; i + 1 < nodes.length; i++) connections[nodes[i].name as string] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
  return { name: 'bench: 1,000 items direct and through the proxy', nodes, connections, settings: {}, active: false };
}

/** Node time in ms, after checking the node answered every item with the upstream's body. */
function nodeMs(runData: Record<string, NodeRun[]> | undefined, name: string): number {
  const run = runData?.[name]?.[0];
  if (run === undefined) throw new Error(`n8n: node '${name}' did not run`);
  if (run.error !== undefined) throw new Error(`n8n: node '${name}' failed: ${run.error.message}`);
  const items = run.data?.main[0] ?? [];
  const wrong = items.filter((item) => item.json.hello !== 'world').length;
  if (items.length !== N8N_ITEMS || wrong > 0) throw new Error(`n8n: node '${name}' gave ${items.length} items, ${wrong} without the expected body`);
  if (typeof run.executionTime !== 'number') throw new Error(`n8n: node '${name}' has no executionTime`);
  return run.executionTime;
}

/** Boots a throwaway n8n, runs the workflow once, and closes n8n. Throws on any failed item. */
export async function runN8nWorkflow(inputs: N8nInputs): Promise<N8nResult> {
  const harness = loadHarness();
  const n8n = await harness.createN8nInstance();
  try {
    await n8n.installCommunityPackage(await harness.packPackage());
    await n8n.importCredentials([
      { ...PROXY_CREDENTIAL, type: 'secureProxyApi', data: { url: inputs.proxyUrl, token: inputs.proxyToken } },
      { ...HEADER_CREDENTIAL, type: 'httpHeaderAuth', data: { name: 'Authorization', value: inputs.upstreamAuthorization } },
    ]);
    const result = await n8n.execute(await n8n.importWorkflow(workflow(inputs)));
    if (result.code !== 0 || result.run?.status !== 'success') {
      throw new Error(`n8n execute: code ${result.code}, status ${result.run?.status}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    }
    const pairs = Array.from({ length: PAIRS }, (_, i) => ({
      directMs: nodeMs(result.runData, `Direct ${i + 1}`),
      proxyMs: nodeMs(result.runData, `Proxy ${i + 1}`),
    }));
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
