/**
 * Rotation under load: two proxy replicas share the token records in Vault (emulator, real
 * node-vault client) while six keep-alive loops send requests without pause. The built
 * `secure-proxy token rotate` runs once every loop has been served with the old token.
 *
 * - Loops switch to the new token on their next request after the command returned (n8n got
 *   the new credential): not one request fails during the whole run, every answer comes from
 *   the upstream with the Vault secret injected, and after the grace the old token is refused
 *   with PROXY_TOKEN_EXPIRED.
 * - Some loops keep the old token until past the grace (n8n instances that update late):
 *   their requests succeed until the grace ends, then get PROXY_TOKEN_EXPIRED; nothing else.
 *
 * Nothing here depends on how fast the machine is: each phase lasts until every loop has
 * sent its share of requests (with a deadline for a broken proxy), and a request's fate is
 * judged by when it was sent and answered, against the expiry `rotate` printed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import { expectNothingHidden } from '../support/proxy-assertions';
import { canary, startHarness, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { setUpTokenStore, type TokenStoreSetup } from '../support/token-store-setup';
import { waitFor } from '../support/secrets-harness';
import { sleep } from '../support/vault-setup';

const SECRET = canary('load-upstream');
const LOOPS = 6;
/** Requests each loop sends in every phase (old token before the rotation, new token or past the grace after it). */
const PER_LOOP = 5;
/**
 * Long enough for `rotate` to write the record, exit, and the loops to switch on a busy
 * machine: a loop still on the old token past the grace would be refused, rightly.
 */
const SWITCH_GRACE_MS = 8000;
/** The late loops' test judges each request by its timing, so any grace works; a short one keeps it quick. */
const LATE_GRACE_MS = 3000;
/** Deadline of a phase: only a broken proxy (or a stalled machine) comes near it. */
const PHASE_DEADLINE_MS = 60_000;

interface Outcome {
  loop: number;
  sentAt: number;
  answeredAt: number;
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
      // Idle keep-alive connections stay open as on the production listener (65 s): with Node's
      // default of 5 s, a pause between phases on a busy machine can meet a connection the server
      // is just closing, and the request fails with ECONNRESET before it reaches the proxy.
      const server = http.createServer({ keepAliveTimeout: 65_000 }, proxy.proxy.app);
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

  /** One request; a connection error is an outcome too (status 0), so a loop never stops on it. */
  function send(replica: Replica, token: string, which: Outcome['token'], loop = -1): Promise<Outcome> {
    const sentAt = Date.now();
    const outcome = (status: number, errorCode: string | undefined, authorization: unknown): Outcome => ({
      loop,
      sentAt,
      answeredAt: Date.now(),
      token: which,
      status,
      errorCode,
      authorization,
    });
    return new Promise((resolve) => {
      const req = http.get(`${replica.url}/forward/echo/load`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const code = res.headers[ERROR_HEADER];
          const parsed = res.statusCode === 200 ? (JSON.parse(body) as { headers: Record<string, unknown> }) : null;
          resolve(outcome(res.statusCode ?? 0, typeof code === 'string' ? code : undefined, parsed?.headers.authorization));
        });
        res.on('error', (err: NodeJS.ErrnoException) => resolve(outcome(0, err.code ?? err.name, undefined)));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(outcome(0, err.code ?? err.name, undefined)));
    });
  }

  /**
   * Runs LOOPS loops against both replicas. Once every loop was served PER_LOOP times with the
   * old token, `client` is rotated with `graceMs`; loop i switches to the new token on its next
   * request unless `late(i)`. The loops stop once `enough(outcomes, graceEnd)` holds.
   */
  async function run(
    client: string,
    graceMs: number,
    late: (loop: number) => boolean,
    enough: (outcomes: Outcome[], graceEnd: number) => boolean,
    what: string,
  ) {
    const old = await store.issue(['create', '--client', client, '--services', 'echo']);
    let fresh: string | null = null;
    const outcomes: Outcome[] = [];
    let stopping = false;
    const loops = Array.from({ length: LOOPS }, async (_, i) => {
      const replica = replicas[i % replicas.length];
      while (!stopping) {
        const useNew = fresh !== null && !late(i);
        outcomes.push(await send(replica, useNew ? fresh! : old, useNew ? 'new' : 'old', i));
      }
    });
    try {
      await waitFor(`every loop to be served ${PER_LOOP} times with the old token`, () => everyLoop(outcomes, (o) => o.token === 'old'), PHASE_DEADLINE_MS);
      fresh = await store.issue(['rotate', '--client', client, '--grace', `${graceMs / 1000}s`]);
      const graceEnd = store.expiryPrintedFor(old);
      await waitFor(what, () => enough(outcomes, graceEnd), PHASE_DEADLINE_MS);
      return { old, fresh, graceEnd, outcomes };
    } finally {
      stopping = true;
      await Promise.all(loops);
      total += outcomes.length;
    }
  }

  /** Whether each loop (or each loop `among`) has PER_LOOP outcomes that `match`. */
  function everyLoop(outcomes: readonly Outcome[], match: (o: Outcome) => boolean, among: (loop: number) => boolean = () => true): boolean {
    const counts = new Array<number>(LOOPS).fill(0);
    for (const o of outcomes) if (match(o)) counts[o.loop] += 1;
    return counts.every((n, loop) => !among(loop) || n >= PER_LOOP);
  }

  const served = (o: Outcome): boolean => o.status === 200 && o.authorization === 'Bearer [REDACTED]';

  it('loops that switch when rotate returns: zero failed requests, then the old token is PROXY_TOKEN_EXPIRED', async () => {
    harness.upstream.clear();
    const { old, graceEnd, outcomes } = await run(
      'n8n-load',
      SWITCH_GRACE_MS,
      () => false,
      (all) => everyLoop(all, (o) => o.token === 'new'),
      `every loop to be served ${PER_LOOP} times with the new token`,
    );
    expect(outcomes.filter((o) => !served(o))).toEqual([]);
    // The upstream saw every request, each with the Vault secret.
    const auths = new Set(harness.upstream.received.map((r) => r.headers.authorization));
    expect(auths).toEqual(new Set([`Bearer ${SECRET}`]));
    expect(harness.upstream.received.length).toBe(outcomes.length);

    // Sent at or after the expiry, a request can only be refused (the proxy compares the time it decides).
    await sleep(Math.max(0, graceEnd - Date.now() + 1));
    for (const replica of replicas) {
      const after = await send(replica, old, 'old');
      expect(after.sentAt).toBeGreaterThanOrEqual(graceEnd);
      expect({ status: after.status, errorCode: after.errorCode }).toEqual({ status: 401, errorCode: 'PROXY_TOKEN_EXPIRED' });
    }
    console.log(`switching loops: ${outcomes.length} requests, none failed`);
  }, 120_000);

  it('loops that keep the old token past the grace: 200 until the grace ends, then only PROXY_TOKEN_EXPIRED', async () => {
    const isLate = (loop: number): boolean => loop < 2;
    const { outcomes, graceEnd } = await run(
      'n8n-late',
      LATE_GRACE_MS,
      isLate,
      (all, end) =>
        everyLoop(
          all,
          (o) => o.token === 'new',
          (loop) => !isLate(loop),
        ) && everyLoop(all, (o) => o.sentAt >= end, isLate),
      `the switched loops to be served ${PER_LOOP} times with the new token, and the late loops to send ${PER_LOOP} requests past the grace`,
    );
    const late = outcomes.filter((o) => o.token === 'old');
    // Answered before the expiry: decided before it, so served. Sent at or after it: refused as expired.
    const beforeEnd = late.filter((o) => o.answeredAt < graceEnd);
    const afterEnd = late.filter((o) => o.sentAt >= graceEnd);
    expect(beforeEnd.filter((o) => !served(o))).toEqual([]);
    expect(afterEnd.filter((o) => o.status !== 401 || o.errorCode !== 'PROXY_TOKEN_EXPIRED')).toEqual([]);
    expect(everyLoop(beforeEnd, () => true, isLate) && everyLoop(afterEnd, () => true, isLate)).toBe(true);
    // Sent before and answered after the expiry: either still served or refused as expired, never anything else.
    expect(late.filter((o) => !(served(o) || o.errorCode === 'PROXY_TOKEN_EXPIRED'))).toEqual([]);
    // The loops that switched never failed.
    expect(outcomes.filter((o) => o.token === 'new' && !served(o))).toEqual([]);
    console.log(`late loops: ${outcomes.length} requests (${late.length} with the old token, ${afterEnd.length} refused after the grace)`);
  }, 120_000);
});
