/**
 * `secure-proxy check` as users run it: the built command in a child process, against the
 * Vault emulator through the real node-vault client. Also proves the policies shipped in
 * proxy/policies (and printed in docs/vault-admin.md) are the ones that work.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { CheckReport } from '../../proxy/src/admin/check';
import { createTestCa, writePemFiles } from '../support/certs';
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
  writePolicy,
  writeSecret,
} from '../support/vault-setup';
import type { VaultTarget } from '../support/vault-target';
import { POLICIES, readPolicyFile, type PolicyName } from '../../proxy/src/admin/vault-bootstrap/policies';

// Tests run the built command up to three times; a loaded machine may take seconds per run.
jest.setTimeout(120_000);

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

/** A policy as shipped in proxy/policies (docs/vault-admin.md prints the same text; test/unit/docs/vault-policies.test.ts checks it). */
function shippedPolicy(name: PolicyName): string {
  return readPolicyFile(name);
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
    expect(result.stdout).toContain(`Secret '${mount}/svc/slack' has no field 'bot_token'; its field is 'token'.`);
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

  it('exits 2 without a config, saying one is needed and where the example config is', async () => {
    const result = await check([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/check needs a config: pass --config FILE or set SECURE_PROXY_CONFIG/);
    expect(result.stderr).toContain(`an example to start from: ${join(__dirname, '../../proxy/examples/proxy.yaml')}`);
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

describe('secure-proxy check: token records', () => {
  const DAY = 24 * 3600_000;
  const hashCanary = canary('record-hash');
  let records: { roleId: string; secretId: string };

  const token = (id: string, label: string, expiresInMs: number | null, extra: Record<string, unknown> = {}) => ({
    id,
    hash: `sha256:${createHash('sha256').update(canary(label)).digest('hex')}`,
    createdAt: new Date(Date.now() - DAY).toISOString(),
    expiresAt: expiresInMs === null ? null : new Date(Date.now() + expiresInMs).toISOString(),
    ...extra,
  });
  const writeRecord = (folder: string, client: string, record: unknown) => vaultCall(vault, 'POST', `${mount}/data/${folder}/${client}`, { data: record });

  /** A config whose proxy login may list and read the records under both test folders. */
  function recordsConfig(path: string, extra: Record<string, unknown> = {}): string {
    return writeConfig({
      vault: approleVault({ auth: { method: 'approle', roleId: records.roleId, secretId: '${VAULT_SECRET_ID}', mount: approleMount } }),
      services: SERVICES_OK,
      tokenStore: { path },
      ...extra,
    });
  }
  const checkRecords = (args: string[]) => runCli(['check', ...args], { env: cleanEnv({ VAULT_SECRET_ID: records.secretId }) });

  beforeAll(async () => {
    // The documented proxy policy for records: list on the folder's metadata, read on its data.
    const paths: Record<string, { capabilities: string[] }> = {};
    for (const folder of ['check-records/clients', 'check-good/clients']) {
      paths[`${mount}/metadata/${folder}/`] = { capabilities: ['list'] };
      paths[`${mount}/data/${folder}/*`] = { capabilities: ['read'] };
    }
    await writePolicy(vault, `${vault.prefix}-check-records`, { path: paths });
    records = await createAppRole(vault, approleMount, 'proxy-check-records', {
      policies: [`${vault.prefix}-proxy`, `${vault.prefix}-check-records`],
      tokenTtl: '1h',
      tokenMaxTtl: '4h',
    });
    const folder = 'check-records/clients';
    await writeRecord(folder, 'n8n-ok', { services: ['github'], tokens: [token('ok1', 'ok', 60 * DAY)] });
    await writeRecord(folder, 'n8n-soon', { services: ['github', 'retired'], tokens: [token('soon1', 'soon', 2 * DAY)] });
    await writeRecord(folder, 'n8n-rotated', {
      services: ['jira'],
      tokens: [token('old1', 'old', 10 * 60_000, { rotatedAt: new Date().toISOString(), replacedBy: 'new1' }), token('new1', 'new', 60 * DAY)],
    });
    await writeRecord(folder, 'n8n-expired', { services: ['github'], tokens: [token('gone1', 'gone', -DAY)] });
    await writeRecord(folder, 'n8n-bad', { services: ['github'], tokens: [{ ...token('bad1', 'bad', DAY), hash: `sha256:${hashCanary}` }] });
    await writeRecord('check-good/clients', 'n8n-fine', {
      services: ['github', 'jira'],
      tokens: [token('fine1', 'fine', 2 * DAY), token('never1', 'never', null)],
    });
  });

  it('judges every record as the proxy would: exit 1 for a malformed record or one whose tokens all expired; expiring tokens and unknown services are warnings', async () => {
    const file = recordsConfig('check-records/clients');
    const result = await checkRecords(['--json', '--config', file]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(codesOf(report)).toEqual({ github: null, jira: null });
    const store = report.tokenStore!;
    expect(store).toMatchObject({ location: `${mount}/check-records/clients`, ok: false, error: null, expiryWarningSeconds: 604800 });
    const byClient = Object.fromEntries(store.clients.map((c) => [c.client, c]));
    expect(Object.keys(byClient)).toEqual(['n8n-bad', 'n8n-expired', 'n8n-ok', 'n8n-rotated', 'n8n-soon']);
    expect(byClient['n8n-ok']).toMatchObject({ ok: true, code: null, services: ['github'], validTokens: 1, expiringSoon: [], expiredTokens: 0 });
    expect(byClient['n8n-soon']).toMatchObject({ ok: true, services: ['github'], validTokens: 1, expiringSoon: [{ id: 'soon1', replacedBy: null }] });
    expect(byClient['n8n-rotated']).toMatchObject({ ok: true, validTokens: 2, expiringSoon: [{ id: 'old1', replacedBy: 'new1' }] });
    expect(byClient['n8n-expired']).toMatchObject({ ok: false, code: 'PROXY_TOKEN_EXPIRED', validTokens: 0, expiredTokens: 1 });
    expect(byClient['n8n-expired'].message).toContain('every token of client "n8n-expired" has expired');
    expect(byClient['n8n-bad']).toMatchObject({ ok: false, code: 'PROXY_TOKEN_INVALID' });
    expect(byClient['n8n-bad'].message).toContain('tokens.0.hash: must be "sha256:" followed by 64 lower-case hex characters');
    expect(report.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^client "n8n-soon": token soon1 expires at \S+; rotate it with secure-proxy token rotate --client n8n-soon$/),
        expect.stringContaining(
          'token record of client "n8n-soon": the token record names services this proxy does not define, ignored: retired; take them away with secure-proxy token ungrant --client n8n-soon --services retired',
        ),
      ]),
    );
    // A token a rotation replaced ends on purpose: no warning.
    expect(report.warnings.join('\n')).not.toContain('old1');

    const text = await checkRecords(['--config', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`Token store  "${mount}/check-records/clients": 5 client records`);
    expect(text.stdout).toMatch(/^CLIENT +RESULT +SERVICES +TOKENS$/m);
    expect(text.stdout).toMatch(/^n8n-ok +ok +github +1 valid, next expiry \S+$/m);
    expect(text.stdout).toMatch(/^n8n-expired +PROXY_TOKEN_EXPIRED +github +0 valid, 1 expired$/m);
    expect(text.stdout).toMatch(/^n8n-bad +PROXY_TOKEN_INVALID +— +—$/m);
    expect(text.stdout).toMatch(/^n8n-rotated +ok +jira +2 valid, 1 rotated \(in grace\), next expiry \S+$/m);
    expect(text.stdout).toMatch(/^FAILED: 2 of 2 services ok; 2 token records with no usable token$/m);
    for (const r of [result, text]) expectNothingLeaked(r, [hashCanary, records.secretId]);
    expect(text.stdout + result.stdout).not.toMatch(/sha256:[0-9a-f]{64}/);
  });

  it('exits 0 when the records only have warnings', async () => {
    const result = await checkRecords(['--config', recordsConfig('check-good/clients')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^n8n-fine +ok +github, jira +2 valid, 1 expiring soon, next expiry \S+$/m);
    expect(result.stdout).toMatch(/^ {2}- client "n8n-fine": token fine1 expires at /m);
    expect(result.stdout).toMatch(/^OK: 2 of 2 services ok$/m);
    expectNothingLeaked(result, [records.secretId]);
  });

  it("exits 1 with VAULT_FORBIDDEN when the proxy's policy may not list the records", async () => {
    const file = writeConfig({ vault: approleVault(), services: SERVICES_OK, tokenStore: { path: 'check-records/clients' } });
    const result = await check(['--json', '--config', file]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(codesOf(report)).toEqual({ github: null, jira: null });
    expect(report.tokenStore).toMatchObject({ ok: false, clients: [], error: { code: 'VAULT_FORBIDDEN' } });
    expect(report.tokenStore!.error!.message).toContain(`listing ${mount}/metadata/check-records/clients/: Vault denied it (403)`);
    const text = await check(['--config', file]);
    expect(text.stdout).toMatch(/^FAILED: 2 of 2 services ok; the token records could not be read$/m);
    expectNothingLeaked(result);
  });

  it('without tokenStore the report has none', async () => {
    const result = await check(['--json', '--config', writeConfig({ vault: approleVault(), services: SERVICES_OK })]);
    expect((JSON.parse(result.stdout) as CheckReport).tokenStore).toBeNull();
  });
});

describe('secure-proxy check: CA files', () => {
  let files: Record<'good.pem' | 'expired.pem' | 'mixed.pem', string>;

  beforeAll(async () => {
    const ca = await createTestCa('check test CA');
    const now = Date.now();
    const expired = await ca.issue(['old.example'], { notBefore: new Date(now - 10 * 86400_000), notAfter: new Date(now - 86400_000) });
    files = writePemFiles(dir, { 'good.pem': ca.caPem, 'expired.pem': expired.certPem, 'mixed.pem': `${expired.certPem}\n${ca.caPem}` });
  });

  const httpsService = (caFile: string) => ({ target: 'https://127.0.0.1:9/api', secret: 'svc/github', inject: { type: 'bearer' }, caFile });

  it('reads every caFile once, lists its certificates, and warns about expired or soon-expiring ones without failing', async () => {
    const file = writeConfig({
      vault: approleVault({ caFile: files['good.pem'] }),
      services: { ...SERVICES_OK, secure: httpsService(files['good.pem']), mixed: httpsService(files['mixed.pem']) },
    });
    const result = await check(['--json', '--config', file]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.caFiles).toEqual([
      {
        path: files['good.pem'],
        usedBy: ['vault.caFile', 'services.secure.caFile'],
        ok: true,
        problem: null,
        certificates: [{ subject: 'CN=check test CA', notBefore: expect.any(String), notAfter: expect.any(String) }],
      },
      expect.objectContaining({ path: files['mixed.pem'], usedBy: ['services.mixed.caFile'], ok: true }),
    ]);
    expect(report.caFiles[1].certificates.map((c) => c.subject)).toEqual(['CN=old.example', 'CN=check test CA']);
    // The test CA is valid for a day: within the 30-day warning.
    expect(report.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(
            `^CA file ${files['good.pem']} \\(vault.caFile, services.secure.caFile\\): certificate "CN=check test CA" expires at \\S+; put its successor`,
          ),
        ),
        expect.stringMatching(new RegExp(`^CA file ${files['mixed.pem']} \\(services.mixed.caFile\\): certificate "CN=old.example" expired at `)),
      ]),
    );
    const text = await check(['--config', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^CA FILE +RESULT +USED BY +CERTIFICATES$/m);
    expect(text.stdout).toMatch(new RegExp(`^${files['good.pem']} +ok +vault.caFile, services.secure.caFile +1, first expiry \\S+$`, 'm'));
    expectNothingLeaked(result);
  });

  it('exits 1 when none of the certificates in a caFile is valid now', async () => {
    const file = writeConfig({ vault: approleVault(), services: { ...SERVICES_OK, old: httpsService(files['expired.pem']) } });
    const result = await check(['--json', '--config', file]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(codesOf(report)).toEqual({ github: null, jira: null, old: null });
    expect(report.caFiles).toEqual([expect.objectContaining({ path: files['expired.pem'], ok: false })]);
    expect(report.caFiles[0].problem).toContain('none of its 1 certificate is valid now');
    const text = await check(['--config', file]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^${files['expired.pem']} +FAILED +services.old.caFile +1, first expiry \\S+$`, 'm'));
    expect(text.stdout).toMatch(/^FAILED: 3 of 3 services ok; 1 CA file unusable$/m);
  });

  it('a caFile that cannot be read is still a config error (exit 2) naming the field', async () => {
    const file = writeConfig({ vault: approleVault(), services: { ...SERVICES_OK, gone: httpsService(join(dir, 'nowhere.pem')) } });
    const result = await check(['--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/services\.gone\.caFile: cannot use CA file ".*nowhere\.pem": the file cannot be read \(ENOENT\)/);
  });
});

describe('the shipped policies (proxy/policies, printed in docs/vault-admin.md)', () => {
  it('the proxy policy is enough for check to pass, and reads nothing else', async () => {
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
    expect(await writeHclPolicy(policy, onTestMount(shippedPolicy('secure-proxy')))).toBe(204);
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

  it('without the default policy, the token-self policy is what keeps lookup and renewal working', async () => {
    const proxyPolicy = `${vault.prefix}-doc-proxy-2`;
    const selfPolicy = `${vault.prefix}-doc-self`;
    expect(await writeHclPolicy(proxyPolicy, onTestMount(shippedPolicy('secure-proxy')))).toBe(204);
    expect(await writeHclPolicy(selfPolicy, shippedPolicy('secure-proxy-token-self'))).toBe(204);
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

  it('the token-management policy manages token records and cannot read service secrets', async () => {
    const policy = `${vault.prefix}-doc-admin`;
    expect(await writeHclPolicy(policy, onTestMount(shippedPolicy('secure-proxy-admin')))).toBe(204);
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

  it('every shipped policy file is a policy Vault accepts', async () => {
    const blocks = Object.values(POLICIES).map(readPolicyFile);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const [i, block] of blocks.entries()) {
      const status = await writeHclPolicy(`${vault.prefix}-doc-${i}`, onTestMount(block));
      expect({ block: i, status }).toEqual({ block: i, status: 204 });
    }
  });
});
