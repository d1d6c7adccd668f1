/**
 * `secure-proxy migrate scan` as users run it: the built command on the corpus (files, an
 * array export, an export folder) and on a loopback n8n public API with cursor pagination.
 * Exit codes: 0 nothing found, 1 findings, 2 unreadable input or bad usage, naming the file
 * and why. No planted value ever reaches stdout or stderr.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, runCli } from '../support/cli';
import { fingerprintOf, leakedMarkers, materialiseCorpus, type MaterialisedCorpus } from '../support/migrate-corpus';

describe('secure-proxy migrate scan', () => {
  let corpus: MaterialisedCorpus;
  let scratch: string;
  const outputs: string[] = [];

  async function scan(args: string[], env: NodeJS.ProcessEnv = cleanEnv()) {
    const result = await runCli(['migrate', 'scan', ...args], { env });
    outputs.push(result.stdout, result.stderr);
    return result;
  }

  beforeAll(() => {
    corpus = materialiseCorpus();
    scratch = mkdtempSync(join(tmpdir(), 'migrate-scan-'));
  });
  afterAll(() => {
    // Whatever each test printed, no planted value was ever among it.
    const leaked = leakedMarkers(outputs.join('\n'), corpus.plants);
    corpus?.close();
    rmSync(scratch, { recursive: true, force: true });
    expect(leaked).toEqual([]);
  });

  it('exits 1 and prints {"findings": [...]} with the documented fields for the whole corpus', async () => {
    const result = await scan([corpus.dir, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { findings: Array<Record<string, string>> };
    expect(Object.keys(report)).toEqual(['findings']);
    expect(report.findings.length).toBe(corpus.plants.filter((p) => !p.decoy).length);
    for (const finding of report.findings) {
      expect(finding).toEqual(
        expect.objectContaining({
          workflowId: expect.any(String),
          workflowName: expect.any(String),
          node: expect.any(String),
          nodeType: expect.any(String),
          parameter: expect.any(String),
          kind: expect.any(String),
          fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/),
        }),
      );
    }
    const planted = corpus.plants.find((p) => p.marker === 'aws-secret')!;
    expect(report.findings.find((f) => f.fingerprint === fingerprintOf(planted.value))).toMatchObject({
      workflowId: 'WcodeNodes000001',
      node: 'Prepare upload',
      nodeType: 'n8n-nodes-base.code',
      parameter: 'jsCode',
      kind: 'aws-secret-access-key',
    });
  });

  it('reads single files and array exports, and says where each finding is in text', async () => {
    const result = await scan([join(corpus.dir, 'all-workflows.json'), join(corpus.dir, 'expressions.json')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('workflow "Payments: refunds to Slack" (id Wv4Payments00001)');
    expect(result.stdout).toMatch(
      /node "List refunds" \(n8n-nodes-base\.httpRequest\) headerParameters\.parameters\[0\]\.value \[header\]: stripe-key, fingerprint [0-9a-f]{8}/,
    );
    expect(result.stdout).toMatch(/pasted secret\(s\) in 3 of 3 workflow\(s\)/);
  });

  it('exits 0 when a workflow holds only references, expressions and placeholders', async () => {
    const result = await scan([join(corpus.dir, 'export-folder', 'WnegativesOnly01.json')]);
    expect(result).toMatchObject({ code: 0, stdout: 'No pasted secrets found in 1 workflow(s).\n' });
    const json = await scan([join(corpus.dir, 'export-folder', 'WnegativesOnly01.json'), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ findings: [] });
  });

  it.each([
    ['not JSON', '{"nodes": [', /cannot read .*broken\.json: not valid JSON/],
    ['JSON that is no workflow', '{"hello": "world"}', /cannot read .*broken\.json: not an n8n workflow export/],
  ])('exits 2 on a file that is %s, naming it', async (_label, text, message) => {
    const file = join(scratch, 'broken.json');
    writeFileSync(file, text);
    const result = await scan([file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('exits 2 on a missing input and on no input at all', async () => {
    const missing = await scan([join(scratch, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: no such file or folder/);
    const none = await scan([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/needs workflow files or folders, or --n8n-url/);
  });

  it('suggests the closest command for a typo', async () => {
    const result = await runCli(['migrate', 'scna', corpus.dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Did you mean scan\?/i);
  });

  describe('from n8n through its public API', () => {
    const API_KEY = `n8n-api-key-${Date.now()}`;
    let server: http.Server;
    let url: string;
    const seen: Array<{ url: string; key: string | undefined }> = [];

    beforeAll(async () => {
      const all = JSON.parse(readFileSync(join(corpus.dir, 'all-workflows.json'), 'utf8')) as unknown[];
      const one = JSON.parse(readFileSync(join(corpus.dir, 'expressions.json'), 'utf8')) as unknown;
      const pages: Record<string, { data: unknown[]; nextCursor: string | null }> = {
        '': { data: [all[0]], nextCursor: 'page-2' },
        'page-2': { data: [all[1], one], nextCursor: null },
      };
      server = http.createServer((req, res) => {
        const u = new URL(req.url ?? '/', 'http://n8n');
        seen.push({ url: req.url ?? '', key: req.headers['x-n8n-api-key'] as string | undefined });
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.headers['x-n8n-api-key'] !== API_KEY) return send(401, { message: 'unauthorized' });
        if (u.pathname !== '/api/v1/workflows') return send(404, { message: 'not found' });
        send(200, pages[u.searchParams.get('cursor') ?? ''] ?? { data: [], nextCursor: null });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('follows nextCursor through every page and scans what it gets', async () => {
      const result = await scan(['--n8n-url', url, '--json'], { ...cleanEnv(), N8N_API_KEY: API_KEY });
      expect(result.code).toBe(1);
      expect(seen.map((s) => s.url)).toEqual(['/api/v1/workflows?limit=100', '/api/v1/workflows?limit=100&cursor=page-2']);
      const report = JSON.parse(result.stdout) as { findings: Array<{ workflowId: string; source: string }> };
      expect(new Set(report.findings.map((f) => f.workflowId))).toEqual(new Set(['Wv4Payments00001', 'Wv3Maps000000001', 'WexprCredential01']));
      expect(report.findings[0].source).toBe(`${url}/workflow/Wv4Payments00001`);
    });

    it('exits 2 when n8n refuses the key, saying so without printing it', async () => {
      const result = await scan(['--n8n-url', url], { ...cleanEnv(), N8N_API_KEY: 'wrong-key-value' });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/n8n refused listing workflows: 401 unauthorized; check the API key/);
      expect(result.stderr).not.toContain('wrong-key-value');
    });

    it('exits 2 without an API key', async () => {
      const result = await scan(['--n8n-url', url]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/N8N_API_KEY/);
    });
  });
});
