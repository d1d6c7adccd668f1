/**
 * The Vault-backed proxy token lifecycle, end to end: `secure-proxy token create | rotate |
 * revoke | list` run as the built command with an admin's Vault token (the documented
 * token-management policy), and proxies started with `tokenStore` reading the same records
 * through their own least-privilege AppRole and the real node-vault client.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { buildConfig } from '../../proxy/src/config/load';
import { revokeTokenById } from '../../proxy/src/admin/tokens/commands';
import { updateRecord } from '../../proxy/src/admin/tokens/update-record';
import { openAdminVault, type AdminVault } from '../../proxy/src/admin/tokens/vault-access';
import type { TokenStoreRefreshEvent } from '../../proxy/src/observability/events';
import type { CliResult } from '../support/cli';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { eventually } from '../support/secrets-harness';
import { RECORDS_PATH, setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { createToken, itEmulatorOnly, vaultCall, vaultFetch, writePolicy } from '../support/vault-setup';

const SECRET = canary('svc');

describe('proxy token lifecycle with records in Vault', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  let readerToken: string;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    // The config file the CLI reads logs the proxy in with AppRole from ${VAULT_*} variables the
    // admin's machine does not have: VAULT_TOKEN replaces that login (see setUpTokenStore).
    store = await setUpTokenStore(harness, {
      services: { other: { target: `${harness.upstream.url}/other`, secret: 'svc/echo', inject: { type: 'bearer' } } },
    });
    const { vault, mount } = harness;
    await writePolicy(vault, `${vault.prefix}-reader`, { path: { [`${mount}/data/${RECORDS_PATH}/*`]: { capabilities: ['read'] } } });
    readerToken = await createToken(vault, { policies: [`${vault.prefix}-reader`], ttl: '1h' });
  });

  afterAll(async () => {
    await store?.close();
    await harness?.close();
    // Nothing the CLI printed for people, and nothing any proxy logged, holds a token or its hash.
    const hashes = store.issued.map((token) => createHash('sha256').update(token).digest('hex'));
    const logs = store.proxies.flatMap((t) => t.logs.lines).join('\n');
    expectNothingHidden([store.stderrs.join('\n'), logs], [...store.issued, ...hashes, SECRET]);
  });

  const cli = (args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> => store.cli(args, env);
  const issue = (args: string[]): Promise<string> => store.issue(args);
  /** A replica serving echo and other; its throttle lets the tests that send unknown tokens on purpose through. */
  const replica = (
    tokenStore: { refreshSeconds?: number; missRefreshIntervalMs?: number },
    authThrottle = { maxFailures: 20, windowSeconds: 60 },
  ): Promise<TestProxy> => store.replica(tokenStore, { authThrottle });

  /** The record store the token commands use, opened in-process with the admin's Vault token. */
  function openAdmin(): Promise<AdminVault> {
    const config = buildConfig(
      { vault: { address: harness.vault.address, auth: { method: 'token', token: store.adminToken }, kvMount: harness.mount }, tokenStore: {}, services: {} },
      {},
      'test',
    );
    return openAdminVault(config);
  }

  const whoami = (t: TestProxy, token: string) => request(t.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${token}`);

  /** Counts the replica's successful scheduled re-reads of the records from now on. */
  function scheduledRereads(t: TestProxy): () => number {
    let n = 0;
    t.proxy.events.on('tokens:refresh', (e) => {
      if (e.trigger === 'schedule' && e.outcome === 'ok') n += 1;
    });
    return () => n;
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
    const result = await cli(['create', '--client', 'n8n-ro', '--services', 'echo'], { VAULT_TOKEN: readerToken });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Vault refused: writing ${harness.mount}/data/${RECORDS_PATH}/n8n-ro: Vault denied it (403).`);
    expect(result.stderr).toContain(`Your Vault token may not write ${harness.mount}/data/${RECORDS_PATH}/n8n-ro; see docs/vault-admin.md`);
  });

  it('rotate: old and new tokens both work during the grace, then the old one is PROXY_TOKEN_EXPIRED', async () => {
    const t = await replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const old = await issue(['create', '--client', 'n8n-rot', '--services', 'echo']);
    // A grace that outlasts the command's exit and two requests on a busy machine.
    const rotated = await issue(['rotate', '--client', 'n8n-rot', '--grace', '6s']);
    const graceEnd = store.expiryPrintedFor(old);
    expect((await whoami(t, rotated)).status).toBe(200);
    const during = await whoami(t, old);
    expect(during.status).toBe(200);
    expect(Date.parse(during.body.expiresAt)).toBe(graceEnd);
    // Sent after the expiry, the old token can only be refused.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, graceEnd - Date.now() + 1)));
    const after = await whoami(t, old);
    expectProxyError(after, 401, 'PROXY_TOKEN_EXPIRED', 'proxy');
    expect((await whoami(t, rotated)).status).toBe(200);
  });

  it('revoke: two replicas sharing the Vault refuse the token from their next scheduled re-read on (PROXY_TOKEN_INVALID)', async () => {
    // A short miss interval: with the default (1 s, counted from a replica's first read) the
    // first request with the new token could come inside it and be refused before a re-read.
    const a = await replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const b = await replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 });
    const token = await issue(['create', '--client', 'n8n-rev', '--services', 'echo']);
    const keep = await issue(['create', '--client', 'n8n-rev', '--add']);
    expect((await whoami(a, token)).status).toBe(200);
    expect((await whoami(b, token)).status).toBe(200);
    const id = /^spt_([a-z0-9]+)_/.exec(token)![1];
    const revoked = await cli(['revoke', '--id', id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked token ${id} of client "n8n-rev"`));
    // A revoked token is still a hit in the old index: only the scheduled re-read removes it. The
    // second one to finish after the revoke surely started after it (a CPU stall only delays it).
    const rereads = [a, b].map(scheduledRereads);
    expect(await eventually(async () => rereads.every((n) => n() >= 2), 20_000)).toBe(true);
    expectProxyError(await whoami(a, token), 401, 'PROXY_TOKEN_INVALID', 'proxy');
    expectProxyError(await whoami(b, token), 401, 'PROXY_TOKEN_INVALID', 'proxy');
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
    expect(body.tokens).toEqual([
      {
        client: 'n8n-prod',
        id: expect.stringMatching(/^[a-z0-9]+$/),
        createdAt: expect.any(String),
        expiresAt: expect.any(String),
        state: 'active',
        replacedBy: null,
        lastUsed: null,
      },
    ]);
    for (const token of store.issued) {
      expect(text.stdout + json.stdout).not.toContain(token);
      expect(text.stdout + json.stdout).not.toContain(createHash('sha256').update(token).digest('hex'));
    }
  });

  it('two rotations at once lose no token (check-and-set)', async () => {
    await issue(['create', '--client', 'n8n-cas', '--services', 'echo']);
    const [first, second] = await Promise.all([
      issue(['rotate', '--client', 'n8n-cas', '--grace', '1h']),
      issue(['rotate', '--client', 'n8n-cas', '--grace', '1h']),
    ]);
    const record = await vaultCall(harness.vault, 'GET', `${harness.mount}/data/${RECORDS_PATH}/n8n-cas`);
    const ids = (record.data.data.tokens as Array<{ id: string }>).map((t) => t.id);
    expect(ids).toHaveLength(3);
    for (const token of [first, second]) expect(ids).toContain(/^spt_([a-z0-9]+)_/.exec(token)![1]);
    const t = await replica({ refreshSeconds: 3600 });
    expect((await whoami(t, first)).status).toBe(200);
    expect((await whoami(t, second)).status).toBe(200);
  });

  it('a write that lost a check-and-set race is applied again to the newer record, through the real node-vault client', async () => {
    const admin = await openAdmin();
    try {
      await vaultCall(harness.vault, 'POST', `${harness.mount}/data/${RECORDS_PATH}/n8n-race`, { data: { services: ['echo'], tokens: [] } });
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
      const stored = await vaultCall(harness.vault, 'GET', `${harness.mount}/data/${RECORDS_PATH}/n8n-race`);
      expect(stored.data.data).toEqual({ services: ['echo', 'other'], tokens: [], other: 'writer' });
      expect(stored.data.metadata.version).toBe(3);
    } finally {
      await admin.close();
    }
  });

  it('revoke --id writes nothing when the record is deleted between the search and the update', async () => {
    const admin = await openAdmin();
    try {
      const recordPath = `${harness.mount}/data/${RECORDS_PATH}/n8n-vanish`;
      const id = 'vanish1';
      const hash = `sha256:${createHash('sha256').update(canary('vanish')).digest('hex')}`;
      await vaultCall(harness.vault, 'POST', recordPath, {
        data: { services: ['echo'], tokens: [{ id, hash, createdAt: '2026-01-01T00:00:00Z', expiresAt: null }] },
      });
      const vanishing = {
        ...admin.store,
        read: async (client: string) => {
          const stored = await admin.store.read(client);
          // Another admin deletes the record right after the search found the token in it.
          if (client === 'n8n-vanish' && stored.raw !== null) await vaultCall(harness.vault, 'DELETE', recordPath);
          return stored;
        },
      };
      await expect(revokeTokenById(vanishing, id)).rejects.toMatchObject({
        name: 'TokenAdminFailure',
        message: `no token with id "${id}" in ${harness.mount}/${RECORDS_PATH}`,
      });
      // Still deleted at version 1: no empty record was written in its place.
      const after = await vaultFetch(harness.vault, 'GET', recordPath);
      expect(after.status).toBe(404);
      expect(after.body.data.metadata).toMatchObject({ version: 1 });
    } finally {
      await admin.close();
    }
  });

  it('--out writes the token to a 0600 file only, and refuses a symlink before touching Vault', async () => {
    const out = join(store.dir, 'token.txt');
    writeFileSync(out, 'previous\n', { mode: 0o644 });
    const result = await cli(['rotate', '--client', 'n8n-prod', '--grace', '1h', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const token = readFileSync(out, 'utf8').trim();
    store.issued.push(token);
    expect(token).toMatch(/^spt_/);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const link = join(store.dir, 'link.txt');
    symlinkSync(out, link);
    const before = await vaultCall(harness.vault, 'GET', `${harness.mount}/metadata/${RECORDS_PATH}/n8n-prod`);
    const refused = await cli(['rotate', '--client', 'n8n-prod', '--out', link]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--out ${link} is a symbolic link; refusing to write a token through it`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(out, 'utf8').trim()).toBe(token);
    const after = await vaultCall(harness.vault, 'GET', `${harness.mount}/metadata/${RECORDS_PATH}/n8n-prod`);
    expect(after.data.current_version).toBe(before.data.current_version);
  });

  it('a flood of 200 unknown tokens costs Vault at most one re-read per missRefreshIntervalMs', async () => {
    const t = await replica({ refreshSeconds: 3600, missRefreshIntervalMs: 60_000 }, { maxFailures: 0, windowSeconds: 60 });
    const lists: string[] = [];
    t.proxy.events.on('vault:call', (e) => e.operation === 'list' && lists.push(e.outcome));
    const refreshes: TokenStoreRefreshEvent[] = [];
    t.proxy.events.on('tokens:refresh', (e) => refreshes.push(e));
    const statuses = await Promise.all(Array.from({ length: 200 }, async (_, i) => (await whoami(t, `spt_bad${i}_${'x'.repeat(43)}`)).headers[ERROR_HEADER]));
    expect(new Set(statuses)).toEqual(new Set(['PROXY_TOKEN_INVALID']));
    // The read at start counts as the interval's re-read, so none of the 200 misses reaches Vault.
    expect(lists).toEqual([]);
    expect(refreshes).toEqual([]);
  });

  it('rejects malformed or hand-written records for that client only, logging the client once without hashes', async () => {
    const t = await replica({ refreshSeconds: 3600, missRefreshIntervalMs: 100 });
    const bad = { services: ['echo'], tokens: [{ id: 'abc', hash: 'sha256:NOT-A-HASH-canary', createdAt: 'yesterday', expiresAt: null }] };
    await vaultCall(harness.vault, 'POST', `${harness.mount}/data/${RECORDS_PATH}/n8n-bad`, { data: bad });
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
