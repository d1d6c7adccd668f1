/**
 * Rotation under load: two proxy replicas share the token records in Vault (emulator, real
 * node-vault client) while six keep-alive loops send requests without pause. The built
 * `secure-proxy token rotate --grace 3s` runs in the middle of it.
 *
 * - Loops switch to the new token the moment the command returns (n8n got the new
 *   credential): not one request fails during the whole run, every answer comes from the
 *   upstream with the Vault secret injected, and after the grace the old token is refused
 *   with PROXY_TOKEN_EXPIRED.
 * - Some loops keep the old token until past the grace (n8n instances that update late):
 *   their requests succeed until the grace ends, then get PROXY_TOKEN_EXPIRED; nothing else.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { sleep } from '../support/vault-setup';

const SECRET = canary('load-upstream');
const LOOPS = 6;
const GRACE_MS = 3000;
/** Requests sent this close to the grace end may land on either side of it. */
const EDGE_MS = 250;

interface Outcome {
  sentAt: number;
  token: 'old' | 'new';
  status: number;
  errorCode: string | undefined;
  authorization: unknown;
}

interface Replica {
  proxy: TestProxy;
  url: string;
  server: http.Server;
}

describe('token rotation under load, two replicas', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  const replicas: Replica[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOOPS });
  let total = 0;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    store = await setUpTokenStore(harness);
    for (let i = 0; i < 2; i++) {
      // Logging at info: a debug line per request would only slow the loops down. The brute-force
      // throttle is off: the late loops send an expired token on purpose, and the test is about expiry.
      const proxy = await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 }, { logging: { level: 'info' }, authThrottle: { maxFailures: 0 } });
      const server = http.createServer(proxy.proxy.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      replicas.push({ proxy, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
  });

  afterAll(async () => {
    agent.destroy();
    for (const r of replicas) await new Promise<void>((resolve) => r.server.close(() => resolve()));
    await store?.close();
    await harness?.close();
    expectNothingHidden(
      replicas.map((r) => r.proxy.logs.text()),
      [SECRET, ...store.issued],
    );
    console.log(`token rotation under load: ${total} requests in total`);
  });

  function send(replica: Replica, token: string, which: Outcome['token']): Promise<Outcome> {
    const sentAt = Date.now();
    return new Promise((resolve, reject) => {
      const req = http.get(`${replica.url}/forward/echo/load`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const code = res.headers[ERROR_HEADER];
          const parsed = res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, unknown> }) : null;
          resolve({
            sentAt,
            token: which,
            status: res.statusCode ?? 0,
            errorCode: typeof code === 'string' ? code : undefined,
            authorization: parsed?.headers.authorization,
          });
        });
      });
      req.on('error', reject);
    });
  }

  /** The expiry `rotate` gave the older token (its before → after on stderr says "~ token <id> now expires <iso> (was …)"). */
  function graceEndOf(oldToken: string): number {
    const id = /^spt_([a-z0-9]+)_/.exec(oldToken)![1];
    const match = new RegExp(`^  ~ token ${id} now expires (\\S+) \\(was \\S+\\)$`, 'm').exec(store.stderrs.join('\n'));
    expect(match).not.toBeNull();
    return Date.parse(match![1]);
  }

  /**
   * Runs LOOPS loops against both replicas until `stopAt`, rotating `client` after `rotateAfterMs`.
   * `late(i)` says whether loop i keeps the old token after the rotation.
   */
  async function run(client: string, rotateAfterMs: number, stopAt: (graceEnd: number) => number, late: (loop: number) => boolean) {
    const old = await store.issue(['create', '--client', client, '--services', 'echo']);
    let fresh: string | null = null;
    let graceEnd = Infinity;
    const outcomes: Outcome[] = [];
    let stopping = false;
    const loops = Array.from({ length: LOOPS }, async (_, i) => {
      const replica = replicas[i % replicas.length];
      while (!stopping) {
        const useNew = fresh !== null && !late(i);
        outcomes.push(await send(replica, useNew ? fresh! : old, useNew ? 'new' : 'old'));
      }
    });
    await sleep(rotateAfterMs);
    fresh = await store.issue(['rotate', '--client', client, '--grace', `${GRACE_MS / 1000}s`]);
    graceEnd = graceEndOf(old);
    // A rotate slowed down by a loaded machine still leaves the loops a second with the new token.
    const until = Math.max(stopAt(graceEnd), Date.now() + 1000);
    while (Date.now() < until) await sleep(50);
    stopping = true;
    await Promise.all(loops);
    total += outcomes.length;
    return { old, fresh, graceEnd, outcomes };
  }

  it('loops that switch when rotate returns: zero failed requests, then the old token is PROXY_TOKEN_EXPIRED', async () => {
    const started = Date.now();
    harness.upstream.clear();
    const { old, graceEnd, outcomes } = await run(
      'n8n-load',
      1500,
      () => started + 6000,
      () => false,
    );
    const failed = outcomes.filter((o) => o.status !== 200 || o.authorization !== 'Bearer [REDACTED]');
    expect(failed).toEqual([]);
    expect(outcomes.filter((o) => o.token === 'old').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.token === 'new').length).toBeGreaterThan(0);
    // The upstream saw every request, each with the Vault secret.
    const auths = new Set(harness.upstream.received.map((r) => r.headers.authorization));
    expect(auths).toEqual(new Set([`Bearer ${SECRET}`]));
    expect(harness.upstream.received.length).toBe(outcomes.length);

    while (Date.now() < graceEnd + EDGE_MS) await sleep(50);
    for (const replica of replicas) {
      const after = await send(replica, old, 'old');
      expect(after.status).toBe(401);
      expect(after.errorCode).toBe('PROXY_TOKEN_EXPIRED');
    }
    console.log(`switching loops: ${outcomes.length} requests, none failed`);
  }, 30_000);

  it('loops that keep the old token past the grace: 200 until the grace ends, then only PROXY_TOKEN_EXPIRED', async () => {
    const { outcomes, graceEnd } = await run(
      'n8n-late',
      1000,
      (end) => end + 1000,
      (i) => i < 2,
    );
    const late = outcomes.filter((o) => o.token === 'old');
    const beforeEnd = late.filter((o) => o.sentAt < graceEnd - EDGE_MS);
    const afterEnd = late.filter((o) => o.sentAt > graceEnd + EDGE_MS);
    expect(beforeEnd.length).toBeGreaterThan(0);
    expect(afterEnd.length).toBeGreaterThan(0);
    expect(beforeEnd.filter((o) => o.status !== 200 || o.authorization !== 'Bearer [REDACTED]')).toEqual([]);
    expect(afterEnd.filter((o) => o.status !== 401 || o.errorCode !== 'PROXY_TOKEN_EXPIRED')).toEqual([]);
    // Around the edge a request is either still served or refused as expired, never anything else.
    expect(late.filter((o) => !(o.status === 200 || o.errorCode === 'PROXY_TOKEN_EXPIRED'))).toEqual([]);
    // The loops that switched never failed.
    expect(outcomes.filter((o) => o.token === 'new' && o.status !== 200)).toEqual([]);
    console.log(`late loops: ${outcomes.length} requests (${late.length} with the old token, ${afterEnd.length} refused after the grace)`);
  }, 30_000);
});
