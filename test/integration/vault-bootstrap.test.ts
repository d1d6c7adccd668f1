/**
 * `secure-proxy vault bootstrap` as a Vault admin runs it: the built command in a child
 * process, with an admin token in VAULT_TOKEN, against the Vault emulator through node-vault
 * (or a real Vault when VAULT_ADDR/VAULT_TOKEN are set: every name is prefixed and removed
 * afterwards). What it sets up is then used for real: the proxy's `check` logs in with the
 * role it created and reads a secret through the policies it wrote.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckReport } from '../../proxy/src/admin/check';
import { POLICIES, readPolicyFile, renderPolicy } from '../../proxy/src/admin/vault-bootstrap/policies';
import { canary } from '../support/proxy-harness';
import { cleanEnv, runCli, type CliResult } from '../support/cli';
import { expectNothingHidden } from '../support/proxy-assertions';
import { createToken, enableKv, itEmulatorOnly, newSecretId, serviceAccountJwt, vaultCall, vaultFetch, writePolicy, writeSecret } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

jest.setTimeout(120_000);

let vault: VaultTarget;
let dir: string;
const SECRET = canary('bootstrap');

beforeAll(async () => {
  vault = await startVaultTarget();
  dir = mkdtempSync(join(tmpdir(), 'sp-bootstrap-'));
});

afterAll(async () => {
  await vault?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Names for one scenario, unique within the Vault; removed again on a real Vault. */
function names(label: string) {
  const base = `${vault.prefix}-${label}`;
  const kvMount = `${base}-kv`;
  const authMount = `${base}-auth`;
  const policyPrefix = `${base}-`;
  vault.defer(async () => {
    await vaultCall(vault, 'DELETE', `sys/mounts/${kvMount}`);
    await vaultCall(vault, 'DELETE', `sys/auth/${authMount}`);
    for (const name of Object.values(POLICIES)) await vaultCall(vault, 'DELETE', `sys/policies/acl/${policyPrefix}${name}`);
  });
  return { kvMount, authMount, policyPrefix, flags: ['--kv-mount', kvMount, '--auth-mount', authMount, '--policy-prefix', policyPrefix] };
}

async function bootstrap(args: string[], token = vault.rootToken): Promise<CliResult> {
  const result = await runCli(['vault', 'bootstrap', ...args], { env: cleanEnv({ VAULT_ADDR: vault.address, VAULT_TOKEN: token }) });
  expectNothingHidden([result.stdout, result.stderr], [vault.rootToken, token, SECRET]);
  return result;
}

/** The status marks of the step lines, e.g. ["+ KV v2 secrets engine at …", …] → ["+", …]. */
function marks(stdout: string): string[] {
  return [...stdout.matchAll(/^ {2}([+~=!]) /gm)].map((m) => m[1]);
}

async function policyText(name: string): Promise<string | null> {
  const response = await vaultFetch<{ data: { policy: string } }>(vault, 'GET', `sys/policies/acl/${name}`);
  return response.status === 200 ? response.body.data.policy : null;
}

async function mountsTable(kind: 'mounts' | 'auth'): Promise<Record<string, { type: string; options: Record<string, string> | null }>> {
  return (await vaultCall(vault, 'GET', `sys/${kind}`)).data;
}

describe('vault bootstrap with AppRole', () => {
  const n = () => scenario;
  let scenario: ReturnType<typeof names>;
  beforeAll(() => {
    scenario = names('approle');
  });

  it('--dry-run reads, prints every write it would make, and writes nothing', async () => {
    const { kvMount, authMount, policyPrefix, flags } = n();
    const result = await bootstrap([...flags, '--dry-run']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const call of [
      `POST /v1/sys/mounts/${kvMount}`,
      `POST /v1/sys/auth/${authMount}`,
      `PUT /v1/sys/policies/acl/${policyPrefix}secure-proxy`,
      `PUT /v1/sys/policies/acl/${policyPrefix}secure-proxy-token-records`,
      `PUT /v1/sys/policies/acl/${policyPrefix}secure-proxy-admin`,
      `POST /v1/auth/${authMount}/role/secure-proxy`,
    ]) {
      expect(result.stdout).toContain(`      ${call}\n`);
    }
    expect(result.stdout).toContain('6 writes would be made; nothing was written.');
    expect((await mountsTable('mounts'))[`${kvMount}/`]).toBeUndefined();
    expect((await mountsTable('auth'))[`${authMount}/`]).toBeUndefined();
    expect(await policyText(`${policyPrefix}secure-proxy`)).toBeNull();
  });

  it('creates the KV v2 mount, the auth method, the policies from policies/*.hcl and the role, and says so', async () => {
    const { kvMount, authMount, policyPrefix, flags } = n();
    const result = await bootstrap(flags);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(marks(result.stdout)).toEqual(['+', '+', '+', '+', '+', '+']);
    expect(result.stdout).toContain('Done: 6 created, 0 updated, 0 unchanged.');
    expect((await mountsTable('mounts'))[`${kvMount}/`]).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect((await mountsTable('auth'))[`${authMount}/`]).toMatchObject({ type: 'approle' });
    const place = { kvMount, kvVersion: 2 as const, servicesPath: 'secure-proxy/services', recordsPath: 'secure-proxy/clients' };
    for (const name of [POLICIES.proxy, POLICIES.tokenRecords, POLICIES.admin]) {
      expect(await policyText(`${policyPrefix}${name}`)).toBe(renderPolicy(readPolicyFile(name), place));
    }
    const role = (await vaultCall(vault, 'GET', `auth/${authMount}/role/secure-proxy`)).data;
    expect(role).toMatchObject({ token_ttl: 3600, token_max_ttl: 14400, secret_id_ttl: 2592000 });
    expect([...role.token_policies].sort()).toEqual([`${policyPrefix}secure-proxy`, `${policyPrefix}secure-proxy-token-records`]);
    const roleId = (await vaultCall(vault, 'GET', `auth/${authMount}/role/secure-proxy/role-id`)).data.role_id as string;
    expect(result.stdout).toContain(`AppRole role id (not secret on its own): ${roleId}`);
  });

  it('a second run changes nothing and says so', async () => {
    const result = await bootstrap(n().flags);
    expect(result.code).toBe(0);
    expect(marks(result.stdout)).toEqual(['=', '=', '=', '=', '=', '=']);
    expect(result.stdout).toContain('Nothing changed: everything was already in place.');
    const dry = await bootstrap([...n().flags, '--dry-run']);
    expect(dry.stdout).toContain('Nothing to change.');
  });

  it('what it set up works: the proxy logs in with the role and reads a service secret and the token records', async () => {
    const { kvMount, authMount } = n();
    await writeSecret(vault, kvMount, 'secure-proxy/services/github', { token: SECRET }, 2);
    const roleId = (await vaultCall(vault, 'GET', `auth/${authMount}/role/secure-proxy/role-id`)).data.role_id as string;
    const secretId = await newSecretId(vault, authMount, 'secure-proxy');
    const config = join(dir, 'approle.json');
    writeFileSync(
      config,
      JSON.stringify({
        vault: { address: vault.address, auth: { method: 'approle', roleId, secretId: '${VAULT_SECRET_ID}', mount: authMount }, kvMount },
        tokenStore: {},
        services: {
          github: { target: 'http://127.0.0.1:9/gh', secret: 'secure-proxy/services/github', inject: { type: 'bearer' } },
          elsewhere: { target: 'http://127.0.0.1:9/x', secret: 'other/thing', inject: { type: 'bearer' } },
        },
      }),
    );
    const check = await runCli(['check', '--json', '--config', config], { env: cleanEnv({ VAULT_SECRET_ID: secretId }) });
    expectNothingHidden([check.stdout, check.stderr], [SECRET, secretId]);
    const report = JSON.parse(check.stdout) as CheckReport;
    expect(Object.fromEntries(report.services.map((s) => [s.name, s.code]))).toEqual({ github: null, elsewhere: 'VAULT_FORBIDDEN' });
    expect(report.vault.kv).toMatchObject({ mount: kvMount, version: 2, source: 'detected' });
    expect(report.tokenStore).toMatchObject({ ok: true });
  });

  it('puts back what drifted (a role setting, a policy text) and only that', async () => {
    const { authMount, policyPrefix, flags } = n();
    await vaultCall(vault, 'POST', `auth/${authMount}/role/secure-proxy`, { token_ttl: '2h' });
    await vaultCall(vault, 'PUT', `sys/policies/acl/${policyPrefix}secure-proxy-admin`, { policy: 'path "x/*" { capabilities = ["read"] }' });
    const result = await bootstrap(flags);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}~ policy \S+secure-proxy-admin: updated/m);
    expect(result.stdout).toMatch(/^ {2}~ AppRole role secure-proxy \(auth\/\S+\/\): updated \(token_ttl 7200s → 1h\)$/m);
    expect(marks(result.stdout).filter((m) => m === '~')).toHaveLength(2);
    expect((await vaultCall(vault, 'GET', `auth/${authMount}/role/secure-proxy`)).data.token_ttl).toBe(3600);
    expect(marks((await bootstrap(flags)).stdout)).toEqual(['=', '=', '=', '=', '=', '=']);
  });
});

describe('vault bootstrap failures', () => {
  it('a token without the right to write policies: exit 1, naming the call, the path and the capability; nothing after it is done', async () => {
    const { kvMount, policyPrefix, flags } = names('denied');
    await writePolicy(vault, `${vault.prefix}-half-admin`, {
      path: {
        'sys/mounts': { capabilities: ['read'] },
        'sys/mounts/*': { capabilities: ['create', 'update'] },
        'sys/auth': { capabilities: ['read'] },
        'sys/auth/*': { capabilities: ['create', 'update', 'sudo'] },
        'sys/policies/acl/*': { capabilities: ['read'] },
      },
    });
    const token = await createToken(vault, { policies: [`${vault.prefix}-half-admin`], ttl: '10m' });
    const result = await bootstrap(flags, token);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const name = `${policyPrefix}secure-proxy`;
    expect(result.stderr).toContain(
      `secure-proxy: PUT ${vault.address}/v1/sys/policies/acl/${name} failed: Vault said permission denied (403): the token in VAULT_TOKEN needs "create" on "sys/policies/acl/${name}"`,
    );
    expect(result.stderr).toMatch(/Done before this: KV v2 secrets engine at \S+, approle auth method at auth\/\S+; run again once fixed/);
    expect((await mountsTable('mounts'))[`${kvMount}/`]).toMatchObject({ type: 'kv' });
    expect(await policyText(name)).toBeNull();
  });

  it('an auth method of another type where the AppRole mount should be: exit 1, naming it', async () => {
    const { authMount, flags } = names('wrongtype');
    await vaultCall(vault, 'POST', `sys/auth/${authMount}`, { type: 'kubernetes' });
    const result = await bootstrap(flags);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`secure-proxy: auth/${authMount}/ is a "kubernetes" auth method, not approle: pass --auth-mount`);
  });

  it.each([
    [['--auth', 'kubernetes'], '--namespace is required with --auth kubernetes'],
    [['--auth', 'ldap'], '--auth must be approle or kubernetes, got "ldap"'],
    [['--kv-mount', '/secret/'], '--kv-mount must be a Vault path like "secret"'],
    [['--token-ttl', '5h', '--token-max-ttl', '4h'], '--token-ttl (5h) must not be longer than --token-max-ttl (4h)'],
  ])('bad options %j: exit 2 before Vault is contacted', async (args, message) => {
    const result = await runCli(['vault', 'bootstrap', ...args], { env: cleanEnv({ VAULT_ADDR: 'http://127.0.0.1:9', VAULT_TOKEN: 'hvs.unused' }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('without VAULT_TOKEN: exit 2, saying why it is not a flag', async () => {
    const result = await runCli(['vault', 'bootstrap'], { env: cleanEnv({ VAULT_ADDR: vault.address }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set VAULT_TOKEN');
  });
});

describe('vault bootstrap with Kubernetes auth', () => {
  itEmulatorOnly(
    'creates the auth method, its config and the role bound to the service account; the pod can log in and read; a second run changes nothing',
    async () => {
      const { kvMount, authMount, flags } = names('k8s');
      const k8sFlags = [
        ...flags,
        '--auth',
        'kubernetes',
        '--namespace',
        'automation',
        '--kubernetes-host',
        'https://127.0.0.1:6443',
        '--no-admin-policy',
        '--no-token-store',
      ];
      const first = await bootstrap(k8sFlags);
      expect(first.stderr).toBe('');
      expect(marks(first.stdout)).toEqual(['+', '+', '+', '+', '+']);
      const role = (await vaultCall(vault, 'GET', `auth/${authMount}/role/secure-proxy`)).data;
      expect(role).toMatchObject({ bound_service_account_names: ['secure-proxy'], bound_service_account_namespaces: ['automation'] });
      expect(first.stdout).toContain("Run the proxy's pods as service account secure-proxy in namespace automation");
      expect(marks((await bootstrap(k8sFlags)).stdout)).toEqual(['=', '=', '=', '=', '=']);

      await writeSecret(vault, kvMount, 'secure-proxy/services/github', { token: SECRET }, 2);
      const jwtPath = join(dir, 'sa-token');
      writeFileSync(jwtPath, serviceAccountJwt({ name: 'secure-proxy', namespace: 'automation' }));
      const config = join(dir, 'k8s.json');
      writeFileSync(
        config,
        JSON.stringify({
          vault: { address: vault.address, auth: { method: 'kubernetes', role: 'secure-proxy', jwtPath, mount: authMount }, kvMount },
          services: { github: { target: 'http://127.0.0.1:9/gh', secret: 'secure-proxy/services/github', inject: { type: 'bearer' } } },
        }),
      );
      const check = await runCli(['check', '--json', '--config', config], { env: cleanEnv() });
      expect(JSON.parse(check.stdout) as CheckReport).toMatchObject({ ok: true });
    },
  );

  it('without --kubernetes-host on an unconfigured mount, says what is left to do by hand', async () => {
    const { flags } = names('k8s-todo');
    const result = await bootstrap([...flags, '--auth', 'kubernetes', '--namespace', 'automation']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}! Kubernetes auth config \(auth\/\S+\/config\): todo \(not configured: pass --kubernetes-host/m);
    expect(result.stdout).toContain('Still to do by hand: 1 (marked !).');
  });
});

describe('vault bootstrap on an existing KV v1 mount', () => {
  it('keeps the mount and writes the policies with KV v1 paths', async () => {
    const { kvMount, policyPrefix, flags } = names('kv1');
    await enableKv(vault, kvMount, 1);
    const result = await bootstrap(flags);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^ {2}= KV secrets engine at ${kvMount}/: unchanged \\(KV v1, already mounted\\)$`, 'm'));
    const text = await policyText(`${policyPrefix}secure-proxy-token-records`);
    expect(text).toContain(`path "${kvMount}/secure-proxy/clients/"`);
    expect(text).not.toMatch(/\/(data|metadata)\//);
  });
});
