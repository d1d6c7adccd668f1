/**
 * `secure-proxy migrate rewrite` as users run it, with --to-vault against Vault (the emulator
 * from dev/, or a real Vault when VAULT_ADDR and VAULT_TOKEN are set): the secrets land at the
 * services' KV v2 paths with check-and-set, a second run changes nothing, a different value
 * already stored stops the run before anything is written unless --force, and no secret is
 * ever printed or written to the output folder.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, runCli, type CliResult } from '../support/cli';
import { leakedMarkers, materialiseCorpus, type MaterialisedCorpus } from '../support/migrate-corpus';
import { enableKv, vaultFetch, writeSecret } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

const FIXTURES = join(__dirname, '../fixtures/migrate/rewrite');
/** The markers of the secrets the fixture's rewritable nodes hold. */
const MOVED = ['github', 'stripe', 'hex', 'password', 'generic'];

describe('secure-proxy migrate rewrite --to-vault', () => {
  let vault: VaultTarget;
  let corpus: MaterialisedCorpus;
  let scratch: string;
  const printed: string[] = [];
  const value = (marker: string) => corpus.plants.find((p) => p.marker === marker)!.value;

  beforeAll(async () => {
    vault = await startVaultTarget();
    corpus = materialiseCorpus(FIXTURES);
    scratch = mkdtempSync(join(tmpdir(), 'migrate-rewrite-'));
  });
  afterAll(async () => {
    const written = readdirSync(scratch, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'));
    // Printed: no value at all. Written: none of the moved secrets; the nodes left unchanged
    // keep what they held (and are reported), so their values are in the files as in the input.
    const printedLeaks = leakedMarkers(printed.join('\n'), corpus.plants);
    const writtenLeaks = leakedMarkers(written.join('\n'), corpus.plants, MOVED);
    corpus?.close();
    rmSync(scratch, { recursive: true, force: true });
    await vault?.close();
    expect({ printedLeaks, writtenLeaks }).toEqual({ printedLeaks: [], writtenLeaks: [] });
  });

  /** Runs the rewrite of `input` (the fixture by default) into scratch/<out>, against `mount`. */
  async function rewrite(
    mount: string,
    out: string,
    extra: string[] = [],
    env: NodeJS.ProcessEnv = { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.rootToken },
    input = { workflow: join(corpus.dir, 'ops-workflow.json'), services: join(corpus.dir, 'services.yaml') },
  ): Promise<CliResult> {
    const args = ['migrate', 'rewrite', input.workflow, '--services', input.services, '--out', join(scratch, out), '--kv-mount', mount, ...extra];
    const result = await runCli(args, { env: { ...cleanEnv(), ...env } });
    printed.push(result.stdout, result.stderr);
    return result;
  }

  const read = (mount: string, path: string) =>
    vaultFetch<{ data: { data: Record<string, string>; metadata: { version: number } } }>(vault, 'GET', `${mount}/data/${path}`);

  it('stores each service secret at its path, writes the rewritten workflow and prints the config snippet', async () => {
    const mount = `${vault.prefix}kv1`;
    await enableKv(vault, mount, 2);
    const result = await rewrite(mount, 'first', ['--to-vault']);
    // Exit 1: the fixture keeps four nodes it cannot move, and says so.
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/6 node\(s\) rewritten, 4 left unchanged\./);
    expect(result.stdout).toMatch(/unchanged {2}.*"Unmapped vendor" .*unmapped host api\.unmapped-vendor\.io/);
    expect(result.stdout).toContain('services:\n  github:\n');
    expect(result.stderr).toContain(`vault: stored the secret of service github at ${mount}/secure-proxy/services/github`);

    expect((await read(mount, 'secure-proxy/services/github')).body.data).toMatchObject({ data: { token: value('github') }, metadata: { version: 1 } });
    expect((await read(mount, 'payments/stripe')).body.data.data).toEqual({ token: value('stripe') });
    expect((await read(mount, 'secure-proxy/services/weather')).body.data.data).toEqual({ token: value('hex') });
    expect((await read(mount, 'secure-proxy/services/reports')).body.data.data).toEqual({ username: 'svc-reports', password: value('password') });
    expect((await read(mount, 'secure-proxy/services/crm')).body.data.data).toEqual({ token: value('generic') });

    const out = JSON.parse(readFileSync(join(scratch, 'first', 'ops-workflow.json'), 'utf8'));
    expect(out.nodes.filter((n: { type: string }) => n.type === 'n8n-nodes-secure-proxy.secureProxyRequest')).toHaveLength(6);
  });

  it('changes nothing on a second run with the same secrets', async () => {
    const mount = `${vault.prefix}kv1`;
    const result = await rewrite(mount, 'second', ['--to-vault']);
    expect(result.stderr).toContain(`vault: ${mount}/secure-proxy/services/github already holds this secret for service github; left as it is`);
    expect((await read(mount, 'secure-proxy/services/github')).body.data.metadata.version).toBe(1);
  });

  it('refuses to overwrite a different stored value, writing nothing at all, unless --force', async () => {
    const mount = `${vault.prefix}kv2`;
    await enableKv(vault, mount, 2);
    await writeSecret(vault, mount, 'secure-proxy/services/github', { token: 'an-older-token-value', owner: 'platform-team' }, 2);

    const refused = await rewrite(mount, 'refused', ['--to-vault']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`${mount}/secure-proxy/services/github \\(version 1\\) already holds a different value for service github\\. Nothing was written: .*--force`),
    );
    expect(refused.stderr).not.toContain('an-older-token-value');
    expect((await read(mount, 'secure-proxy/services/weather')).status).toBe(404);
    expect(existsSync(join(scratch, 'refused', 'ops-workflow.json'))).toBe(false);

    const forced = await rewrite(mount, 'forced', ['--to-vault', '--force']);
    expect(forced.stderr).toContain(`vault: replaced (--force) the secret of service github at ${mount}/secure-proxy/services/github`);
    expect((await read(mount, 'secure-proxy/services/github')).body.data).toMatchObject({
      data: { token: value('github'), owner: 'platform-team' },
      metadata: { version: 2 },
    });
  });

  it('never overwrites a value that changed after it was read: the check-and-set write is refused', async () => {
    // Two services that (by mistake) share one secret path: both read version 0, the first write
    // makes it version 1, so the second write's check-and-set fails as it would after any change.
    const mount = `${vault.prefix}kv3`;
    await enableKv(vault, mount, 2);
    const bearer = (name: string, host: string, marker: string) => ({
      id: name,
      name,
      type: 'n8n-nodes-base.httpRequest',
      typeVersion: 4.2,
      position: [0, 0],
      parameters: {
        url: `https://${host}/v1/items`,
        sendHeaders: true,
        headerParameters: { parameters: [{ name: 'Authorization', value: `Bearer ${value(marker)}` }] },
      },
    });
    writeFileSync(
      join(corpus.dir, 'race.json'),
      JSON.stringify({
        id: 'Wrace',
        name: 'race',
        nodes: [bearer('A', 'a.example-corp.io', 'github'), bearer('B', 'b.example-corp.io', 'generic')],
        connections: {},
      }),
    );
    writeFileSync(
      join(corpus.dir, 'race.yaml'),
      'a.example-corp.io: { service: sa, secret: shared/key }\nb.example-corp.io: { service: sb, secret: shared/key }\n',
    );
    const input = { workflow: join(corpus.dir, 'race.json'), services: join(corpus.dir, 'race.yaml') };
    const result = await rewrite(mount, 'race-out', ['--to-vault'], undefined, input);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`vault: stored the secret of service sa at ${mount}/shared/key`);
    expect(result.stderr).toContain(
      `writing ${mount}/shared/key: it changed since it was read (check-and-set at version 0 refused); run again (1 path(s) above were written)`,
    );
    expect((await read(mount, 'shared/key')).body.data).toMatchObject({ data: { token: value('github') }, metadata: { version: 1 } });
    expect(existsSync(join(scratch, 'race-out'))).toBe(false);
  });

  it('stores over a path whose latest version was deleted or destroyed: the check-and-set names that version', async () => {
    // Vault answers such a path with a 404 that still carries the version; a write naming 0
    // would be refused. Neither is a conflict: nothing live is replaced.
    const mount = `${vault.prefix}kv4`;
    await enableKv(vault, mount, 2);
    const github = 'secure-proxy/services/github';
    const stripe = 'payments/stripe';
    for (const path of [github, stripe]) {
      await writeSecret(vault, mount, path, { token: 'old-value-1' }, 2);
      await writeSecret(vault, mount, path, { token: 'old-value-2' }, 2);
    }
    expect((await vaultFetch(vault, 'DELETE', `${mount}/data/${github}`)).status).toBe(204);
    expect((await vaultFetch(vault, 'POST', `${mount}/destroy/${stripe}`, { versions: [2] })).status).toBe(204);

    const result = await rewrite(mount, 'over-deleted', ['--to-vault']);
    expect(result.stderr).toContain(`vault: stored the secret of service github at ${mount}/${github}`);
    expect(result.stderr).toContain(`vault: stored the secret of service stripe at ${mount}/${stripe}`);
    expect((await read(mount, github)).body.data).toMatchObject({ data: { token: value('github') }, metadata: { version: 3 } });
    expect((await read(mount, stripe)).body.data).toMatchObject({ data: { token: value('stripe') }, metadata: { version: 3 } });
  });

  it('without --to-vault writes the workflow only, and says the secrets are not in Vault yet', async () => {
    const result = await rewrite(`${vault.prefix}unused`, 'offline', []);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/The secrets are not in Vault yet: run again with --to-vault/);
    expect(existsSync(join(scratch, 'offline', 'ops-workflow.json'))).toBe(true);
  });

  it.each([
    ['no VAULT_TOKEN', ['--to-vault'], { VAULT_ADDR: 'http://127.0.0.1:1' }, 2, /--to-vault needs VAULT_ADDR and an admin token in VAULT_TOKEN/],
    ['--force without --to-vault', ['--force'], {}, 2, /--force only applies with --to-vault/],
    ['a token Vault refuses', ['--to-vault'], 'bad-token', 1, /cannot use Vault at .*nothing was written/],
  ])('fails clearly with %s', async (_label, extra, env, code, message) => {
    const vaultEnv = env === 'bad-token' ? { VAULT_ADDR: vault.address, VAULT_TOKEN: 'hvs.not-a-real-token' } : env;
    const result = await rewrite(`${vault.prefix}kv1`, 'failing', extra, vaultEnv);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });
});
