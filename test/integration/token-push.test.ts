/**
 * `secure-proxy token create | rotate --n8n-url …` when n8n does not take the token: a bad API
 * key (401), a credential that does not exist (404) or is of another type, and an n8n that
 * never answers. Run as the built command against the Vault emulator and a loopback fake
 * of n8n's public API (these failures are hard to make a real n8n produce on demand; the
 * successful push runs against a real n8n in test/e2e/token-push.test.ts).
 *
 * Before Vault changes, a refusal leaves everything as it was; after, the new token is
 * valid, and the command says so and where the token is (stdout only without --out).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { n8nTargetOf, isLoopbackHost } from '../../proxy/src/admin/n8n/target';
import { startFakeN8n, type FakeN8n } from '../support/fake-n8n';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { RECORDS_PATH, setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { vaultCall } from '../support/vault-setup';

const API_KEY = canary('n8n-api-key');
const CREDENTIAL_ID = 'spCred0000000001';
const credential = (type = 'secureProxyApi') => ({ status: 200, body: { id: CREDENTIAL_ID, name: 'Secure Proxy (prod)', type } });

describe('pushing a new proxy token into n8n: refusals', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  let n8n: FakeN8n;
  let proxy: TestProxy;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: canary('svc') } });
    store = await setUpTokenStore(harness);
    n8n = await startFakeN8n();
    proxy = await store.replica({ refreshSeconds: 3600, missRefreshIntervalMs: 100 });
    await store.issue(['create', '--client', 'n8n-prod', '--services', 'echo']);
  });

  beforeEach(() => {
    n8n.requests.length = 0;
    n8n.routes.get = undefined;
    n8n.routes.list = undefined;
    n8n.routes.patch = undefined;
  });

  afterAll(async () => {
    await store?.close();
    await n8n?.close();
    await harness?.close();
    // Neither the API key nor any token is in anything meant for people, nor in the proxy's log.
    expectNothingHidden([...store.stderrs, ...store.proxies.flatMap((t) => t.logs.lines)], [API_KEY, ...store.issued]);
  });

  const push = (command: 'create' | 'rotate', extra: string[] = [], env: NodeJS.ProcessEnv = { N8N_API_KEY: API_KEY }) =>
    store.cli(
      [
        command,
        '--client',
        'n8n-prod',
        ...(command === 'create' ? ['--add'] : ['--grace', '1h']),
        '--n8n-url',
        n8n.url,
        '--n8n-credential-id',
        CREDENTIAL_ID,
        ...extra,
      ],
      env,
    );
  const recordVersion = async () =>
    (await vaultCall(harness.vault, 'GET', `${harness.mount}/metadata/${RECORDS_PATH}/n8n-prod`)).data.current_version as number;

  it('401 (bad API key): n8n refused, exit 1, nothing issued and Vault untouched', async () => {
    n8n.routes.get = () => ({ status: 401, body: { message: 'unauthorized' } });
    const before = await recordVersion();
    const result = await push('rotate');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `secure-proxy: n8n refused reading credential ${CREDENTIAL_ID}: 401 unauthorized; check the API key (N8N_API_KEY or --n8n-api-key-file); nothing was changed: no token was issued and Vault is untouched`,
    );
    expect(await recordVersion()).toBe(before);
    expect(n8n.requests.map((r) => `${r.method} ${r.url} ${r.apiKey === API_KEY}`)).toEqual([`GET /api/v1/credentials/${CREDENTIAL_ID} true`]);
  });

  it('404: a credential the key may not read alone is looked up in the list, and a missing one stops the command', async () => {
    n8n.routes.get = () => ({ status: 403, body: { message: 'Forbidden' } });
    n8n.routes.list = () => ({ status: 200, body: { data: [{ id: 'otherCredential01', type: 'secureProxyApi' }], nextCursor: null } });
    const before = await recordVersion();
    const result = await push('create');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`n8n has no credential with id ${CREDENTIAL_ID} (looked through its credential list); check --n8n-credential-id`);
    expect(await recordVersion()).toBe(before);
    expect(n8n.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('refuses to write a proxy token into a credential of another type', async () => {
    n8n.routes.get = () => credential('httpHeaderAuth');
    const result = await push('rotate');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `credential ${CREDENTIAL_ID} in n8n is of type "httpHeaderAuth", not "secureProxyApi" (Secure Proxy API); refusing to put a proxy token into it`,
    );
    expect(n8n.requests.some((r) => r.method === 'PATCH')).toBe(false);
  });

  it('n8n never answers the update: exit 1, the token is printed (no --out), valid, and the message says so', async () => {
    n8n.routes.get = () => credential();
    n8n.routes.patch = () => 'hang';
    // Long enough for the answered GET before it on a busy machine.
    const result = await push('rotate', ['--n8n-timeout', '3s']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^spt_[a-z0-9]+_[A-Za-z0-9_-]+\n$/);
    const token = result.stdout.trim();
    store.issued.push(token);
    const id = /^spt_([a-z0-9]+)_/.exec(token)![1];
    expect(result.stderr).toContain(`secure-proxy: n8n at ${n8n.url} did not answer PATCH /credentials/${CREDENTIAL_ID} within 3000 ms.`);
    expect(result.stderr).toMatch(
      new RegExp(
        `The new token ${id} is valid \\(expires \\S+\\) and was written to standard output; put it into n8n's "Secure Proxy API" credential by hand before the older tokens stop working at \\S+`,
      ),
    );
    expect(n8n.requests.find((r) => r.method === 'PATCH')?.body).toBe(JSON.stringify({ data: { token }, isPartialData: true }));
    const whoami = await request(proxy.proxy.app).get('/v1/whoami').set('authorization', `Bearer ${token}`);
    expect(whoami.status).toBe(200);
    expect(whoami.body.tokenId).toBe(id);
  });

  it('n8n fails the update with --out: the token is in the file only, stdout stays empty', async () => {
    n8n.routes.get = () => credential();
    n8n.routes.patch = (_id, body) => ({ status: 500, body: { message: `boom while saving ${JSON.stringify(body)}` } });
    const out = join(store.dir, 'pushed-token.txt');
    const result = await push('create', ['--out', out]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const token = readFileSync(out, 'utf8').trim();
    store.issued.push(token);
    expect(token).toMatch(/^spt_/);
    // n8n's message is quoted, with the token it echoed blanked out.
    expect(result.stderr).toContain(
      `n8n refused updating credential ${CREDENTIAL_ID}: 500 boom while saving {"data":{"token":"[REDACTED]"},"isPartialData":true}.`,
    );
    expect(result.stderr).toContain(`and was written to ${out}; put it into n8n's "Secure Proxy API" credential by hand`);
  });

  it('bad usage is exit 2 before Vault or n8n is asked: no key, a non-http URL, a missing credential id', async () => {
    const noKey = await push('rotate', [], {});
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--n8n-url needs an n8n API key: set N8N_API_KEY or pass --n8n-api-key-file FILE (never on the command line)');
    const ftp = await store.cli(['rotate', '--client', 'n8n-prod', '--n8n-url', 'ftp://127.0.0.1/', '--n8n-credential-id', 'x'], { N8N_API_KEY: API_KEY });
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('--n8n-url must use http or https, got "ftp:"');
    const noId = await store.cli(['rotate', '--client', 'n8n-prod', '--n8n-url', n8n.url], { N8N_API_KEY: API_KEY });
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('pushing the token into n8n needs both --n8n-url URL and --n8n-credential-id ID');
    expect(n8n.requests).toEqual([]);
    const help = await store.cli(['rotate', '--help']);
    const helpText = help.stdout.replace(/\s+/g, ' ');
    expect(helpText).toContain(
      'without it the key comes from the environment variable N8N_API_KEY. There is no flag for the key itself: ps and shell history would show it',
    );
  });
});

describe('n8n target flags', () => {
  let dir: string | undefined;

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the API key from --n8n-api-key-file before N8N_API_KEY, and warns about plain http across a network', async () => {
    const warnings: string[] = [];
    // No token store here (its folder is gone once the suite above ends), so a folder of its own.
    dir = mkdtempSync(join(tmpdir(), 'sp-n8n-key-'));
    const file = join(dir, 'key');
    writeFileSync(file, 'from-file\n');
    const target = await n8nTargetOf(
      { n8nUrl: 'http://n8n.internal:5678/n8n/', n8nCredentialId: 'abc', n8nApiKeyFile: file },
      { N8N_API_KEY: 'from-env' },
      5000,
      (w) => warnings.push(w),
    );
    expect(target).toEqual({ baseUrl: 'http://n8n.internal:5678/n8n', credentialId: 'abc', apiKey: 'from-file', timeoutMs: 5000 });
    expect(warnings).toEqual([
      'warning: --n8n-url is plain http to n8n.internal:5678: the API key and the new proxy token cross the network unencrypted; use https',
    ]);
    await n8nTargetOf({ n8nUrl: 'http://127.0.0.1:5678', n8nCredentialId: 'abc' }, { N8N_API_KEY: 'k' }, 5000, (w) => warnings.push(w));
    await n8nTargetOf({ n8nUrl: 'https://n8n.example.com', n8nCredentialId: 'abc' }, { N8N_API_KEY: 'k' }, 5000, (w) => warnings.push(w));
    expect(warnings).toHaveLength(1);
    expect(await n8nTargetOf({}, { N8N_API_KEY: 'k' }, 5000, () => undefined)).toBeNull();
  });

  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.9.9.9', true],
    ['[::1]', true],
    ['n8n.localhost', true],
    ['10.0.0.5', false],
    ['n8n.internal', false],
    ['[::ffff:10.0.0.1]', false],
  ])('isLoopbackHost(%s) is %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
