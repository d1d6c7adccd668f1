/**
 * The proxy through time: a cached secret outlives a Vault outage up to the configured
 * staleness and then fails closed; SIGTERM lets in-flight requests finish before exit.
 */
import request from 'supertest';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { generateToken } from '../../proxy/src/auth/token-format';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { createServeFolder, expectOutputHides, startServe, type ServeFolder } from '../support/serve-process';
import { waitFor } from '../support/secrets-harness';
import { describeEmulatorOnly, sleep, sleepUntil, vaultCall } from '../support/vault-setup';

const SECRET = canary('lifecycle');
const TTL_SECONDS = 1;
/** Long enough that a request sent just past the TTL is still decided within the staleness on a busy machine. */
const MAX_STALE_SECONDS = 4;

describeEmulatorOnly('secret cache through a Vault outage', () => {
  let harness: ProxyHarness;
  let t: TestProxy;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    t = await startProxy(harness, (_base, token) => ({
      cache: { ttlSeconds: TTL_SECONDS, maxStaleSeconds: MAX_STALE_SECONDS },
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['echo', 'other'] } },
      services: {
        echo: { target: harness.upstream.url, secret: 'svc/echo', inject: { type: 'bearer' } },
        other: { target: harness.upstream.url, secret: 'svc/never-read', inject: { type: 'bearer' } },
      },
    }));
  });

  afterAll(async () => {
    await t?.proxy.stop();
    await harness?.close();
  });

  it('serves a stale secret while Vault is sealed, up to maxStaleSeconds, then fails closed', async () => {
    const auth = { authorization: `Bearer ${t.tokens.n8n.token}` };
    const cacheResults: string[] = [];
    t.proxy.events.on('secret:cache', (e) => cacheResults.push(e.result));

    // The secret was read while this request was under way: its TTL and staleness run from then.
    const readBefore = Date.now();
    await request(t.proxy.app).get('/forward/echo/a').set(auth).expect(200);
    const readAfter = Date.now();
    await vaultCall(harness.vault, 'PUT', 'sys/seal');
    try {
      // A secret never read before has nothing to fall back on.
      const cold = await request(t.proxy.app).get('/forward/other/a').set(auth);
      expect(cold.status).toBe(503);
      expect(cold.headers[ERROR_HEADER]).toBe('VAULT_UNAVAILABLE');
      expect(cold.body.error.source).toBe('vault');

      await sleepUntil(readAfter + TTL_SECONDS * 1000 + 50); // past the TTL
      harness.upstream.clear();
      await request(t.proxy.app).get('/forward/echo/b').set(auth).expect(200);
      expect(Date.now()).toBeLessThan(readBefore + (TTL_SECONDS + MAX_STALE_SECONDS) * 1000); // so decided within TTL + maxStale
      expect(harness.upstream.received[0].headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(cacheResults).toContain('stale');

      await sleepUntil(readAfter + (TTL_SECONDS + MAX_STALE_SECONDS) * 1000 + 50); // past TTL + maxStale
      const closed = await request(t.proxy.app).get('/forward/echo/c').set(auth);
      expect(closed.status).toBe(503);
      expect(closed.headers[ERROR_HEADER]).toBe('VAULT_UNAVAILABLE');
      expect(JSON.stringify(closed.body)).not.toContain(SECRET);

      const ready = await request(t.proxy.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers[ERROR_HEADER]).toBe('NOT_READY');
    } finally {
      await vaultCall(harness.vault, 'PUT', 'sys/unseal', { key: harness.vault.emulator!.unsealKey });
    }
    await request(t.proxy.app).get('/forward/echo/d').set(auth).expect(200);
    await request(t.proxy.app).get('/readyz').expect(200);
    expect(t.logs.text()).not.toContain(SECRET);
  });
});

describe('graceful shutdown of the secure-proxy process', () => {
  let harness: ProxyHarness;
  const folders: ServeFolder[] = [];

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
  });

  afterAll(async () => {
    await harness?.close();
    for (const folder of folders) folder.remove();
  });

  /** Starts `secure-proxy serve` with a config of its own (one echo service); resolves once it listens. */
  async function serve(token: ReturnType<typeof generateToken>) {
    const folder = createServeFolder(harness, 'sp-lifecycle-');
    folders.push(folder);
    return startServe(harness, folder.writeConfig({ listen: '{ host: 127.0.0.1, port: 0 }', tokenHash: token.hash }));
  }

  it('finishes in-flight requests on SIGTERM, then exits 0 and stops listening', async () => {
    const token = generateToken();
    const { proc, url } = await serve(token);
    const auth = { authorization: `Bearer ${token.token}` };

    // The upstream holds its answer far longer than a busy machine needs to deliver the signal.
    const started = harness.upstream.started();
    let answered = false;
    const inFlight = fetch(`${url}/forward/echo/slow/3000`, { headers: auth }).finally(() => (answered = true));
    await waitFor('the request to reach the upstream', () => harness.upstream.started() > started, 20_000);
    proc.child.kill('SIGTERM');
    expect(answered).toBe(false);
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { url: string }).url).toBe('/base/slow/3000');
    expect(await proc.exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(proc.output()).toContain('"msg":"proxy stopped"');
    expectOutputHides(proc, [SECRET, token.token, harness.appRole.secretId]);
  });

  it('SIGTERM under a steady concurrent load: every request sent before the signal succeeds, none after it gets a 5xx, exit 0', async () => {
    const token = generateToken();
    const { proc, url } = await serve(token);
    const auth = { authorization: `Bearer ${token.token}` };
    type Outcome = { beforeSignal: boolean; status: number | null; error: string | null };
    const outcomes: Outcome[] = [];
    let signalled = false;
    let exited = false;
    void proc.exited.then(() => (exited = true));

    // 8 keep-alive loops (fetch pools its connections); each stops at its first failure after the signal.
    const loop = async (): Promise<void> => {
      for (;;) {
        const beforeSignal = !signalled;
        try {
          const res = await fetch(`${url}/forward/echo/load`, { headers: auth });
          await res.arrayBuffer();
          outcomes.push({ beforeSignal, status: res.status, error: null });
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause;
          outcomes.push({ beforeSignal, status: null, error: cause?.code ?? String(err) });
          if (!beforeSignal) return;
        }
        if (!beforeSignal && exited) return;
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    while (outcomes.length < 80) await sleep(20);
    signalled = true;
    proc.child.kill('SIGTERM');
    await Promise.all(loops);

    expect(await proc.exited).toBe(0);
    const before = outcomes.filter((o) => o.beforeSignal);
    const after = outcomes.filter((o) => !o.beforeSignal);
    expect(before.length).toBeGreaterThanOrEqual(80);
    expect(before.filter((o) => o.status !== 200)).toEqual([]);
    // After the signal: answered ones are answers, the rest found the listener gone.
    expect(after.filter((o) => o.status !== null && o.status >= 500)).toEqual([]);
    expect(after.filter((o) => o.error !== null).length).toBeGreaterThan(0);
    expect(proc.output()).toContain('"msg":"proxy stopped"');
    expectOutputHides(proc, [SECRET, token.token, harness.appRole.secretId]);
  });
});
