/**
 * Smoke test of the n8n harness against a real n8n 2.41: built-in nodes only, the public API with
 * a headlessly created key, and a community package loaded from `<user folder>/.n8n/nodes`.
 * The community package here is a throwaway generated below, not our product; the e2e suites
 * for n8n-nodes-secure-proxy install the real one with packPackage().
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createN8nInstance, outputItems, packDirectory, packPackage, type ExecuteResult, type N8nInstance } from '../support/n8n-harness';

const manualTrigger = { id: 'n-trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };

function chain(name: string, nodes: Array<Record<string, unknown>>): Record<string, unknown> {
  const connections: Record<string, unknown> = {};
  for (let i = 0; i + 1 < nodes.length; i++) {
    connections[nodes[i].name as string] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
  }
  return { name, nodes, connections, settings: {}, active: false };
}

const builtInWorkflow = chain('harness smoke', [
  manualTrigger,
  {
    id: 'n-set',
    name: 'Set',
    type: 'n8n-nodes-base.set',
    typeVersion: 3.4,
    position: [200, 0],
    parameters: {
      assignments: {
        assignments: [
          { id: 'a1', name: 'greeting', value: 'hello', type: 'string' },
          { id: 'a2', name: 'count', value: 3, type: 'number' },
        ],
      },
      options: {},
    },
  },
  {
    id: 'n-code',
    name: 'Code',
    type: 'n8n-nodes-base.code',
    typeVersion: 2,
    position: [400, 0],
    parameters: { jsCode: 'return $input.all().map((item) => ({ json: { ...item.json, doubled: item.json.count * 2 } }));' },
  },
]);

const failingWorkflow = chain('harness failure', [
  manualTrigger,
  { id: 'n-boom', name: 'Boom', type: 'n8n-nodes-base.code', typeVersion: 2, position: [200, 0], parameters: { jsCode: "throw new Error('harness-boom');" } },
]);

/** Fails with n8n's output when the execution did not succeed. */
function expectSuccess(result: ExecuteResult): void {
  if (result.code !== 0 || result.run?.status !== 'success') {
    throw new Error(
      `n8n execute: code ${result.code}, signal ${result.signal}, status ${result.run?.status}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
    );
  }
}

describe('n8n harness with built-in nodes', () => {
  let n8n: N8nInstance;
  let workflowId: string;
  beforeAll(async () => {
    n8n = await createN8nInstance();
    workflowId = await n8n.importWorkflow(builtInWorkflow);
  }, 120_000);
  afterAll(() => n8n?.close());

  it('executes an imported workflow, returning each node’s items', async () => {
    const result = await n8n.execute(workflowId);

    expectSuccess(result);
    expect(outputItems(result, 'Set')).toEqual([{ greeting: 'hello', count: 3 }]);
    expect(outputItems(result, 'Code')).toEqual([{ greeting: 'hello', count: 3, doubled: 6 }]);
    // Execution data is stored in plain text in the database (what secret-leak tests search).
    expect(n8n.databaseBytes().includes('harness smoke')).toBe(true);
  });

  it('reports a failing workflow with exit code 1 and the failed node’s error', async () => {
    const result = await n8n.execute(await n8n.importWorkflow(failingWorkflow));

    expect(result.code).toBe(1);
    expect(result.run?.status).toBe('error');
    expect(result.runData?.Boom[0].error?.message).toContain('harness-boom');
    expect(() => outputItems(result, 'Boom')).toThrow(/harness-boom/);
  });

  it('exports the workflow as JSON', async () => {
    const exported = JSON.parse(await n8n.exportWorkflow(workflowId)) as Array<{ id: string; nodes: Array<{ name: string }> }>;

    expect(exported).toHaveLength(1);
    expect(exported[0].id).toBe(workflowId);
    expect(exported[0].nodes.map((node) => node.name)).toEqual(['Start', 'Set', 'Code']);
  });

  it('creates an owner and API key headlessly; the key reads workflows and updates credentials', async () => {
    await n8n.importCredentials([{ id: 'harnessCred00001', name: 'Harness header', type: 'httpHeaderAuth', data: { name: 'X-Harness', value: 'old-value' } }]);
    const apiKey = await n8n.createOwnerAndApiKey();

    const workflows = await n8n.api(apiKey, 'GET', '/workflows');
    expect(workflows.status).toBe(200);
    expect((workflows.body as { data: Array<{ id: string }> }).data.map((w) => w.id)).toContain(workflowId);
    expect((await n8n.api('not-a-key', 'GET', '/workflows')).status).toBe(401);

    const patched = await n8n.api(apiKey, 'PATCH', '/credentials/harnessCred00001', { data: { value: 'new-value' }, isPartialData: true });
    expect(patched.status).toBe(200);
    const exportFile = join(n8n.userFolder, 'credentials-export.json');
    const exported = await n8n.cli(['export:credentials', '--id=harnessCred00001', '--decrypted', `--output=${exportFile}`]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(readFileSync(exportFile, 'utf8'))[0].data).toEqual({ name: 'X-Harness', value: 'new-value' });
  });
});

describe('n8n harness with a community package', () => {
  let n8n: N8nInstance;
  beforeAll(async () => {
    n8n = await createN8nInstance();
  });
  afterAll(() => n8n?.close());

  it('packs this repository’s package', async () => {
    const tgz = await packPackage();
    expect(existsSync(tgz)).toBe(true);
    expect(tgz).toMatch(/n8n-nodes-secure-proxy-[\d.]+\.tgz$/);
  });

  it('loads a package installed under .n8n/nodes and runs its node', async () => {
    await n8n.installCommunityPackage(await packDirectory(writeProbePackage(join(n8n.userFolder, '..', 'probe'))));
    const workflowId = await n8n.importWorkflow(
      chain('community probe', [
        manualTrigger,
        { id: 'n-probe', name: 'Probe', type: 'n8n-nodes-harness-probe.harnessProbe', typeVersion: 1, position: [200, 0], parameters: { greeting: 'hi' } },
      ]),
    );

    const result = await n8n.execute(workflowId);

    expectSuccess(result);
    const [item] = outputItems(result, 'Probe');
    expect(item.greeting).toBe('hi');
    expect(item.loadedFrom).toBe(join(n8n.userFolder, '.n8n/nodes/node_modules/n8n-nodes-harness-probe/dist/HarnessProbe.node.js'));
    // n8n-workflow is only a peer dependency; n8n makes its own copy resolvable.
    expect(item.workflowPackage).toContain('/node_modules/n8n-workflow/');
  });
});

/** A minimal community package: one node that echoes a parameter and where it was loaded from. */
function writeProbePackage(dir: string): string {
  mkdirSync(join(dir, 'dist'), { recursive: true });
  const packageJson = {
    name: 'n8n-nodes-harness-probe',
    version: '0.0.1',
    keywords: ['n8n-community-node-package'],
    files: ['dist'],
    n8n: { n8nNodesApiVersion: 1, strict: true, credentials: [], nodes: ['dist/HarnessProbe.node.js'] },
    peerDependencies: { 'n8n-workflow': '*' },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson, null, 2));
  writeFileSync(
    join(dir, 'dist/HarnessProbe.node.js'),
    `const { NodeConnectionTypes } = require('n8n-workflow');
class HarnessProbe {
  constructor() {
    this.description = {
      displayName: 'Harness Probe', name: 'harnessProbe', group: ['transform'], version: 1,
      description: 'Echoes a greeting', defaults: { name: 'Harness Probe' },
      inputs: [NodeConnectionTypes.Main], outputs: [NodeConnectionTypes.Main],
      properties: [{ displayName: 'Greeting', name: 'greeting', type: 'string', default: 'hello' }],
    };
  }
  async execute() {
    return [this.getInputData().map((item, i) => ({
      json: { greeting: this.getNodeParameter('greeting', i), loadedFrom: __filename, workflowPackage: require.resolve('n8n-workflow') },
      pairedItem: { item: i },
    }))];
  }
}
module.exports = { HarnessProbe };
`,
  );
  return dir;
}
