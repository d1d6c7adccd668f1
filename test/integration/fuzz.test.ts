/**
 * Property-based fuzzing of a real listening proxy with fast-check. Each run sends one raw
 * request (method, request target, headers exactly as generated, so odd targets reach the
 * proxy unparsed) built from grammars that favour the dangerous pieces: dot segments in every
 * encoding, encoded slashes and backslashes, NUL, empty segments, raw UTF-8, huge segments,
 * `?` and `#` variants, absolute URLs; hop-by-hop headers and Connection lists naming
 * others, x-secure-proxy-*, Host, X-Forwarded-*, and Authorization in many shapes.
 *
 * Properties of every run:
 * - the proxy never answers 5xx of its own making except the documented Vault/upstream ones;
 * - every proxy-made answer carries a known code with its status and source;
 * - whatever the upstream received stays under the service's base path, however decoded and
 *   normalised, and carries no proxy token, hop-by-hop or proxy-internal header;
 * - a second loopback server that is no service's target receives nothing;
 * - no canary (secret or token) is in any response; at the end, none in any log line.
 *
 * FUZZ_SEED fixes the seed (default fixed, so runs are reproducible), FUZZ_RUNS the number of
 * requests (default 300). fast-check prints the seed and the shrunk counterexample on failure.
 */
import { posix } from 'node:path';
import fc from 'fast-check';
import { ERROR_CODES, ERROR_HEADER, INTERNAL_HEADER_PREFIX, REQUEST_ID_HEADER, type ErrorCode } from '../../proxy/src/contract/contract';
import { hashToken } from '../../proxy/src/auth/token-format';
import { canary, listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { startRecordingServer, type RecordingServer } from '../support/secrets-harness';

const SEED = Number(process.env.FUZZ_SEED ?? 20260129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const SECRET = canary('fuzz-secret');
const TOKEN_SECRET = canary('fuzz-token');
const TOKEN = `spt_fuzzer_${TOKEN_SECRET}`;
const OTHER_TOKEN_SECRET = canary('fuzz-other');
const OTHER_TOKEN = `spt_other_${OTHER_TOKEN_SECRET}`;
/** The services' base path on the echo upstream: nothing it receives may climb above it. */
const BASE = '/svc-base/inner';

/** Headers that must never reach the upstream, whatever the client sent. */
const NEVER_UPSTREAM = ['proxy-authorization', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'forwarded', 'x-real-ip', 'http2-settings'];

/** Raw UTF-8 bytes as the latin1 string Node writes byte for byte on the request line. */
const rawUtf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** Decodes (up to three levels), turns backslashes into slashes and resolves dot segments, as a lenient upstream might. */
function normalisedPath(url: string): string {
  let path = url.split('?', 1)[0];
  for (let i = 0; i < 3; i++) {
    try {
      path = decodeURIComponent(path);
    } catch (err) {
      if (!(err instanceof URIError)) throw err;
      break;
    }
  }
  return posix.normalize(path.replaceAll('\\', '/'));
}

function staysUnderBase(url: string): boolean {
  const raw = url.split('?', 1)[0];
  const normalised = normalisedPath(url);
  const under = (p: string): boolean => p === BASE || p.startsWith(`${BASE}/`);
  return under(raw) && under(normalised);
}

describe('fuzz: random requests against a real proxy', () => {
  let harness: ProxyHarness;
  let forbidden: RecordingServer;
  let t: TestProxy;
  let listening: ProxyListener;

  beforeAll(async () => {
    harness = await startHarness({ 'svc/fuzz': { token: SECRET } });
    forbidden = await startRecordingServer();
    t = await startProxy(harness, () => ({
      clients: {
        fuzzer: { tokenHashes: [hashToken(TOKEN)], services: ['fuzz', 'fuzzq'] },
        other: { tokenHashes: [hashToken(OTHER_TOKEN)], services: [] },
      },
      services: {
        fuzz: { target: `${harness.upstream.url}${BASE}`, secret: 'svc/fuzz', inject: { type: 'bearer', field: 'token' } },
        fuzzq: { target: `${harness.upstream.url}${BASE}/`, secret: 'svc/fuzz', inject: { type: 'query', param: 'api_key', field: 'token' } },
      },
    }));
    listening = await listenProxy(t);
  });

  afterAll(async () => {
    await listening?.close();
    await t?.proxy.stop();
    await forbidden?.close();
    await harness?.close();
  });

  function arbitraries(forbiddenHost: string) {
    const method = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') },
      { weight: 2, arbitrary: fc.constantFrom('TRACE', 'PROPFIND', 'MKCOL', 'PURGE', 'M-SEARCH', 'QUERY', 'LOCK', 'REPORT') },
      { weight: 1, arbitrary: fc.constantFrom('FOO', 'get', 'BREW', 'X-CUSTOM') },
    );
    const segment = fc.oneof(
      { weight: 16, arbitrary: fc.constantFrom('users', '42', 'a.b', '.well-known', '~x', 'a;b', '%20', '%41', '%zz', '%', '@host', 'http:') },
      { weight: 6, arbitrary: fc.constantFrom('..', '.', '%2e', '%2e%2e', '%2E.', '.%2e', '%252e%252e', '..;x', '%c0%ae%c0%ae') },
      { weight: 4, arbitrary: fc.constantFrom('%2f', '%2F', 'a%2f..%2fb', '%5c', '%5C..', '%252f', '\\', '..\\..', '%00', '%0a', '%7f', '') },
      { weight: 2, arbitrary: fc.constantFrom(rawUtf8('é'), rawUtf8('ǅ'), rawUtf8('．．'), '%C3%A9', '%E2%80%AE', rawUtf8('\u2215')) },
      { weight: 1, arbitrary: fc.integer({ min: 1000, max: 12000 }).map((n) => 'a'.repeat(n)) },
      { weight: 1, arbitrary: fc.constant(`http://${forbiddenHost}`) },
      { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,12}$/) },
    );
    const prefix = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('/forward/fuzz', '/forward/fuzzq') },
      {
        weight: 2,
        arbitrary: fc.constantFrom('/forward/nope', '/forward', '/forward/', '//forward/fuzz', '/FORWARD/fuzz', '/forward/fuzz;x', '/forward/%66uzz'),
      },
      { weight: 1, arbitrary: fc.constantFrom('/v1/whoami', '/v1/services', '/healthz', '/readyz', '/', '*', 'forward/fuzz') },
      { weight: 1, arbitrary: fc.constantFrom(`http://${forbiddenHost}/forward/fuzz`, `//${forbiddenHost}/x`, `http://${forbiddenHost}`) },
    );
    const suffix = fc.constantFrom(
      '',
      '',
      '?a=b',
      '?',
      '#frag',
      '?x=%2f..%2f',
      '?api_key=client',
      '?a=1#b',
      '??',
      '?%00',
      '?api%5Fkey=x&api_key',
      `?next=http://${forbiddenHost}/`,
    );
    const target = fc.tuple(prefix, fc.array(segment, { maxLength: 6 }), suffix).map(([p, segs, s]) => `${p}${segs.map((x) => `/${x}`).join('')}${s}`);

    const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
    // `trailer` only as a name in Connection: Node's client refuses to send it without a chunked body.
    const hopByHop = fc.constantFrom('keep-alive', 'proxy-connection', 'te', 'proxy-authorization', 'proxy-authenticate', 'http2-settings');
    const anyName = fc.oneof(
      hopByHop,
      fc.constantFrom('trailer', 'upgrade', 'x-api-key', 'authorization', 'host', 'x-secure-proxy-service', 'x-custom', 'cookie'),
      fc.stringMatching(/^x-[a-z0-9-]{1,12}$/),
    );
    const authorization = fc.constantFrom(
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
      `bearer ${TOKEN}`,
      `Bearer  ${TOKEN} `,
      `Bearer ${TOKEN} extra`,
      `Bearer ${TOKEN}==`,
      `Bearer ${OTHER_TOKEN}`,
      `Bearer spt_fuzzer_${canary('guess')}`,
      `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
      'Bearer',
      '',
      TOKEN,
    );
    const header: fc.Arbitrary<[string, string]> = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constant('authorization'), authorization) },
      { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,16}$/), headerValue) },
      { weight: 2, arbitrary: fc.tuple(hopByHop, headerValue) },
      {
        weight: 2,
        arbitrary: fc.array(anyName, { minLength: 1, maxLength: 4 }).map((names): [string, string] => ['connection', ['close', ...names].join(', ')]),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom('x-secure-proxy-error', 'x-secure-proxy-service', 'X-Secure-Proxy-Target'),
          fc.constantFrom('SPOOF', 'fuzzq', `http://${forbiddenHost}`),
        ),
      },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('host', 'Host'), fc.constantFrom(forbiddenHost, 'evil.example', 'localhost', '[::1]:1', 'a b', '')) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom(
            'x-forwarded-host',
            'x-forwarded-for',
            'x-forwarded-proto',
            'x-forwarded-prefix',
            'forwarded',
            'x-real-ip',
            'x-original-url',
            'x-rewrite-url',
          ),
          fc.constantFrom(forbiddenHost, '127.0.0.1', 'https', '/../..', `for=1.2.3.4;host=${forbiddenHost}`),
        ),
      },
      { weight: 1, arbitrary: fc.tuple(fc.constant('proxy-authorization'), fc.constant(`Bearer ${TOKEN}`)) },
    );
    // Most requests carry the valid token first, so that they get past authentication and reach the deeper checks.
    const valid = fc.option(fc.constant<[string, string]>(['authorization', `Bearer ${TOKEN}`]), { freq: 3, nil: null });
    const headers = fc.tuple(valid, fc.array(header, { maxLength: 6 })).map(([first, rest]) => (first === null ? rest : [first, ...rest]));
    return { method, target, headers };
  }

  /** Checks one answer against the contract; returns why it is wrong, or null. */
  function contractProblem(res: RawResponse, method: string, relayed: boolean): string | null {
    const code = res.headers[ERROR_HEADER] as ErrorCode | undefined;
    if (code !== undefined) {
      const spec = ERROR_CODES[code];
      if (spec === undefined) return `unknown code ${code}`;
      if (code === 'INTERNAL_ERROR') return 'INTERNAL_ERROR';
      if (relayed) return `a proxy error (${code}) although the upstream was reached and answered`;
      if (res.status !== spec.status) return `${code} with status ${res.status}, expected ${spec.status}`;
      if (method !== 'HEAD') {
        const body = JSON.parse(res.body.toString('utf8')) as { error: { code: string; source: string } };
        if (body.error.code !== code || body.error.source !== spec.source) return `body ${JSON.stringify(body.error)} does not match ${code}/${spec.source}`;
      }
      if (res.status >= 500 && spec.source === 'proxy' && code !== 'NOT_READY') return `a 5xx of the proxy's own making: ${code}`;
      return null;
    }
    if (res.headers[REQUEST_ID_HEADER] === undefined) {
      // Node's HTTP parser refused the request before the app saw it (unknown method, bad target, headers too large).
      return res.status >= 400 && res.status < 500 ? null : `an answer without request id and status ${res.status}`;
    }
    if (res.status >= 500) return `status ${res.status} without a proxy error code`;
    return null;
  }

  /** Checks what the echo upstream received for one request; returns why it is wrong, or null. */
  function upstreamProblem(received: (typeof harness.upstream.received)[number], sentHeaders: ReadonlyArray<readonly [string, string]>): string | null {
    if (!staysUnderBase(received.url)) return `the upstream got ${received.url}, which leaves ${BASE}`;
    const names = Object.keys(received.headers);
    const internal = names.filter((n) => n.startsWith(INTERNAL_HEADER_PREFIX) || n.startsWith('x-forwarded-') || NEVER_UPSTREAM.includes(n));
    if (internal.length > 0) return `the upstream got headers it must not: ${internal.join(', ')}`;
    const auth = received.headers.authorization;
    if (auth !== undefined && auth !== `Bearer ${SECRET}`) return `the upstream got authorization ${auth}`;
    // Names the client listed in Connection are hop-by-hop for this message (framing and Host excepted).
    const listed = sentHeaders
      .filter(([n]) => n.toLowerCase() === 'connection')
      .flatMap(([, v]) => v.split(','))
      .map((n) => n.trim().toLowerCase())
      .filter((n) => n !== '' && !['host', 'content-length', 'transfer-encoding', 'connection', 'authorization', 'x-api-key'].includes(n));
    const kept = listed.filter((n) => names.includes(n));
    if (kept.length > 0) return `the upstream got headers the client's Connection named: ${kept.join(', ')}`;
    return null;
  }

  it('a HEAD request the HTTP parser refuses gets the contract error without a body (found by this fuzzer)', async () => {
    // A body after a HEAD answer made Node's client fail with "Data after Connection: close" instead of reading the error.
    const res = await rawRequest(listening.url, { method: 'HEAD', path: `/forward/fuzz/${rawUtf8('é')}`, headers: [['authorization', `Bearer ${TOKEN}`]] });
    expect({ status: res.status, code: res.headers[ERROR_HEADER], body: res.body.length }).toEqual({ status: 400, code: 'REQUEST_MALFORMED', body: 0 });
    expect(harness.upstream.received.some((r) => r.method === 'HEAD')).toBe(false);
  });

  it(`holds the properties for ${RUNS} random requests (seed ${SEED})`, async () => {
    const forbiddenHost = new URL(forbidden.url).host;
    const { method, target, headers } = arbitraries(forbiddenHost);
    const canaries = [SECRET, encodeURIComponent(SECRET), TOKEN_SECRET, OTHER_TOKEN_SECRET];
    const codesSeen = new Set<string>();
    let relayedCount = 0;

    await fc.assert(
      fc.asyncProperty(method, target, headers, async (m, path, hs) => {
        const before = harness.upstream.received.length;
        const res = await rawRequest(listening.url, { method: m, path, headers: hs });
        const received = harness.upstream.received.slice(before);
        const relayed = received.length > 0;
        if (relayed) relayedCount++;
        const code = res.headers[ERROR_HEADER];
        if (typeof code === 'string') codesSeen.add(code);

        const problems = [
          contractProblem(res, m, relayed),
          ...received.map((r) => upstreamProblem(r, hs)),
          received.length > 1 ? `one request reached the upstream ${received.length} times` : null,
          forbidden.received.length > 0 ? `the forbidden server was reached: ${JSON.stringify(forbidden.received[0])}` : null,
          ...canaries.filter((c) => res.transcript.includes(c)).map((c) => `a canary is in the response: ${c.slice(0, 20)}…`),
        ].filter((p): p is string => p !== null);
        expect({ method: m, path: path.slice(0, 300), status: res.status, problems }).toEqual({
          method: m,
          path: path.slice(0, 300),
          status: res.status,
          problems: [],
        });
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );

    // The generators reach both sides: requests that get through, and refusals at several layers.
    expect(relayedCount).toBeGreaterThan(RUNS / 20);
    expect([...codesSeen]).toEqual(expect.arrayContaining(['PATH_REJECTED', 'ROUTE_NOT_FOUND', 'SERVICE_UNKNOWN']));
    const logs = t.logs.text();
    for (const value of canaries) expect(logs.includes(value) ? value : null).toBeNull();
  });
});
