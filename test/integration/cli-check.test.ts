/**
 * `secure-proxy check` as users run it: the built command in a child process, against the
 * Vault emulator through the real node-vault client. Also proves the policies printed in
 * docs/vault-admin.md are the ones that work.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckReport } from '../../proxy/src/admin/check';
import { cleanEnv, runCli, type CliResult } from '../support/cli';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness } from '../support/proxy-harness';
import { deadPort } from '../support/secrets-harness';
import {
  createAppRole,
  createKubernetesRole,
  createToken,
  enableAppRole,
  enableKubernetesAuth,
  revokeToken,
  serviceAccountJwt,
  vaultCall,
  vaultFetch,
  writeSecret,
} from '../support/vault-setup';
import type { VaultTarget } from '../support/vault-target';

const DOC_PATH = join(__dirname, '../../docs/vault-admin.md');

let harness: ProxyHarness;
let vault: VaultTarget;
let dir: string;
let mount: string;
let approleMount: string;
let appRole: { roleId: string; secretId: string };
const secrets = { github: canary('github'), jiraPassword: canary('jira'), billing: canary('billing'), slack: canary('slack') };

/** Everything that must never be printed: secret values and the AppRole secret id. */
function forbiddenValues(): string[] {
  return [...Object.values(secrets), appRole.secretId];
}

function expectNothingLeaked(result: CliResult, extra: string[] = []): void {
  expectNothingHidden([result.stdout, result.stderr], [...forbiddenValues(), ...extra]);
}

const SERVICES_OK = {
  github: { target: 'http://127.0.0.1:9/gh', secret: 'svc/github', inject: { type: 'bearer', field: 'token' } },
  jira: { target: 'http://127.0.0.1:9/jira', secret: 'svc/jira', inject: { type: 'basic' } },
};

const SERVICES_MIXED = {
  ...SERVICES_OK,
  stripe: { target: 'http://127.0.0.1:9/stripe', secret: 'svc/stripe', inject: { type: 'bearer' } },
  billing: { target: 'http://127.0.0.1:9/billing', secret: 'other/billing', inject: { type: 'bearer' } },
  slack: { target: 'http://127.0.0.1:9/slack', secret: 'svc/slack', inject: { type: 'header', name: 'x-api-key', template: 'Bot {{bot_token}}' } },
};

/** The AppRole vault block of the test configs; the secret id comes from the environment. */
function approleVault(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    address: vault.address,
    auth: { method: 'approle', roleId: appRole.roleId, secretId: '${VAULT_SECRET_ID}', mount: approleMount },
    kvMount: mount,
    timeoutMs: 10_000,
    ...overrides,
  };
}

let configCount = 0;
function writeConfig(config: Record<string, unknown>): string {
  configCount += 1;
  const file = join(dir, `proxy-${configCount}.json`);
  writeFileSync(file, JSON.stringify({ clients: {}, ...config }));
  return file;
}

function check(args: string[]): Promise<CliResult> {
  return runCli(['check', ...args], { env: cleanEnv({ VAULT_SECRET_ID: appRole.secretId }) });
}

/** The RESULT column of a service's row in the table. */
function resultOf(stdout: string, service: string): string | undefined {
  return new RegExp(`^${service} +(\\S+) `, 'm').exec(stdout)?.[1];
}

function codesOf(report: CheckReport): Record<string, string | null> {
  return Object.fromEntries(report.services.map((s) => [s.name, s.code]));
}

/** Fenced ```hcl blocks of the admin guide (indented ones too), dedented. */
function docHclBlocks(): string[] {
  const doc = readFileSync(DOC_PATH, 'utf8');
  return [...doc.matchAll(/^( *)```hcl\n([\s\S]*?)^\1```$/gm)].map(([, indent, body]) =>
    body
      .split('\n')
      .map((line) => line.slice(indent.length))
      .join('\n'),
  );
}

/** The block whose first line names the policy, e.g. `# Policy "secure-proxy": ...`. */
function docPolicy(name: string): string {
  const block = docHclBlocks().find((b) => b.startsWith(`# Policy "${name}":`));
  if (block === undefined) throw new Error(`docs/vault-admin.md has no hcl block for policy "${name}"`);
  return block;
}

/** Puts the test's mount where the guide says `secret`; fails if the guide's paths changed shape. */
function onTestMount(hcl: string): string {
  const moved = hcl.replaceAll('path "secret/', `path "${mount}/`).replaceAll('path "sys/internal/ui/mounts/secret"', `path "sys/internal/ui/mounts/${mount}"`);
  expect(moved).not.toMatch(/"secret\/|mounts\/secret"/);
  return moved;
}

/** Writes a policy from HCL text (removed again on a real Vault); returns Vault's status. */
async function writeHclPolicy(name: string, hcl: string): Promise<number> {
  const response = await vaultFetch(vault, 'PUT', `sys/policies/acl/${name}`, { policy: hcl });
  if (response.status < 300) vault.defer(() => vaultCall(vault, 'DELETE', `sys/policies/acl/${name}`));
  return response.status;
}

beforeAll(async () => {
  // The harness's AppRole may read under svc/ only, so other/billing is a secret it is denied.
  harness = await startHarness({
    'svc/github': { token: secrets.github },
    'svc/jira': { username: 'automation', password: secrets.jiraPassword },
    'other/billing': { token: secrets.billing },
    'svc/slack': { token: secrets.slack },
  });
  ({ vault, mount, appRole, approleMount } = harness);
  dir = mkdtempSync(join(tmpdir(), 'sp-check-'));
});

afterAll(async () => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  await harness?.close();
});

describe('secure-proxy check', () => {
  it('exits 0 and lists every service ok when every secret is readable and complete', async () => {
    const result = await check(['--config', writeConfig({ vault: approleVault(), services: SERVICES_OK })]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(resultOf(result.stdout, 'github')).toBe('ok');
    expect(resultOf(result.stdout, 'jira')).toBe('ok');
    expect(result.stdout).toMatch(/^Login +ok with approle; token TTL \d+s, renewable; policies: .*\bdefault\b/m);
    expect(result.stdout).toContain(`${vault.prefix}-proxy`);
    expect(result.stdout).toMatch(new RegExp(`^KV mount +"${mount}": KV v2 \\(detected\\)`, 'm'));
    expect(result.stdout).toMatch(/^OK: 2 of 2 services ok$/m);
    expectNothingLeaked(result);
  });

  it('exits 1 naming exactly the missing, forbidden and incomplete secrets', async () => {
    const result = await check(['--config', writeConfig({ vault: approleVault(), services: SERVICES_MIXED })]);
    expect(result.code).toBe(1);
    expect(resultOf(result.stdout, 'github')).toBe('ok');
    expect(resultOf(result.stdout, 'jira')).toBe('ok');
    expect(resultOf(result.stdout, 'stripe')).toBe('SECRET_NOT_FOUND');
    expect(resultOf(result.stdout, 'billing')).toBe('VAULT_FORBIDDEN');
    expect(resultOf(result.stdout, 'slack')).toBe('SECRET_FIELD_MISSING');
    expect(result.stdout).toContain(`Secret '${mount}/svc/slack' has no field 'bot_token'`);
    expect(result.stdout).toMatch(/^FAILED: 2 of 5 services ok$/m);
    expectNothingLeaked(result);
  });

  it('--json holds the same facts as the table', async () => {
    const result = await check(['--json', '--config', writeConfig({ vault: approleVault(), services: SERVICES_MIXED })]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.ok).toBe(false);
    expect(codesOf(report)).toEqual({
      github: null,
      jira: null,
      stripe: 'SECRET_NOT_FOUND',
      billing: 'VAULT_FORBIDDEN',
      slack: 'SECRET_FIELD_MISSING',
    });
    expect(report.services.find((s) => s.name === 'slack')?.message).toContain("'bot_token'");
    expect(report.services.find((s) => s.name === 'github')).toEqual({
      name: 'github',
      secret: `${mount}/svc/github`,
      inject: "bearer token from field 'token'",
      ok: true,
      code: null,
      message: null,
    });
    expect(report.vault.login).toMatchObject({ method: 'approle', ok: true, error: null, renewable: true });
    expect(report.vault.login.ttlSeconds).toBeGreaterThan(0);
    expect(report.vault.login.policies).toEqual(expect.arrayContaining(['default', `${vault.prefix}-proxy`]));
    expect(report.vault.kv).toEqual({ mount, version: 2, source: 'detected', error: null });
    expectNothingLeaked(result);
  });

  it('exits 1 with VAULT_UNAVAILABLE for the login and every service when Vault is unreachable', async () => {
    const address = `http://127.0.0.1:${await deadPort()}`;
    const file = writeConfig({ vault: approleVault({ address }), services: SERVICES_OK });
    const result = await check(['--json', '--config', file]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.vault.login.ok).toBe(false);
    expect(report.vault.login.error?.code).toBe('VAULT_UNAVAILABLE');
    expect(report.vault.login.error?.message).toMatch(/refused the connection/);
    expect(codesOf(report)).toEqual({ github: 'VAULT_UNAVAILABLE', jira: 'VAULT_UNAVAILABLE' });
    const text = await check(['--config', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^Login +FAILED \(VAULT_UNAVAILABLE\) with approle: /m);
    expect(resultOf(text.stdout, 'github')).toBe('VAULT_UNAVAILABLE');
    expectNothingLeaked(result);
    expectNothingLeaked(text);
  });

  it('exits 1 when the AppRole secret id is refused, without printing it', async () => {
    const wrongSecretId = canary('secret-id');
    const file = writeConfig({
      vault: approleVault({ auth: { method: 'approle', roleId: appRole.roleId, secretId: wrongSecretId, mount: approleMount } }),
      services: SERVICES_OK,
    });
    const result = await check(['--json', '--config', file]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.vault.login.error?.code).toBe('VAULT_UNAVAILABLE');
    expect(report.vault.login.error?.message).toMatch(/refused the approle login/);
    expectNothingLeaked(result, [wrongSecretId]);
  });

  it('exits 2 naming the bad field when the config is invalid', async () => {
    const file = writeConfig({
      vault: approleVault(),
      services: { github: { ...SERVICES_OK.github, inject: { type: 'cookie' } } },
    });
    const result = await check(['--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('services.github.inject.type: must be one of: bearer, header, basic, query');
    expect(result.stdout).toBe('');
    expectNothingLeaked(result);
  });

  it('exits 2 without a config, saying one is needed', async () => {
    const result = await check([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/check needs a config: pass --config FILE or set SECURE_PROXY_CONFIG/);
  });

  it('reads the config from SECURE_PROXY_CONFIG and warns about a root token', async () => {
    const file = writeConfig({ vault: { address: vault.address, auth: { method: 'token', token: vault.rootToken }, kvMount: mount }, services: SERVICES_OK });
    const result = await runCli(['check', '--json'], { env: cleanEnv({ SECURE_PROXY_CONFIG: file }) });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.vault.login).toMatchObject({ method: 'token', ok: true, ttlSeconds: 0 });
    expect(report.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/root policy/), expect.stringMatching(/never expires/)]));
    expectNothingLeaked(result, [vault.rootToken]);
  });

  it('logs in with Kubernetes auth from the service account token file', async () => {
    const k8sMount = `${vault.prefix}-k8s`;
    await enableKubernetesAuth(vault, k8sMount);
    await createKubernetesRole(vault, k8sMount, 'secure-proxy', {
      serviceAccountNames: ['secure-proxy'],
      namespaces: ['automation'],
      policies: [`${vault.prefix}-proxy`],
    });
    const jwtPath = join(dir, 'sa-token');
    const jwt = serviceAccountJwt({ name: 'secure-proxy', namespace: 'automation' });
    writeFileSync(jwtPath, jwt);
    const file = writeConfig({
      vault: { address: vault.address, auth: { method: 'kubernetes', role: 'secure-proxy', jwtPath, mount: k8sMount }, kvMount: mount },
      services: SERVICES_OK,
    });
    const result = await check(['--json', '--config', file]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.vault.login).toMatchObject({ method: 'kubernetes', ok: true });
    expect(codesOf(report)).toEqual({ github: null, jira: null });
    expectNothingLeaked(result, [jwt]);
  });
});

describe('docs/vault-admin.md policies', () => {
  it('the proxy policy of the guide is enough for check to pass, and reads nothing else', async () => {
    for (const path of ['secure-proxy/services/github', 'secure-proxy/services/jira']) {
      await writeSecret(
        vault,
        mount,
        path,
        path.endsWith('github') ? { token: secrets.github } : { username: 'automation', password: secrets.jiraPassword },
        2,
      );
    }
    const policy = `${vault.prefix}-doc-proxy`;
    expect(await writeHclPolicy(policy, onTestMount(docPolicy('secure-proxy')))).toBe(204);
    // As in the guide: a role with token_policies, token_ttl, token_max_ttl and secret_id_ttl.
    const docMount = `${vault.prefix}-doc-approle`;
    await enableAppRole(vault, docMount);
    const role = await createAppRole(vault, docMount, 'secure-proxy', { policies: [policy], tokenTtl: '1h', tokenMaxTtl: '4h', secretIdTtl: '720h' });
    const file = writeConfig({
      vault: { address: vault.address, auth: { method: 'approle', roleId: role.roleId, secretId: '${VAULT_SECRET_ID}', mount: docMount }, kvMount: mount },
      services: {
        github: { target: 'http://127.0.0.1:9/gh', secret: 'secure-proxy/services/github', inject: { type: 'bearer', field: 'token' } },
        jira: { target: 'http://127.0.0.1:9/jira', secret: 'secure-proxy/services/jira', inject: { type: 'basic' } },
        outside: { target: 'http://127.0.0.1:9/x', secret: 'svc/github', inject: { type: 'bearer' } },
      },
    });
    const result = await runCli(['check', '--json', '--config', file], { env: cleanEnv({ VAULT_SECRET_ID: role.secretId }) });
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(codesOf(report)).toEqual({ github: null, jira: null, outside: 'VAULT_FORBIDDEN' });
    expect(report.vault.kv).toEqual({ mount, version: 2, source: 'detected', error: null });
    expect(report.vault.login.policies).toEqual(expect.arrayContaining(['default', policy]));
    expect(report.warnings).toEqual([]);
    expectNothingLeaked(result, [role.secretId]);
  });

  it("without the default policy, the guide's token-self policy is what keeps lookup and renewal working", async () => {
    const proxyPolicy = `${vault.prefix}-doc-proxy-2`;
    const selfPolicy = `${vault.prefix}-doc-self`;
    expect(await writeHclPolicy(proxyPolicy, onTestMount(docPolicy('secure-proxy')))).toBe(204);
    expect(await writeHclPolicy(selfPolicy, docPolicy('secure-proxy-token-self'))).toBe(204);
    const created = await vaultCall<{ auth: { client_token: string } }>(vault, 'POST', 'auth/token/create', {
      policies: [proxyPolicy, selfPolicy],
      no_default_policy: true,
      ttl: '1h',
    });
    const token = created.auth.client_token;
    vault.defer(() => revokeToken(vault, token));
    const file = writeConfig({
      vault: { address: vault.address, auth: { method: 'token', token: '${PROXY_VAULT_TOKEN}' }, kvMount: mount },
      services: { github: { target: 'http://127.0.0.1:9/gh', secret: 'secure-proxy/services/github', inject: { type: 'bearer' } } },
    });
    await writeSecret(vault, mount, 'secure-proxy/services/github', { token: secrets.github }, 2);
    const result = await runCli(['check', '--json', '--config', file], { env: cleanEnv({ PROXY_VAULT_TOKEN: token }) });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.vault.login).toMatchObject({ method: 'token', ok: true, renewable: true });
    expect([...(report.vault.login.policies ?? [])].sort()).toEqual([proxyPolicy, selfPolicy].sort());
    expect(report.warnings).toEqual([]);
    expectNothingLeaked(result, [token]);
  });

  it('the token-management policy of the guide manages token records and cannot read service secrets', async () => {
    const policy = `${vault.prefix}-doc-admin`;
    expect(await writeHclPolicy(policy, onTestMount(docPolicy('secure-proxy-admin')))).toBe(204);
    const token = await createToken(vault, { policies: [policy], ttl: '10m' });
    const record = `${mount}/data/secure-proxy/clients/n8n-prod`;
    expect((await vaultFetch(vault, 'POST', record, { data: { tokens: [] } }, token)).status).toBe(200);
    expect((await vaultFetch(vault, 'GET', record, undefined, token)).status).toBe(200);
    expect(
      (await vaultFetch(vault, 'POST', `${mount}/metadata/secure-proxy/clients/n8n-prod`, { custom_metadata: { owner: 'ops' } }, token)).status,
    ).toBeLessThan(300);
    const listed = await vaultFetch<{ data: { keys: string[] } }>(vault, 'GET', `${mount}/metadata/secure-proxy/clients/?list=true`, undefined, token);
    expect(listed.status).toBe(200);
    expect(listed.body.data.keys).toContain('n8n-prod');
    expect((await vaultFetch(vault, 'GET', `${mount}/data/secure-proxy/services/github`, undefined, token)).status).toBe(403);
  });

  it('every hcl block of the guide is a policy Vault accepts', async () => {
    const blocks = docHclBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const [i, block] of blocks.entries()) {
      const status = await writeHclPolicy(`${vault.prefix}-doc-${i}`, onTestMount(block));
      expect({ block: i, status }).toEqual({ block: i, status: 204 });
    }
  });
});
