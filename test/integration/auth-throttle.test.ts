/**
 * Brute-force throttling of bad proxy tokens through the whole app on a real loopback
 * listener. Clients bind their sockets to different loopback addresses (127.0.0.1,
 * 127.0.0.2, …; the whole 127/8 is local on Linux) so the proxy sees distinct peers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_PATH } from '../../proxy/src/contract/contract';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import { sleep } from '../support/vault-setup';

const SECRET = canary('bearer');
/** Well-formed guesses that no client owns; they must never reach a response or a log line. */
const GUESSES = Array.from({ length: 4 }, (_, i) => `spt_guess${i}_${canary('guess')}`);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

interface Listening {
  proxy: TestProxy;
  port: number;
  close(): Promise<void>;
}

/** One request from `from` (a loopback address), on a fresh connection. */
function send(target: Listening, from: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: target.port, path, headers, localAddress: from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('brute-force throttle of bad proxy tokens', () => {
  let harness: ProxyHarness;
  const started: Listening[] = [];
  const answers: Answer[] = [];

  async function listen(authThrottle: { maxFailures: number; windowSeconds: number }): Promise<Listening> {
    const proxy = await startProxy(harness, (_base, token) => ({
      authThrottle,
      clients: {
        'n8n-prod': { tokenHashes: [token('prod').hash, { hash: token('expired').hash, expiresAt: '2020-01-01T00:00:00Z' }], services: ['echo'] },
        'n8n-dev': { tokenHashes: [token('dev').hash], services: [] },
      },
      services: { echo: { target: `${harness.upstream.url}/base`, secret: 'svc/echo', inject: { type: 'bearer' } } },
    }));
    const server = http.createServer(proxy.proxy.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listening: Listening = {
      proxy,
      port: (server.address() as AddressInfo).port,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await proxy.proxy.stop();
      },
    };
    started.push(listening);
    return listening;
  }

  /** Sends and keeps the answer for the final no-leak check. */
  async function ask(target: Listening, from: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const answer = await send(target, from, path, headers);
    answers.push(answer);
    return answer;
  }

  const bearer = (target: Listening, name: string) => ({ authorization: `Bearer ${target.proxy.tokens[name].token}` });
  const guess = (i: number) => ({ authorization: `Bearer ${GUESSES[i % GUESSES.length]}` });
  const throttleWarnings = (target: Listening) =>
    target.proxy.logs.entries().filter((e) => typeof e.msg === 'string' && e.msg.startsWith('throttling address'));
  const throttledAuditLines = (target: Listening) => target.proxy.logs.entries().filter((e) => e.msg === 'request' && e.errorCode === 'PROXY_TOKEN_THROTTLED');
  async function metric(target: Listening, line: RegExp): Promise<number> {
    const res = await send(target, '127.0.0.1', METRICS_PATH);
    const match = line.exec(res.text);
    if (match === null) throw new Error(`no metric line matching ${line}`);
    return Number(match[1]);
  }

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
  });

  afterAll(async () => {
    for (const listening of started) await listening.close();
    await harness?.close();
  });

  describe('with maxFailures 3 in a 60 s window', () => {
    let t: Listening;

    beforeAll(async () => {
      t = await listen({ maxFailures: 3, windowSeconds: 60 });
    });

    it('answers the first 3 failures 401 with their own codes, then 429 with Retry-After', async () => {
      harness.upstream.clear();
      expectProxyError(await ask(t, '127.0.0.1', '/forward/echo/x'), 401, 'PROXY_TOKEN_MISSING', 'proxy');
      expectProxyError(await ask(t, '127.0.0.1', '/v1/whoami', guess(0)), 401, 'PROXY_TOKEN_INVALID', 'proxy');
      expectProxyError(await ask(t, '127.0.0.1', '/forward/echo/x', bearer(t, 'expired')), 401, 'PROXY_TOKEN_EXPIRED', 'proxy');

      for (const headers of [guess(1), {}, bearer(t, 'expired'), { authorization: 'Basic Zm9vOmJhcg==' }]) {
        const res = await ask(t, '127.0.0.1', '/forward/echo/x', headers);
        expectProxyError(res, 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
        const retryAfter = Number(res.headers['retry-after']);
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      expectProxyError(await ask(t, '127.0.0.1', '/v1/services', guess(2)), 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
      expect(harness.upstream.received).toHaveLength(0);
    });

    it('still serves a valid token from the throttled address, on both planes', async () => {
      harness.upstream.clear();
      const whoami = await ask(t, '127.0.0.1', '/v1/whoami', bearer(t, 'prod'));
      expect(whoami.status).toBe(200);
      expect(JSON.parse(whoami.text)).toMatchObject({ clientId: 'n8n-prod' });
      const forwarded = await ask(t, '127.0.0.1', '/forward/echo/users/1', bearer(t, 'prod'));
      expect(forwarded.status).toBe(200);
      expect(harness.upstream.received.map((r) => r.headers.authorization)).toEqual([`Bearer ${SECRET}`]);
      // Serving valid tokens does not lift the throttle for the bad ones.
      expectProxyError(await ask(t, '127.0.0.1', '/v1/whoami', guess(3)), 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
    });

    it('counts the socket peer, not X-Forwarded-For', async () => {
      const spoofedAway = await ask(t, '127.0.0.1', '/v1/whoami', { ...guess(0), 'x-forwarded-for': '10.9.9.9' });
      expectProxyError(spoofedAway, 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
      const spoofedOnto = await ask(t, '127.0.0.2', '/v1/whoami', { ...guess(0), 'x-forwarded-for': '127.0.0.1' });
      expectProxyError(spoofedOnto, 401, 'PROXY_TOKEN_INVALID', 'proxy');
    });

    it('leaves other addresses alone: their bad tokens get 401 and their valid ones are served', async () => {
      expectProxyError(await ask(t, '127.0.0.3', '/forward/echo/x', guess(1)), 401, 'PROXY_TOKEN_INVALID', 'proxy');
      expect((await ask(t, '127.0.0.3', '/v1/whoami', bearer(t, 'prod'))).status).toBe(200);
      expect((await ask(t, '127.0.0.3', '/forward/echo/x', bearer(t, 'prod'))).status).toBe(200);
      expectProxyError(await ask(t, '127.0.0.3', '/forward/echo/x', guess(2)), 401, 'PROXY_TOKEN_INVALID', 'proxy');
    });

    it('never counts requests with a valid token, even when they fail after authentication', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await ask(t, '127.0.0.4', '/v1/whoami', bearer(t, 'prod'))).status).toBe(200);
        expectProxyError(await ask(t, '127.0.0.4', '/forward/echo/x', bearer(t, 'dev')), 403, 'SERVICE_NOT_ALLOWED', 'proxy');
        expectProxyError(await ask(t, '127.0.0.4', '/forward/nope/x', bearer(t, 'prod')), 404, 'SERVICE_UNKNOWN', 'proxy');
      }
      for (let i = 0; i < 3; i++) expectProxyError(await ask(t, '127.0.0.4', '/v1/whoami', guess(i)), 401, 'PROXY_TOKEN_INVALID', 'proxy');
      expectProxyError(await ask(t, '127.0.0.4', '/v1/whoami', guess(3)), 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
    });

    it('warns once per throttled address and window, and still writes one audit line per refused request', async () => {
      const warnings = throttleWarnings(t);
      expect(warnings.map((w) => [w.level, w.msg])).toEqual([
        ['warn', 'throttling address 127.0.0.1 after 3 failed tokens'],
        ['warn', 'throttling address 127.0.0.4 after 3 failed tokens'],
      ]);
      const refused = answers.filter((a) => a.headers['x-secure-proxy-error'] === 'PROXY_TOKEN_THROTTLED').map((a) => a.headers['x-request-id']);
      expect(throttledAuditLines(t).map((l) => l.requestId)).toEqual(refused);
      expect(refused).toHaveLength(8);
    });

    it('counts throttle episodes in secure_proxy_auth_throttled_total and refusals in the errors counter', async () => {
      expect(await metric(t, /^secure_proxy_auth_throttled_total (\d+)$/m)).toBe(2);
      expect(await metric(t, /^secure_proxy_errors_total\{source="proxy",code="PROXY_TOKEN_THROTTLED"\} (\d+)$/m)).toBe(8);
    });
  });

  describe('with a 1 s window', () => {
    it('accepts bad tokens with 401 again once Retry-After has passed, and warns again in the new window', async () => {
      const t = await listen({ maxFailures: 2, windowSeconds: 1 });
      /** Sends bad tokens until the throttle answers; a window may roll over on the way on a busy machine. */
      async function untilThrottled(): Promise<Answer> {
        for (let i = 0; i < 50; i++) {
          const res = await ask(t, '127.0.0.5', '/v1/whoami', guess(i));
          if (res.status === 429) return res;
          expectProxyError(res, 401, 'PROXY_TOKEN_INVALID', 'proxy');
        }
        throw new Error('never throttled');
      }

      const first = await untilThrottled();
      expectProxyError(first, 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
      expect(first.headers['retry-after']).toBe('1');
      await sleep(Number(first.headers['retry-after']) * 1000 + 50);
      expectProxyError(await ask(t, '127.0.0.5', '/v1/whoami', guess(0)), 401, 'PROXY_TOKEN_INVALID', 'proxy');

      await untilThrottled();
      expect(throttleWarnings(t).map((w) => w.msg)).toEqual([
        'throttling address 127.0.0.5 after 2 failed tokens',
        'throttling address 127.0.0.5 after 2 failed tokens',
      ]);
    });
  });

  describe('with maxFailures 0', () => {
    it('never throttles', async () => {
      const t = await listen({ maxFailures: 0, windowSeconds: 60 });
      for (let i = 0; i < 30; i++) expectProxyError(await ask(t, '127.0.0.6', '/v1/whoami', guess(i)), 401, 'PROXY_TOKEN_INVALID', 'proxy');
      expect(throttleWarnings(t)).toEqual([]);
      expect(await metric(t, /^secure_proxy_auth_throttled_total (\d+)$/m)).toBe(0);
    });
  });

  it('never shows a secret or a token, valid or guessed, in a response or a log line', () => {
    const tokens = started.flatMap((s) => Object.values(s.proxy.tokens).map((tk) => tk.token));
    expect(tokens.length).toBeGreaterThan(0);
    expect(answers.length).toBeGreaterThan(50);
    const logLines = started.flatMap((s) => s.proxy.logs.lines);
    expectNothingHidden([...answers.map((a) => `${JSON.stringify(a.headers)}\n${a.text}`), ...logLines], [SECRET, ...GUESSES, ...tokens]);
  });
});
