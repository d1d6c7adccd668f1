/**
 * scripts/validate-deploy.mjs: every deployment artefact in the repository passes its
 * validator (kubernetes-models and kubectl kustomize, the compose-spec schema,
 * @action-validator/cli, systemd-analyze), and each validator refuses a broken copy.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

function validate(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/validate-deploy.mjs'), ...args], { encoding: 'utf8', timeout: 180_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('scripts/validate-deploy.mjs', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'validate-deploy-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds every artefact of the repository valid', () => {
    const { status, output } = validate([]);
    expect(output).toMatch(/kubernetes deploy\/kubernetes\/base: ok/);
    expect(output).toMatch(/kubernetes deploy\/kubernetes\/overlays\/example: ok/);
    expect(output).toMatch(/compose deploy\/compose\/compose\.yaml: ok/);
    expect(output).toMatch(/workflow \.github\/workflows\/ci\.yml: ok/);
    expect(output).toMatch(/workflow \.github\/workflows\/release\.yml: ok/);
    expect(output).toMatch(/systemd deploy\/systemd\/secure-proxy\.service: (ok|skipped)/);
    expect(output).not.toContain('FAILED');
    expect(status).toBe(0);
  });

  it('refuses a Deployment whose container port is not a number', () => {
    const base = join(scratch, 'base');
    cpSync(join(ROOT, 'deploy/kubernetes/base'), base, { recursive: true });
    const file = join(base, 'deployment.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('containerPort: 8080', 'containerPort: http'));
    const { status, output } = validate(['--kubernetes', base]);
    expect(output).toContain('containerPort must be integer');
    expect(status).toBe(1);
  });

  it('refuses a compose file with an unknown service key, and a workflow step with a misspelt key', () => {
    const compose = join(scratch, 'compose.yaml');
    writeFileSync(compose, readFileSync(join(ROOT, 'deploy/compose/compose.yaml'), 'utf8').replace('cap_drop:', 'cap_dorp:'));
    const workflow = join(scratch, 'ci.yml');
    writeFileSync(
      workflow,
      readFileSync(join(ROOT, '.github/workflows/ci.yml'), 'utf8').replace('persist-credentials: false', 'persist-credentials: false\n        wiht: {}'),
    );
    const { status, output } = validate(['--compose', compose, '--workflow', workflow]);
    expect(output).toContain('additionalProperty":"cap_dorp"');
    expect(output).toMatch(/workflow .*ci\.yml: FAILED/);
    expect(status).toBe(1);
  });
});
