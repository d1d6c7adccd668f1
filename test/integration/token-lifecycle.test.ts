/**
 * The Vault-backed proxy token lifecycle, end to end: `secure-proxy token create | rotate |
 * revoke | list` run as the built command with an admin's Vault token (the documented
 * token-management policy), and proxies started with `tokenStore` reading the same records
 * through their own least-privilege AppRole and the real node-vault client.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract';
import { buildConfig } from '../../proxy/src/config/load';
import { updateRecord } from '../../proxy/src/tokens-admin/update-record';
import { openAdminVault } from '../../proxy/src/tokens-admin/vault-access';
import type { TokenStoreRefreshEvent } from '../../proxy/src/observability/events';
import { cleanEnv, runCli, type CliResult } from '../support/cli';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { createAppRole, createToken, itEmulatorOnly, vaultCall, vaultFetch, writePolicy } from '../support/vault-setup';

const RECORDS = 'secure-proxy/clients';
const SECRET = canary('svc');

describe('proxy token lifecycle with records in Vault', () => {
  let harness: ProxyHarness;
  let adminToken: string;
  let readerToken: string;
  let configFile: string;
  let dir: string;
  let proxyAuth: { roleId: string; secretId: string };
  const proxies: TestProxy[] = [];
  /** Every token the CLI printed, to prove none shows up where it must not. */
  const issued: string[] = [];
  const cliOutputs: string[] = [];

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    const { vault, mount } = harness;
    // The proxy: its harness policy plus list/read on the records (docs/vault-admin.md).
    await writePolicy(vault, `${vault.prefix}-records`, {
      path: { [`${mount}/metadata/${RECORDS}/`]: { capabilities: ['list'] }, [`${mount}/data/${RECORDS}/*`]: { capabilities: ['read'] } },
    });
    proxyAuth = await createAppRole(vault, `${vault.prefix}-approle`, 'proxy', {
      policies: [`${vault.prefix}-proxy`, `${vault.prefix}-records`],
      tokenTtl: '1h',
      tokenMaxTtl: '4h',
    });
    // The admin: exactly the documented token-management policy.
    await writePolicy(vault, `${vault.prefix}-admin`, {
      path: {
        [`${mount}/data/${RECORDS}/*`]: { capabilities: ['create', 'read', 'update', 'list'] },
        [`${mount}/metadata/${RECORDS}/*`]: { capabilities: ['create', 'read', 'update', 'list'] },
      },
    });
    adminToken = await createToken(vault, { policies: [`${vault.prefix}-admin`], ttl: '1h' });
    await writePolicy(vault, `${vault.prefix}-reader`, { path: { [`${mount}/data/${RECORDS}/*`]: { capabilities: ['read'] } } });
    readerToken = await createToken(vault, { policies: [`${vault.prefix}-reader`], ttl: '1h' });

    dir = mkdtempSync(join(tmpdir(), 'sp-tokens-'));
    configFile = join(dir, 'proxy.yaml');
    // The proxy's own login refers to variables the admin's machine does not have: VAULT_TOKEN replaces it.
    writeFileSync(
      configFile,
      [
        'vault:',
        `  address: ${vault.address}`,
        `  auth: { method: approle, roleId: "\${VAULT_ROLE_ID}", secretId: "\${VAULT_SECRET_ID}", mount: ${vault.prefix}-approle }`,
        `  kvMount: ${mount}`,
        'tokenStore: {}',
        'services:',
        `  echo: { target: "${harness.upstream.url}/base", secret: svc/echo, inject: { type: bearer } }`,
        `  other: { target: "${harness.upstream.url}/other", secret: svc/echo, inject: { type: bearer } }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    for (const t of proxies) await t.proxy.stop();
    await harness?.close();
    // Nothing the CLI printed for people, and nothing any proxy logged, holds a token or its hash.
    const hashes = issued.map((token) => `sha256:${createHash('sha256').update(token).digest('hex')}`);
    const logs = proxies.flatMap((t) => t.logs.lines).join('\n');
    for (const secret of [...issued, ...hashes.map((h) => h.slice('sha256:'.length)), SECRET]) {
      expect(cliOutputs.join('\n')).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });

  async function cli(args: string[], token: string = adminToken): Promise<CliResult> {
    const result = await runCli(['token', ...args, '--config', configFile], { env: cleanEnv({ VAULT_TOKEN: token }) });
    cliOutputs.push(result.stderr);
    return result;
  }

  /** Runs an issuing command and returns the token it printed (alone on stdout). */
  async function issue(args: string[]): Promise<string> {
    const result = await cli(args);
    expect(result.stderr).not.toMatch(/^secure-proxy:/m);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^spt_[a-z0-9]+_[A-Za-z0-9_-]+\n$/);
    const token = result.stdout.trim();
    issued.push(token);
    return token;
  }

  async function replica(tokenStore: { refreshSeconds?: number; missRefreshIntervalMs?: number }, authThrottle = { maxFailures: 20, windowSeconds: 60 }): Promise<TestProxy> {
    const t = await startProxy(harness, (base) => ({
      vault: { ...base.vault, auth: { method: 'approle', roleId: proxyAuth.roleId, secretId: proxyAuth.secretId, mount: `${harness.vault.prefix}-approle` } },
      tokenStore,
      authThrottle,
      services: {
        echo: { target: `${harness.upstream.url}/base`, secret: 'svc/echo', inject: { type: 'bearer' } },
        other: { target: `${harness.upstream.url}/other`, secret: 'svc/echo', inject: { type: 'bearer' } },
      },
    }));
    proxies.push(t);
    return t;
  }

  const whoami = (t: TestProxy, token: string) => request(t.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${token}`);

  async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check()) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('create: a running proxy accepts the new token at once (re-read on an unknown token), with its expiry and services', async () => {
    const t = await replica({ refreshSeconds: 3600, missRefreshIntervalMs: 100 });
    const token = await issue(['create', '--client', 'n8n-prod', '--services', 'echo', '--ttl', '30d']);
    const res = await whoami(t, token);
    expect(res.status).toBe(200);
    expect(res.body.clientId).toBe('n8n-prod');
    expect(res.body.services).toEqual(['echo']);
    const expires = Date.parse(res.body.expiresAt);
    expect(Math.abs(expires - (Date.now() + 30 * 86400_000))).toBeLessThan(60_000);
    const forwarded = await request(t.proxy.app).get('/forward/echo/hi').set('authorization', `Bearer ${token}`);
    expect(forwarded.status).toBe(200);
    const refused = await request(t.proxy.app).get('/forward/other/hi').set('authorization', `Bearer ${token}`);
    expect(refused.headers[ERROR_HEADER]).toBe('SERVICE_NOT_ALLOWED');
  });

  it('create refuses an existing client without --add, unknown services, and bad durations, with exit 2', async () => {
    const exists = await cli(['create', '--client', 'n8n-prod', '--services', 'echo']);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toContain('client "n8n-prod" already has a record; use --add');
    const unknown = await cli(['create', '--client', 'n8n-x', '--services', 'echo,github,jira']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown services "github", "jira"; the config defines: echo, other');
    const ttl = await cli(['create', '--client', 'n8n-x', '--services', 'echo', '--ttl', '90']);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('--ttl must be a duration with a unit such as 15m, 12h, 90d or 1y (or 0), got "90"');
    expect([exists, unknown, ttl].every((r) => r.stdout === '')).toBe(true);
  });

  it('says Vault refused and which path the Vault token may not write (exit 1)', async () => {
    const result = await cli(['create', '--client', 'n8n-ro', '--services', 'echo'], readerToken);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Vault refused: writing ${harness.mount}/data/${RECORDS}/n8n-ro: Vault denied it (403).`);
    expect(result.stderr).toContain(`Your Vault token may not write ${harness.mount}/data/${RECORDS}/n8n-ro; see docs/vault-admin.md`);
  });

  it('rotate: old and new tokens both work during the grace, then the old one is PROXY_TOKEN_EXPIRED', async () => {
    const t = await replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const old = await issue(['create', '--client', 'n8n-rot', '--services', 'echo']);
    const rotated = await issue(['rotate', '--client', 'n8n-rot', '--grace', '2s']);
    expect((await whoami(t, rotated)).status).toBe(200);
    const during = await whoami(t, old);
    expect(during.status).toBe(200);
    expect(Date.parse(during.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 2000);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const after = await whoami(t, old);
    expect(after.status).toBe(401);
    expect(after.headers[ERROR_HEADER]).toBe('PROXY_TOKEN_EXPIRED');
    expect(after.body.error.source).toBe('proxy');
    expect((await whoami(t, rotated)).status).toBe(200);
  });

  it('revoke: two replicas sharing the Vault refuse the token within refreshSeconds (PROXY_TOKEN_INVALID)', async () => {
    const a = await replica({ refreshSeconds: 1 });
    const b = await replica({ refreshSeconds: 1 });
    const token = await issue(['create', '--client', 'n8n-rev', '--services', 'echo']);
    const keep = await issue(['create', '--client', 'n8n-rev', '--add']);
    expect((await whoami(a, token)).status).toBe(200);
    expect((await whoami(b, token)).status).toBe(200);
    const id = /^spt_([a-z0-9]+)_/.exec(token)![1];
    const revoked = await cli(['revoke', '--id', id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked token ${id} of client "n8n-rev"`));
    // A revoked token is still a hit in the old index: only the scheduled re-read removes it.
    const gone = async (t: TestProxy) => (await whoami(t, token)).headers[ERROR_HEADER] === 'PROXY_TOKEN_INVALID';
    expect(await eventually(async () => (await gone(a)) && (await gone(b)), 3000)).toBe(true);
    const res = await whoami(a, token);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'PROXY_TOKEN_INVALID', source: 'proxy' });
    expect((await whoami(b, keep)).status).toBe(200);
  });

  it('list: ids, times and states of every token, never a token or hash; --json for scripts', async () => {
    const text = await cli(['list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^CLIENT\s+ID\s+CREATED\s+EXPIRES\s+STATE\s+LAST USED$/m);
    expect(text.stdout).toMatch(/^n8n-rot\s+[a-z0-9]+\s+\S+\s+\S+\s+expired\s+—$/m);
    const json = await cli(['list', '--client', 'n8n-prod', '--json']);
    const body = JSON.parse(json.stdout) as { tokens: Array<Record<string, unknown>>; problems: unknown[] };
    expect(body.problems).toEqual([]);
    expect(body.tokens).toEqual([{ client: 'n8n-prod', id: expect.stringMatching(/^[a-z0-9]+$/), createdAt: expect.any(String), expiresAt: expect.any(String), state: 'active', lastUsed: null }]);
    for (const token of issued) {
      expect(text.stdout + json.stdout).not.toContain(token);
      expect(text.stdout + json.stdout).not.toContain(createHash('sha256').update(token).digest('hex'));
    }
  });

  it('two rotations at once lose no token (check-and-set)', async () => {
    await issue(['create', '--client', 'n8n-cas', '--services', 'echo']);
    const [first, second] = await Promise.all([issue(['rotate', '--client', 'n8n-cas', '--grace', '1h']), issue(['rotate', '--client', 'n8n-cas', '--grace', '1h'])]);
    const record = await vaultCall(harness.vault, 'GET', `${harness.mount}/data/${RECORDS}/n8n-cas`);
    const ids = (record.data.data.tokens as Array<{ id: string }>).map((t) => t.id);
    expect(ids).toHaveLength(3);
    for (const token of [first, second]) expect(ids).toContain(/^spt_([a-z0-9]+)_/.exec(token)![1]);
    const t = await replica({ refreshSeconds: 3600 });
    expect((await whoami(t, first)).status).toBe(200);
    expect((await whoami(t, second)).status).toBe(200);
  });

  it('a write that lost a check-and-set race is applied again to the newer record, through the real node-vault client', async () => {
    const config = buildConfig(
      { vault: { address: harness.vault.address, auth: { method: 'token', token: adminToken }, kvMount: harness.mount }, tokenStore: {}, services: {} },
      {},
      'test',
    );
    const admin = await openAdminVault(config);
    try {
      await vaultCall(harness.vault, 'POST', `${harness.mount}/data/${RECORDS}/n8n-race`, { data: { services: ['echo'], tokens: [] } });
      let reads = 0;
      const racing = {
        ...admin.store,
        read: async (client: string) => {
          const stored = await admin.store.read(client);
          // Another admin writes right after our first read.
          if (++reads === 1) await admin.store.write(client, { services: ['echo'], tokens: [], other: 'writer' }, stored.casVersion);
          return stored;
        },
      };
      const outcome = await updateRecord(racing, 'n8n-race', (current) => ({ record: { ...current!, services: ['echo', 'other'] }, result: current }));
      expect(reads).toBe(2);
      expect(outcome.checkedAndSet).toBe(true);
      expect(outcome.result).toMatchObject({ other: 'writer' });
      const stored = await vaultCall(harness.vault, 'GET', `${harness.mount}/data/${RECORDS}/n8n-race`);
      expect(stored.data.data).toEqual({ services: ['echo', 'other'], tokens: [], other: 'writer' });
      expect(stored.data.metadata.version).toBe(3);
    } finally {
      await admin.close();
    }
  });

  it('--out writes the token to a 0600 file only, and refuses a symlink before touching Vault', async () => {
    const out = join(dir, 'token.txt');
    writeFileSync(out, 'previous\n', { mode: 0o644 });
    const result = await cli(['rotate', '--client', 'n8n-prod', '--grace', '1h', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const token = readFileSync(out, 'utf8').trim();
    issued.push(token);
    expect(token).toMatch(/^spt_/);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const link = join(dir, 'link.txt');
    symlinkSync(out, link);
    const before = await vaultCall(harness.vault, 'GET', `${harness.mount}/metadata/${RECORDS}/n8n-prod`);
    const refused = await cli(['rotate', '--client', 'n8n-prod', '--out', link]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--out ${link} is a symbolic link; refusing to write a token through it`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(out, 'utf8').trim()).toBe(token);
    const after = await vaultCall(harness.vault, 'GET', `${harness.mount}/metadata/${RECORDS}/n8n-prod`);
    expect(after.data.current_version).toBe(before.data.current_version);
  });

  it('a flood of 200 unknown tokens costs Vault at most one re-read per missRefreshIntervalMs', async () => {
    const t = await replica({ refreshSeconds: 3600, missRefreshIntervalMs: 60_000 }, { maxFailures: 0, windowSeconds: 60 });
    const lists: string[] = [];
    t.proxy.events.on('vault:call', (e) => e.operation === 'list' && lists.push(e.outcome));
    const refreshes: TokenStoreRefreshEvent[] = [];
    t.proxy.events.on('tokens:refresh', (e) => refreshes.push(e));
    const statuses = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => (await whoami(t, `spt_bad${i}_${'x'.repeat(43)}`)).headers[ERROR_HEADER]),
    );
    expect(new Set(statuses)).toEqual(new Set(['PROXY_TOKEN_INVALID']));
    // The read at start counts as the interval's re-read, so none of the 200 misses reaches Vault.
    expect(lists).toEqual([]);
    expect(refreshes).toEqual([]);
  });

  it('rejects malformed or hand-written records for that client only, logging the client once without hashes', async () => {
    const t = await replica({ refreshSeconds: 3600, missRefreshIntervalMs: 100 });
    const bad = { services: ['echo'], tokens: [{ id: 'abc', hash: 'sha256:NOT-A-HASH-canary', createdAt: 'yesterday', expiresAt: null }] };
    await vaultCall(harness.vault, 'POST', `${harness.mount}/data/${RECORDS}/n8n-bad`, { data: bad });
    const good = await issue(['create', '--client', 'n8n-good', '--services', 'echo,other']);
    expect((await whoami(t, good)).status).toBe(200);
    const warnings = t.logs.lines.filter((line) => line.includes('n8n-bad'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('the token record is malformed, so none of its tokens is accepted');
    expect(warnings[0]).not.toContain('NOT-A-HASH-canary');
  });

  itEmulatorOnly('Vault down: known tokens keep working on the last good records', async () => {
    const t = await replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const token = await issue(['create', '--client', 'n8n-down', '--services', 'echo']);
    expect((await whoami(t, token)).status).toBe(200);
    const failed = new Promise<TokenStoreRefreshEvent>((resolve) => t.proxy.events.on('tokens:refresh', (e) => e.outcome === 'failed' && resolve(e)));
    await vaultCall(harness.vault, 'PUT', 'sys/seal');
    try {
      const event = await failed;
      expect(event.reason).toMatch(/503/);
      expect((await whoami(t, token)).status).toBe(200);
      expect(t.logs.lines.join('\n')).toContain('cannot read the token records from Vault; tokens known from the last successful read keep working');
    } finally {
      await vaultFetch(harness.vault, 'PUT', 'sys/unseal', { key: harness.vault.emulator!.unsealKey });
    }
  });
});
