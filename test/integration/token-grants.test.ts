/**
 * Changes to an existing Vault-stored client, as the built `secure-proxy token` command makes
 * them: services change only through `token grant` / `token ungrant` (`create --add` merges,
 * never replaces), every change prints the record before → after on stderr while stdout keeps
 * only the new token, `rotate` keeps the lifetime the client's tokens were issued with, and a
 * token a rotation replaced is called rotated by `token list` and by the proxy's expiry warning.
 * The records are read back from the Vault emulator (or a real Vault) through its HTTP API.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import type { CliResult } from '../support/cli';
import { expectNothingHidden } from '../support/proxy-assertions';
import { eventually } from '../support/secrets-harness';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { RECORDS_PATH, setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { createToken, revokeToken, vaultCall } from '../support/vault-setup';

const SECRET = canary('svc');

// Each test runs the built command several times; a loaded machine may take seconds per run.
jest.setTimeout(180_000);
const DAY = 24 * 3600_000;

interface StoredRecord {
  services: string[];
  tokens: Array<{ id: string; createdAt: string; expiresAt: string | null; ttlSeconds?: number | null; rotatedAt?: string; replacedBy?: string }>;
}

describe('token CLI changes to an existing client', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    const service = (name: string) => ({ target: `${harness.upstream.url}/${name}`, secret: 'svc/echo', inject: { type: 'bearer' as const } });
    store = await setUpTokenStore(harness, { services: { other: service('other'), github: service('github') } });
  });

  afterAll(async () => {
    await store?.close();
    await harness?.close();
    // Nothing the CLI printed for people, and nothing a proxy logged, holds a token, its hash or a secret.
    const hashes = store.issued.map((token) => createHash('sha256').update(token).digest('hex'));
    const logs = store.proxies.flatMap((t) => t.logs.lines).join('\n');
    expectNothingHidden([store.stderrs.join('\n'), logs], [...store.issued, ...hashes, SECRET, store.adminToken]);
    // No CLI message sends the admin to restart the proxy: records and reloads need none.
    expect(store.stderrs.join('\n')).not.toMatch(/restart/i);
  });

  const cli = (args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> => store.cli(args, env);
  const issue = (args: string[]): Promise<string> => store.issue(args);
  const idOf = (token: string): string => /^spt_([a-z0-9]+)_/.exec(token)![1];
  const recordPath = (client: string) => `${harness.mount}/data/${RECORDS_PATH}/${client}`;
  const readRecord = async (client: string): Promise<StoredRecord> => (await vaultCall(harness.vault, 'GET', recordPath(client))).data.data as StoredRecord;
  const recordVersion = async (client: string): Promise<number> =>
    (await vaultCall(harness.vault, 'GET', `${harness.mount}/metadata/${RECORDS_PATH}/${client}`)).data.current_version as number;
  const forward = (t: TestProxy, service: string, token: string) => request(t.proxy.app).get(`/forward/${service}/hi`).set('authorization', `Bearer ${token}`);

  it('create --add --services merges: the services named are granted on top, none is taken away, and the old token keeps working', async () => {
    const t = await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const first = await issue(['create', '--client', 'n8n-merge', '--services', 'echo,other']);
    expect((await forward(t, 'other', first)).status).toBe(200);

    // The script that once created the client runs again with --add and fewer services.
    const again = await cli(['create', '--client', 'n8n-merge', '--add', '--services', 'echo']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^spt_[a-z0-9]+_[A-Za-z0-9_-]+\n$/);
    store.issued.push(again.stdout.trim());
    const added = idOf(again.stdout.trim());
    expect(again.stderr).toContain('client "n8n-merge", before → after:\n  services: echo, other (unchanged)\n');
    expect(again.stderr).toContain(`  tokens:   ${idOf(first)} → ${idOf(first)}, ${added}\n`);
    expect(again.stderr).toMatch(new RegExp(`^  \\+ token ${added} added, expires \\S+$`, 'm'));
    expect(again.stderr).toContain(
      '--add never removes services: other stays granted; take one away with secure-proxy token ungrant --client n8n-merge --services <list>',
    );
    expect((await readRecord('n8n-merge')).services).toEqual(['echo', 'other']);

    const more = await cli(['create', '--client', 'n8n-merge', '--add', '--services', 'github']);
    expect(more.code).toBe(0);
    store.issued.push(more.stdout.trim());
    expect(more.stderr).toContain('  services: echo, other → echo, other, github\n');
    expect((await readRecord('n8n-merge')).services).toEqual(['echo', 'other', 'github']);
    // The running n8n never lost a service: its first token still reaches other, and now github.
    expect((await forward(t, 'other', first)).status).toBe(200);
    expect(await eventually(async () => (await forward(t, 'github', first)).status === 200)).toBe(true);
  });

  it('grant adds services and ungrant takes them away, printing before → after; every replica applies it; the tokens stay', async () => {
    const t = await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const token = await issue(['create', '--client', 'n8n-grant', '--services', 'echo']);
    const tokensBefore = (await readRecord('n8n-grant')).tokens;
    expect((await forward(t, 'github', token)).headers[ERROR_HEADER]).toBe('SERVICE_NOT_ALLOWED');

    const granted = await cli(['grant', '--client', 'n8n-grant', '--services', 'github,other']);
    expect(granted.code).toBe(0);
    expect(granted.stdout).toBe('');
    expect(granted.stderr).toContain('client "n8n-grant", before → after:\n  services: echo → echo, github, other\n');
    expect(granted.stderr).toContain(`  tokens:   ${idOf(token)} (unchanged)\n`);
    expect(await readRecord('n8n-grant')).toEqual({ services: ['echo', 'github', 'other'], tokens: tokensBefore });
    expect(await eventually(async () => (await forward(t, 'github', token)).status === 200)).toBe(true);

    const ungranted = await cli(['ungrant', '--client', 'n8n-grant', '--services', 'github']);
    expect(ungranted.code).toBe(0);
    expect(ungranted.stdout).toBe('');
    expect(ungranted.stderr).toContain('  services: echo, github, other → echo, other\n');
    expect((await readRecord('n8n-grant')).services).toEqual(['echo', 'other']);
    expect(await eventually(async () => (await forward(t, 'github', token)).headers[ERROR_HEADER] === 'SERVICE_NOT_ALLOWED')).toBe(true);
    expect((await forward(t, 'echo', token)).status).toBe(200);
  });

  it('says so when a service is already granted or not granted, and then writes nothing', async () => {
    await issue(['create', '--client', 'n8n-same', '--services', 'echo']);
    const version = await recordVersion('n8n-same');
    const already = await cli(['grant', '--client', 'n8n-same', '--services', 'echo']);
    expect(already.code).toBe(0);
    expect(already.stderr).toContain('client "n8n-same" already may use "echo"');
    expect(already.stderr).toContain('nothing changed: client "n8n-same" may use echo');
    const notGranted = await cli(['ungrant', '--client', 'n8n-same', '--services', 'github']);
    expect(notGranted.code).toBe(0);
    expect(notGranted.stderr).toContain('client "n8n-same" is not granted "github"; nothing to take away there');
    expect(notGranted.stderr).not.toContain('before → after');
    expect(await recordVersion('n8n-same')).toBe(version);
  });

  it('refuses unknown services with the closest name (exit 2), a client without a record (exit 1), and no --services', async () => {
    await issue(['create', '--client', 'n8n-refuse', '--services', 'echo']);
    const version = await recordVersion('n8n-refuse');
    const typo = await cli(['grant', '--client', 'n8n-refuse', '--services', 'gihtub']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown service "gihtub" (did you mean "github"?); the config defines: echo, github, other');
    const ungrantTypo = await cli(['ungrant', '--client', 'n8n-refuse', '--services', 'ecoh']);
    expect(ungrantTypo.code).toBe(2);
    expect(ungrantTypo.stderr).toContain('unknown service "ecoh" (did you mean "echo"?)');
    const missing = await cli(['grant', '--client', 'n8n-nobody', '--services', 'echo']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`client "n8n-nobody" has no record in ${harness.mount}/${RECORDS_PATH}; create it with "token create`);
    const none = await cli(['ungrant', '--client', 'n8n-refuse']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("required option '--services <list>' not specified");
    expect(await recordVersion('n8n-refuse')).toBe(version);
  });

  it('ungrant removes a service the config no longer defines but the record still names', async () => {
    await vaultCall(harness.vault, 'POST', recordPath('n8n-retired'), { data: { services: ['echo', 'retired'], tokens: [] } });
    const result = await cli(['ungrant', '--client', 'n8n-retired', '--services', 'retired']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('  services: echo, retired → echo\n');
    expect((await readRecord('n8n-retired')).services).toEqual(['echo']);
  });

  it('rotate keeps the lifetime the tokens were issued with, unless --ttl says otherwise', async () => {
    const first = await issue(['create', '--client', 'n8n-ttl', '--services', 'echo', '--ttl', '30d']);
    expect((await readRecord('n8n-ttl')).tokens[0]).toMatchObject({ id: idOf(first), ttlSeconds: 30 * 86400 });

    const rotated = await cli(['rotate', '--client', 'n8n-ttl', '--grace', '1h']);
    expect(rotated.code).toBe(0);
    store.issued.push(rotated.stdout.trim());
    const second = idOf(rotated.stdout.trim());
    expect(rotated.stderr).toContain(`the new token has a lifetime of 30 days, as token ${idOf(first)} was issued with (--ttl sets another)`);
    const record = await readRecord('n8n-ttl');
    const issued = record.tokens.find((token) => token.id === second)!;
    expect(Date.parse(issued.expiresAt!) - Date.parse(issued.createdAt)).toBe(30 * DAY);
    expect(issued.ttlSeconds).toBe(30 * 86400);

    const explicit = await cli(['rotate', '--client', 'n8n-ttl', '--grace', '1h', '--ttl', '2d']);
    expect(explicit.code).toBe(0);
    store.issued.push(explicit.stdout.trim());
    expect(explicit.stderr).not.toContain('the new token has a lifetime');
    const third = (await readRecord('n8n-ttl')).tokens.find((token) => token.id === idOf(explicit.stdout.trim()))!;
    expect(Date.parse(third.expiresAt!) - Date.parse(third.createdAt)).toBe(2 * DAY);
  });

  it("rotate takes the newest token's createdAt → expiresAt span from a record written before lifetimes were stored, and the default from an empty one", async () => {
    const hash = (label: string) => `sha256:${createHash('sha256').update(canary(label)).digest('hex')}`;
    const created = Date.now() - DAY;
    await vaultCall(harness.vault, 'POST', recordPath('n8n-old'), {
      data: {
        services: ['echo'],
        tokens: [
          { id: 'older1', hash: hash('a'), createdAt: new Date(created - 5 * DAY).toISOString(), expiresAt: new Date(created + 60 * DAY).toISOString() },
          { id: 'newest1', hash: hash('b'), createdAt: new Date(created).toISOString(), expiresAt: new Date(created + 10 * DAY).toISOString() },
        ],
      },
    });
    const rotated = await cli(['rotate', '--client', 'n8n-old', '--grace', '0']);
    expect(rotated.code).toBe(0);
    store.issued.push(rotated.stdout.trim());
    expect(rotated.stderr).toContain('the new token has a lifetime of 10 days, as token newest1 was issued with');
    const issued = (await readRecord('n8n-old')).tokens.find((token) => token.id === idOf(rotated.stdout.trim()))!;
    expect(Date.parse(issued.expiresAt!) - Date.parse(issued.createdAt)).toBe(10 * DAY);

    await vaultCall(harness.vault, 'POST', recordPath('n8n-empty'), { data: { services: ['echo'], tokens: [] } });
    const fresh = await cli(['rotate', '--client', 'n8n-empty']);
    expect(fresh.code).toBe(0);
    store.issued.push(fresh.stdout.trim());
    expect(fresh.stderr).toContain('the new token has a lifetime of 90 days, the default: the client had no token to take the lifetime from');
  });

  it('rotate and revoke print the tokens before → after; stdout keeps only the new token, and the revoke lines', async () => {
    const old = await issue(['create', '--client', 'n8n-diff', '--services', 'echo']);
    const oldExpiry = (await readRecord('n8n-diff')).tokens[0].expiresAt;
    const rotated = await cli(['rotate', '--client', 'n8n-diff', '--grace', '15m']);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^spt_[a-z0-9]+_[A-Za-z0-9_-]+\n$/);
    store.issued.push(rotated.stdout.trim());
    const added = idOf(rotated.stdout.trim());
    const record = await readRecord('n8n-diff');
    const cut = record.tokens.find((token) => token.id === idOf(old))!;
    expect(cut).toMatchObject({ replacedBy: added, rotatedAt: expect.any(String) });
    expect(rotated.stderr).toContain(`  tokens:   ${idOf(old)} → ${idOf(old)}, ${added}\n`);
    expect(rotated.stderr).toContain(`  ~ token ${idOf(old)} now expires ${cut.expiresAt} (was ${oldExpiry})\n`);

    const revoked = await cli(['revoke', '--id', idOf(old)]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`revoked token ${idOf(old)} of client "n8n-diff" (created ${cut.createdAt})\n`);
    expect(revoked.stderr).toContain(`  tokens:   ${idOf(old)}, ${added} → ${added}\n  - token ${idOf(old)} revoked\n`);
  });

  it('token list calls a token a rotation replaced "rotated", with the replacing id (JSON: replacedBy)', async () => {
    const old = await issue(['create', '--client', 'n8n-list', '--services', 'echo']);
    const rotated = await issue(['rotate', '--client', 'n8n-list', '--grace', '2h']);
    const text = await cli(['list', '--client', 'n8n-list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^n8n-list\\s+${idOf(old)}\\s+\\S+\\s+\\S+\\s+rotated to ${idOf(rotated)}, ends in (2 hours|1 hour|\\d+ minutes)\\s+—$`, 'm'),
    );
    expect(text.stdout).toMatch(new RegExp(`^n8n-list\\s+${idOf(rotated)}\\s+\\S+\\s+\\S+\\s+active\\s+—$`, 'm'));
    const json = JSON.parse((await cli(['list', '--client', 'n8n-list', '--json'])).stdout) as { tokens: Array<{ id: string; replacedBy: string | null }> };
    expect(json.tokens.map((token) => [token.id, token.replacedBy])).toEqual([
      [idOf(old), idOf(rotated)],
      [idOf(rotated), null],
    ]);
  });

  it("the proxy's expiry warning for a token in its grace period says it was already rotated, and by which token", async () => {
    const t = await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const old = await issue(['create', '--client', 'n8n-warn', '--services', 'echo', '--ttl', '60d']);
    const rotated = await issue(['rotate', '--client', 'n8n-warn', '--grace', '1h']);
    const line = () => t.logs.lines.find((l) => l.includes(`proxy token ${idOf(old)} of client n8n-warn`));
    expect(await eventually(() => Promise.resolve(line() !== undefined))).toBe(true);
    expect(line()).toContain(`proxy token ${idOf(old)} of client n8n-warn was already rotated (replaced by ${idOf(rotated)}); its grace period ends at`);
    expect(line()).toContain('"rotated":true');
    expect(line()).not.toContain('rotate it with');
    // The new token is 60 days away from its expiry: no warning for it.
    expect(t.logs.lines.some((l) => l.includes(`proxy token ${idOf(rotated)} `))).toBe(false);
  });

  it('a dead Vault token is refused with what to do, never "restart the proxy"', async () => {
    const dead = await createToken(harness.vault, { policies: ['default'], ttl: '1h' });
    await revokeToken(harness.vault, dead);
    const result = await cli(['list'], { VAULT_TOKEN: dead });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('set VAULT_TOKEN to your own Vault token, or check vault.auth');
    expect(result.stderr).not.toMatch(/restart/i);
    expectNothingHidden([result.stdout, result.stderr], [dead]);
  });
});
