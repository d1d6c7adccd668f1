/**
 * Two proxy replicas sharing one Vault, behind one round-robin balancer, as docs/replicas.md
 * describes them: every request opens a new connection, so the balancer alternates replicas
 * and its per-backend counts prove both answered. A rotated token works on both at once and
 * the old one keeps working on both during its grace; a revoked token is refused by both
 * once each has re-read the records on its schedule (counted, not timed); bad-token
 * throttling is per replica.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, listenProxy, startHarness, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';
import { startRoundRobin, type RoundRobin } from '../support/round-robin';
import { waitFor } from '../support/secrets-harness';
import { setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';

jest.setTimeout(120_000);

const SECRET = canary('replicas');

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** GET on a connection of its own (no keep-alive), so the balancer picks the next replica. */
function get(url: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
  });
}

describe('two replicas behind one balancer', () => {
  let harness: ProxyHarness;
  let store: TokenStoreSetup;
  const listeners: ProxyListener[] = [];
  const balancers: RoundRobin[] = [];

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    store = await setUpTokenStore(harness);
  });

  afterAll(async () => {
    for (const balancer of balancers) await balancer.close();
    for (const listener of listeners) await listener.close();
    await store?.close();
    await harness?.close();
    const hashes = store.issued.map((token) => createHash('sha256').update(token).digest('hex'));
    expectNothingHidden([store.stderrs.join('\n'), store.proxies.flatMap((t) => t.logs.lines).join('\n')], [...store.issued, ...hashes, SECRET]);
  });

  /** Two replicas on listeners of their own, and a balancer in front of them. */
  async function pair(extra: Parameters<TokenStoreSetup['replica']>[1] = {}): Promise<{ replicas: TestProxy[]; balancer: RoundRobin }> {
    const replicas = [
      await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 }, extra),
      await store.replica({ refreshSeconds: 1, missRefreshIntervalMs: 100 }, extra),
    ];
    const ports: number[] = [];
    for (const replica of replicas) {
      const listener = await listenProxy(replica);
      listeners.push(listener);
      ports.push(listener.port);
    }
    const balancer = await startRoundRobin(ports);
    balancers.push(balancer);
    return { replicas, balancer };
  }

  /** Sends `n` requests through the balancer; returns the statuses and how many each replica got. */
  async function through(balancer: RoundRobin, path: string, token: string, n: number): Promise<{ answers: Answer[]; perReplica: number[] }> {
    const before = balancer.counts();
    const answers: Answer[] = [];
    for (let i = 0; i < n; i++) answers.push(await get(`${balancer.url}${path}`, token));
    return { answers, perReplica: balancer.counts().map((count, i) => count - before[i]) };
  }

  /** Counts each replica's successful scheduled re-reads of the token records from now on. */
  function scheduledRereads(replica: TestProxy): () => number {
    let n = 0;
    replica.proxy.events.on('tokens:refresh', (event) => {
      if (event.trigger === 'schedule' && event.outcome === 'ok') n += 1;
    });
    return () => n;
  }

  it('a rotation is seen by both: the new token works on each at once, the old one on each until its grace ends', async () => {
    const { replicas, balancer } = await pair();
    const old = await store.issue(['create', '--client', 'n8n-prod', '--services', 'echo']);
    const before = await through(balancer, '/forward/echo/hello', old, 4);
    expect({ statuses: before.answers.map((a) => a.status), perReplica: before.perReplica }).toEqual({ statuses: [200, 200, 200, 200], perReplica: [2, 2] });

    const rotated = await store.issue(['rotate', '--client', 'n8n-prod', '--grace', '10m']);
    const graceEnd = store.expiryPrintedFor(old);
    // Unknown to both replicas a moment ago: each re-reads the records on the miss and accepts it.
    const fresh = await through(balancer, '/forward/echo/hello', rotated, 4);
    expect({ statuses: fresh.answers.map((a) => a.status), perReplica: fresh.perReplica }).toEqual({ statuses: [200, 200, 200, 200], perReplica: [2, 2] });
    // The old token is a hit in both indexes; each says when its grace ends once it has re-read the records.
    const counters = replicas.map(scheduledRereads);
    await waitFor('both replicas to re-read the records after the rotation', () => counters.every((n) => n() >= 2), 30_000);
    const during = await through(balancer, '/v1/whoami', old, 2);
    expect({ statuses: during.answers.map((a) => a.status), perReplica: during.perReplica }).toEqual({ statuses: [200, 200], perReplica: [1, 1] });
    for (const answer of during.answers) expect(Date.parse((JSON.parse(answer.text) as { expiresAt: string }).expiresAt)).toBe(graceEnd);
  });

  it('a revocation is seen by both from their next scheduled re-read on: counted re-reads, then both refuse', async () => {
    const { replicas, balancer } = await pair();
    const token = await store.issue(['create', '--client', 'n8n-rev', '--services', 'echo']);
    const keep = await store.issue(['create', '--client', 'n8n-rev', '--add']);
    const served = await through(balancer, '/forward/echo/x', token, 2);
    expect({ statuses: served.answers.map((a) => a.status), perReplica: served.perReplica }).toEqual({ statuses: [200, 200], perReplica: [1, 1] });

    const id = /^spt_([a-z0-9]+)_/.exec(token)![1];
    const revoked = await store.cli(['revoke', '--id', id]);
    expect(revoked.code).toBe(0);
    // Counted from the moment the revoke was written: the second re-read to finish after it
    // surely started after it, on each replica (re-reads during the command may predate the write).
    const counters = replicas.map(scheduledRereads);
    await waitFor('both replicas to re-read the records twice after the revoke', () => counters.every((n) => n() >= 2), 30_000);
    const refused = await through(balancer, '/forward/echo/x', token, 4);
    expect(refused.perReplica).toEqual([2, 2]);
    for (const answer of refused.answers) expectProxyError(answer, 401, 'PROXY_TOKEN_INVALID', 'proxy');
    const kept = await through(balancer, '/forward/echo/x', keep, 2);
    expect({ statuses: kept.answers.map((a) => a.status), perReplica: kept.perReplica }).toEqual({ statuses: [200, 200], perReplica: [1, 1] });
  });

  it('bad-token throttling counts per replica: behind two replicas an address gets twice the budget', async () => {
    const { balancer } = await pair({ authThrottle: { maxFailures: 2, windowSeconds: 600 } });
    const bad = `spt_${'0'.repeat(12)}_${'A'.repeat(43)}`;
    const result = await through(balancer, '/v1/whoami', bad, 6);
    expect(result.perReplica).toEqual([3, 3]);
    expect(result.answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 429, 429]);
    expectProxyError(result.answers[5], 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
  });
});
