/**
 * The hostile-input suite: everything a client can throw at the proxy's HTTP layer, sent as
 * raw bytes over TCP to a really listening proxy (createProxyApp + listen()), with the real
 * Vault client, emulator and echo upstream behind it.
 *
 * For every case: the exact status, `x-secure-proxy-error` code and side; what the upstream
 * received (nothing, for a refusal); no canary secret, proxy token or hostile header value in
 * the answer or the logs; exactly one log line for the event; and a normal request on a fresh
 * connection still succeeds afterwards.
 */
import type { ErrorCode } from '../../proxy/src/contract/contract';
import { closeGracefully, listen, type Listening } from '../../proxy/src/listener/server';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary, startHarness, startProxy, type ProxyHarness, type TestProxy } from '../support/proxy-harness';
import type { CutRequest } from '../support/echo-upstream';
import { rawExchange, type RawAnswer, type RawStep } from '../support/raw-socket';
import { waitFor } from '../support/secrets-harness';

const SECRET = canary('hostile-secret');
/** Put into hostile header values: it must never reach a log line, a response or the upstream. */
const MARKER = canary('hostile-value');
const MAX_BODY = 1024;
/**
 * Short enough to wait for in the tests that let them pass, long enough that a busy machine
 * still gets every other request's head and body through in time.
 */
const HEADERS_TIMEOUT_MS = 1500;
const BODY_TIMEOUT_MS = 1500;
const MAX_HEADER_BYTES = 4096;

interface ListeningProxy {
  t: TestProxy;
  listening: Listening;
  port: number;
  /** The Host header a normal request to this proxy carries. */
  normalHost: string;
}

describe('hostile input at the HTTP layer', () => {
  let harness: ProxyHarness;
  let open: ListeningProxy;
  let guarded: ListeningProxy;
  let token: string;

  /** A proxy configured like production (limits small enough to test) and listening as runProxy does. */
  async function startListening(allowedHosts?: string[]): Promise<ListeningProxy> {
    const t = await startProxy(harness, (_base, tokenFor) => ({
      listen: { headersTimeoutMs: HEADERS_TIMEOUT_MS, maxHeaderBytes: MAX_HEADER_BYTES, bodyTimeoutMs: BODY_TIMEOUT_MS, allowedHosts },
      clients: { n8n: { tokenHashes: [tokenFor('n8n').hash], services: ['echo', 'keyed'] } },
      services: {
        echo: { target: harness.upstream.url, secret: 'svc/echo', inject: { type: 'bearer', field: 'token' }, maxBodyBytes: MAX_BODY },
        keyed: { target: harness.upstream.url, secret: 'svc/echo', inject: { type: 'header', name: 'X-Api-Key', template: '{{token}}' } },
      },
    }));
    const { listen: limits } = t.proxy.config;
    const listening = await listen(t.proxy.app, '127.0.0.1', 0, undefined, {
      headersTimeoutMs: limits.headersTimeoutMs,
      maxHeaderBytes: limits.maxHeaderBytes,
      onClientError: (record) => t.proxy.events.emit('client:error', record),
    });
    return { t, listening, port: Number(new URL(listening.url).port), normalHost: allowedHosts?.[0] ?? '127.0.0.1' };
  }

  beforeAll(async () => {
    harness = await startHarness({ 'svc/echo': { token: SECRET } });
    open = await startListening();
    guarded = await startListening(['proxy.internal', 'alias.internal:8443']);
    token = open.t.tokens.n8n.token;
    // Both proxies have the same client name but their own random tokens.
    expect(guarded.t.tokens.n8n.token).not.toBe(token);
  });

  afterAll(async () => {
    for (const proxy of [open, guarded]) {
      if (proxy === undefined) continue;
      await closeGracefully(proxy.listening.server, 1000);
      await proxy.t.proxy.stop();
    }
    await harness?.close();
  });

  /** A request head: request line, Host (unless given), the proxy token, extra lines, and the blank line. */
  function head(requestLine: string, lines: string[] = [], options: { host?: string | null; auth?: string } = {}): string {
    const host = options.host === undefined ? 'Host: 127.0.0.1\r\n' : options.host === null ? '' : `Host: ${options.host}\r\n`;
    return `${requestLine} HTTP/1.1\r\n${host}Authorization: Bearer ${options.auth ?? token}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
  }

  function logLines(proxy: ListeningProxy, requestId: string): Array<Record<string, unknown>> {
    return proxy.t.logs.entries().filter((entry) => entry.requestId === requestId);
  }

  /** Exactly one log line carries the answer's request id; returns it. */
  async function theOnlyLogLine(proxy: ListeningProxy, requestId: string): Promise<Record<string, unknown>> {
    await waitFor(`log line of ${requestId}`, () => logLines(proxy, requestId).length > 0);
    const lines = logLines(proxy, requestId);
    expect(lines).toHaveLength(1);
    return lines[0];
  }

  function expectNothingLeaked(proxy: ListeningProxy, answer: RawAnswer): void {
    expectNothingHidden([answer.transcript, proxy.t.logs.text()], [SECRET, MARKER, proxy.t.tokens.n8n.token]);
  }

  /** A normal request on a fresh connection is answered by the upstream. */
  async function expectStillServing(proxy: ListeningProxy): Promise<void> {
    const before = harness.upstream.received.length;
    const answer = await rawExchange(proxy.port, [
      head('GET /forward/echo/still-serving', ['Connection: close'], { host: proxy.normalHost, auth: proxy.t.tokens.n8n.token }),
    ]);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-secure-proxy-error']).toBeUndefined();
    expect(harness.upstream.received.length).toBe(before + 1);
  }

  /** The requests the upstream saw cut since it had `before` of them, once there is one. */
  async function cutsSince(before: number): Promise<CutRequest[]> {
    await waitFor('upstream sees the request cut', () => harness.upstream.cut.length > before);
    return harness.upstream.cut.slice(before);
  }

  /** After a refusal or cut: one log line for it, nothing leaked, and the proxy still serves. */
  async function expectCleanAftermath(proxy: ListeningProxy, answer: RawAnswer, requestId: string): Promise<Record<string, unknown>> {
    const line = await theOnlyLogLine(proxy, requestId);
    expectNothingLeaked(proxy, answer);
    await expectStillServing(proxy);
    return line;
  }

  /** Runs a refusal: exact contract error, nothing upstream, nothing leaked, one log line, still serving. */
  async function expectRefusal(proxy: ListeningProxy, steps: RawStep[], status: number, code: ErrorCode): Promise<Record<string, unknown>> {
    const started = harness.upstream.started();
    const answer = await rawExchange(proxy.port, steps);
    const error = expectProxyError({ status: answer.status, headers: answer.headers, text: answer.body }, status, code, 'proxy');
    expect(harness.upstream.started()).toBe(started);
    const line = await expectCleanAftermath(proxy, answer, error.requestId);
    expect(line.errorCode).toBe(code);
    return line;
  }

  describe('refused by the HTTP parser, before any request exists', () => {
    it.each<[string, number, ErrorCode, () => string]>([
      ['a bare CR inside a header value (CRLF injection)', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/x', [`X-Inject: ${MARKER}\rInjected: 1`])],
      ['a bare LF inside a header value', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/x', [`X-Inject: ${MARKER}\nInjected: 1`])],
      ['a NUL inside a header value', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/x', [`X-Inject: ${MARKER}\u0000b`])],
      ['an obs-fold continuation line', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/x', ['X-Inject: a', ` ${MARKER}`])],
      ['a space inside a header name', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/x', [`X Inject: ${MARKER}`])],
      [
        'duplicate Content-Length with different values',
        400,
        'REQUEST_MALFORMED',
        () => `${head('POST /forward/echo/x', ['Content-Length: 3', 'Content-Length: 4'])}abcd`,
      ],
      [
        'duplicate Content-Length with equal values',
        400,
        'REQUEST_MALFORMED',
        () => `${head('POST /forward/echo/x', ['Content-Length: 3', 'Content-Length: 3'])}abc`,
      ],
      [
        'Content-Length together with Transfer-Encoding',
        400,
        'REQUEST_MALFORMED',
        () => `${head('POST /forward/echo/x', ['Content-Length: 3', 'Transfer-Encoding: chunked'])}3\r\nabc\r\n0\r\n\r\n`,
      ],
      ['a non-numeric Content-Length', 400, 'REQUEST_MALFORMED', () => `${head('POST /forward/echo/x', ['Content-Length: 3x'])}abc`],
      [
        'a Transfer-Encoding not ending in chunked',
        400,
        'REQUEST_MALFORMED',
        () => `${head('POST /forward/echo/x', ['Transfer-Encoding: chunked, gzip'])}3\r\nabc\r\n0\r\n\r\n`,
      ],
      [
        'a header section over listen.maxHeaderBytes',
        431,
        'HEADERS_TOO_LARGE',
        () => head('GET /forward/echo/x', [`X-Big: ${MARKER}${'a'.repeat(MAX_HEADER_BYTES)}`]),
      ],
      ['a raw NUL in the request target', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/a\u0000b')],
      ['an authority-form target on GET', 400, 'REQUEST_MALFORMED', () => head('GET 127.0.0.1:80')],
      ['the TRACK method', 400, 'REQUEST_MALFORMED', () => head('TRACK /forward/echo/x')],
    ])('%s: %s %s', async (_name, status, code, request) => {
      const line = await expectRefusal(open, [request()], status, code);
      expect(line).toMatchObject({
        level: 'warn',
        msg: 'client error',
        status,
        remoteAddress: '127.0.0.1',
        answered: true,
        parserCode: expect.stringMatching(/^HPE_/),
      });
    });

    it('headers that arrive too slowly: 408 REQUEST_TIMEOUT', async () => {
      // Half a header section, then nothing: the proxy gives up after listen.headersTimeoutMs.
      const line = await expectRefusal(open, [`GET /forward/echo/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ${MARKER}`], 408, 'REQUEST_TIMEOUT');
      expect(line).toMatchObject({ msg: 'client error', parserCode: 'ERR_HTTP_REQUEST_TIMEOUT' });
    });

    it('counts parser refusals in secure_proxy_errors_total', async () => {
      const metrics = await open.t.proxy.metrics.render();
      expect(metrics).toContain('secure_proxy_errors_total{source="proxy",code="HEADERS_TOO_LARGE"} 1');
    });

    it('a malformed chunk inside a body the app is already handling: answered once, logged on the request line', async () => {
      const answer = await rawExchange(open.port, [`${head('POST /forward/echo/bad-chunk', ['Transfer-Encoding: chunked'])}5\r\nhello\r\nzz\r\n${MARKER}\r\n`]);
      const error = expectProxyError({ status: answer.status, headers: answer.headers, text: answer.body }, 400, 'REQUEST_MALFORMED', 'proxy');
      // The upstream may have seen the request start; it never got a complete one.
      expect(harness.upstream.received.filter((r) => r.url.includes('bad-chunk'))).toHaveLength(0);
      const line = await expectCleanAftermath(open, answer, error.requestId);
      expect(line).toMatchObject({ msg: 'request', path: '/forward/echo/bad-chunk', errorCode: 'REQUEST_MALFORMED', aborted: true });
    });
  });

  describe('refused by the proxy before routing or forwarding', () => {
    it.each<[string, number, ErrorCode, () => string]>([
      ['a raw dot segment', 400, 'PATH_REJECTED', () => head('GET /forward/echo/../x')],
      ['an encoded dot segment %2e%2e', 400, 'PATH_REJECTED', () => head('GET /forward/echo/%2e%2e/x')],
      ['a mixed-case encoded dot segment %2E%2e', 400, 'PATH_REJECTED', () => head('GET /forward/echo/%2E%2e/x')],
      ['a double-encoded dot segment %252e%252e', 400, 'PATH_REJECTED', () => head('GET /forward/echo/%252e%252e/x')],
      ['a backslash', 400, 'PATH_REJECTED', () => head('GET /forward/echo/a\\..\\b')],
      ['an encoded slash %2f', 400, 'PATH_REJECTED', () => head('GET /forward/echo/a%2f..%2fb')],
      ['an encoded backslash %5C', 400, 'PATH_REJECTED', () => head('GET /forward/echo/a%5C..%5Cb')],
      ['an encoded NUL %00', 400, 'PATH_REJECTED', () => head('GET /forward/echo/a%00b')],
      ['an absolute-form target', 400, 'PATH_REJECTED', () => head('GET http://127.0.0.1:1/forward/echo/x')],
      ['an asterisk-form target', 400, 'PATH_REJECTED', () => head('OPTIONS *')],
      ['the TRACE method', 405, 'METHOD_NOT_ALLOWED', () => head('TRACE /forward/echo/x')],
      ['the CONNECT method (authority-form)', 405, 'METHOD_NOT_ALLOWED', () => head('CONNECT 127.0.0.1:80', [], { host: '127.0.0.1:80' })],
      ['HTTP/1.1 without a Host header', 400, 'REQUEST_MALFORMED', () => head('GET /forward/echo/x', [], { host: null })],
    ])('%s: %s %s', async (_name, status, code, request) => {
      // Asks the proxy to close after answering, so the answer is read whole.
      const withClose = request().replace(/\r\n\r\n$/, '\r\nConnection: close\r\n\r\n');
      await expectRefusal(open, [withClose], status, code);
    });

    it('a declared Content-Length over services.<name>.maxBodyBytes: 413 before the secret is read', async () => {
      const cacheLookups: string[] = [];
      const onCache = (event: { path: string }) => cacheLookups.push(event.path);
      open.t.proxy.events.on('secret:cache', onCache);
      try {
        await expectRefusal(
          open,
          [`${head('POST /forward/echo/big', [`Content-Length: ${MAX_BODY + 1}`, 'Connection: close'])}${'a'.repeat(MAX_BODY + 1)}`],
          413,
          'BODY_TOO_LARGE',
        );
      } finally {
        open.t.proxy.events.off('secret:cache', onCache);
      }
      // expectStillServing inside expectRefusal read the secret once, after the refusal.
      expect(cacheLookups).toEqual(['svc/echo']);
    });

    it('a body of exactly maxBodyBytes is forwarded whole', async () => {
      const body = 'b'.repeat(MAX_BODY);
      const answer = await rawExchange(open.port, [`${head('POST /forward/echo/exact', [`Content-Length: ${MAX_BODY}`, 'Connection: close'])}${body}`]);
      expect(answer.status).toBe(200);
      const received = harness.upstream.received.find((r) => r.url === '/exact');
      expect(received?.body.toString()).toBe(body);
    });
  });

  describe('bodies that grow too large or stall while streaming', () => {
    it('a chunked body that grows past maxBodyBytes: 413, and the upstream request is aborted', async () => {
      const started = harness.upstream.started();
      const cut = harness.upstream.cut.length;
      const half = MAX_BODY / 2;
      const answer = await rawExchange(open.port, [
        `${head('POST /forward/echo/grows', ['Transfer-Encoding: chunked'])}${half.toString(16)}\r\n${'a'.repeat(half)}\r\n`,
        // The first chunk (under the limit) is on its way upstream before the rest is sent.
        { until: () => harness.upstream.started() > started },
        `${MAX_BODY.toString(16)}\r\n${'b'.repeat(MAX_BODY)}\r\n0\r\n\r\n`,
      ]);
      const error = expectProxyError({ status: answer.status, headers: answer.headers, text: answer.body }, 413, 'BODY_TOO_LARGE', 'proxy');
      expect(answer.headers.connection).toBe('close');
      const [aborted] = await cutsSince(cut);
      expect(aborted.url).toBe('/grows');
      expect(aborted.bodyLength).toBeLessThanOrEqual(MAX_BODY);
      expect(harness.upstream.received.filter((r) => r.url === '/grows')).toHaveLength(0);
      await expectCleanAftermath(open, answer, error.requestId);
    });

    it('a body that stops arriving for listen.bodyTimeoutMs: 408, and the upstream request is aborted', async () => {
      const started = harness.upstream.started();
      const cut = harness.upstream.cut.length;
      const answer = await rawExchange(open.port, [`${head('POST /forward/echo/stalls', ['Content-Length: 100'])}only-ten!!`]);
      expect(harness.upstream.started()).toBe(started + 1);
      const error = expectProxyError({ status: answer.status, headers: answer.headers, text: answer.body }, 408, 'REQUEST_TIMEOUT', 'proxy');
      expect(error.message).toContain('listen.bodyTimeoutMs');
      expect(await cutsSince(cut)).toEqual([{ method: 'POST', url: '/stalls', bodyLength: 10 }]);
      await expectCleanAftermath(open, answer, error.requestId);
    });

    it('a client that goes away mid-body: the upstream request is aborted, one audit line, the proxy keeps serving', async () => {
      const started = harness.upstream.started();
      const cut = harness.upstream.cut.length;
      const answer = await rawExchange(open.port, [
        `${head('POST /forward/echo/client-left', ['Content-Length: 1000'])}${'c'.repeat(100)}`,
        { until: () => harness.upstream.started() > started },
        { cut: true },
      ]);
      expect(answer.status).toBe(0);
      expect(await cutsSince(cut)).toEqual([{ method: 'POST', url: '/client-left', bodyLength: 100 }]);
      await waitFor('audit line', () => open.t.logs.entries().some((e) => e.path === '/forward/echo/client-left'));
      const lines = open.t.logs.entries().filter((e) => e.path === '/forward/echo/client-left');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', msg: 'request', aborted: true, status: 499 });
      expectNothingLeaked(open, answer);
      await expectStillServing(open);
    });
  });

  describe('Host and forwarding headers', () => {
    it('without listen.allowedHosts, a Host naming another host is answered and never forwarded', async () => {
      const before = harness.upstream.received.length;
      const answer = await rawExchange(open.port, [head('GET /forward/echo/foreign-host', ['Connection: close'], { host: 'evil.example' })]);
      expect(answer.status).toBe(200);
      const received = harness.upstream.received.slice(before);
      expect(received).toHaveLength(1);
      expect(received[0].headers.host).toBe(`127.0.0.1:${harness.upstream.port}`);
      expect(received[0].rawHeaders.join('\n')).not.toContain('evil.example');
      expectNothingLeaked(open, answer);
    });

    it.each<[string, number, ErrorCode | null, string | null]>([
      ['a host not in the list', 421, 'HOST_NOT_ALLOWED', 'evil.example'],
      ['a listed name with another port than listed', 421, 'HOST_NOT_ALLOWED', 'alias.internal:1'],
      ['a name that only ends like a listed one', 421, 'HOST_NOT_ALLOWED', 'x.proxy.internal'],
      ['no Host at all', 400, 'REQUEST_MALFORMED', null],
      ['a listed name without a port, on any port', 200, null, 'Proxy.Internal:9999'],
      ['a listed name with its listed port', 200, null, 'alias.internal:8443'],
    ])('with listen.allowedHosts, %s: %s', async (_name, status, code, host) => {
      const steps = [head('GET /forward/echo/guarded', ['Connection: close'], { host, auth: guarded.t.tokens.n8n.token })];
      if (code !== null) {
        await expectRefusal(guarded, steps, status, code);
        return;
      }
      const answer = await rawExchange(guarded.port, steps);
      expect(answer.status).toBe(status);
      expect(harness.upstream.received.at(-1)?.headers.host).toBe(`127.0.0.1:${harness.upstream.port}`);
    });

    it('with listen.allowedHosts, ops routes answer under any Host', async () => {
      const answer = await rawExchange(guarded.port, ['GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nConnection: close\r\n\r\n']);
      expect(answer.status).toBe(200);
    });

    it('client-supplied X-Forwarded-*, Forwarded and X-Real-IP are stripped, and none are added', async () => {
      const before = harness.upstream.received.length;
      const answer = await rawExchange(open.port, [
        head('GET /forward/echo/forwarded', [
          `X-Forwarded-For: 10.0.0.1, ${MARKER}`,
          `X-Forwarded-Host: ${MARKER}.example`,
          'X-Forwarded-Proto: https',
          `Forwarded: for=10.0.0.1;host=${MARKER}.example`,
          `X-Real-IP: 10.0.0.1`,
          'Connection: close',
        ]),
      ]);
      expect(answer.status).toBe(200);
      const [received] = harness.upstream.received.slice(before);
      const names = Object.keys(received.headers);
      expect(names.filter((name) => name.startsWith('x-forwarded-') || name === 'forwarded' || name === 'x-real-ip')).toEqual([]);
      expect(received.rawHeaders.join('\n')).not.toContain(MARKER);
    });

    /** Sends `lines` (raw header lines, any spelling) to `service` and returns the header names the upstream received. */
    async function upstreamNamesAfter(service: string, lines: string[]): Promise<{ names: string[]; raw: string; headers: Record<string, unknown> }> {
      const before = harness.upstream.received.length;
      const answer = await rawExchange(open.port, [head(`GET /forward/${service}/family`, [...lines, 'Connection: close'])]);
      expect(answer.status).toBe(200);
      const [received] = harness.upstream.received.slice(before);
      expectNothingLeaked(open, answer);
      return { names: Object.keys(received.headers), raw: received.rawHeaders.join('\n'), headers: received.headers };
    }

    /** Each name in its dashed, underscored and mixed spellings (CGI, WSGI and Rack servers read them all as one). */
    const spelled = (names: string[]): string[] =>
      names.flatMap((name) => [
        name,
        name.replaceAll('-', '_'),
        name.replace('-', '_').toUpperCase(),
        name
          .split('-')
          .map((p) => p[0].toUpperCase() + p.slice(1))
          .join('_'),
      ]);

    it.each([
      [
        'client address claims',
        [
          'X-Forwarded-For',
          'X-Real-IP',
          'True-Client-IP',
          'X-Client-IP',
          'CF-Connecting-IP',
          'Fastly-Client-IP',
          'X-Cluster-Client-IP',
          'Forwarded',
          'X-Original-Host',
        ],
      ],
      ['URL overrides', ['X-Original-URL', 'X-Rewrite-URL', 'X-Original-URI', 'X-Forwarded-Prefix', 'X-Envoy-Original-Path']],
      ['method overrides', ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']],
    ])('%s never reach the upstream, in any spelling of their names', async (_family, names) => {
      const lines = spelled(names).map((name) => `${name}: ${MARKER}`);
      const { raw } = await upstreamNamesAfter('echo', lines);
      expect(raw).not.toContain(MARKER);
    });

    it('a client header that normalises to the injected one (X_Api_Key beside x-api-key) is dropped: the injected credential travels alone', async () => {
      const { headers, raw } = await upstreamNamesAfter('keyed', [
        `X_Api_Key: ${MARKER}`,
        `x-api_key: ${MARKER}`,
        `X-API-KEY: ${MARKER}`,
        'X_Custom_Flag: kept',
      ]);
      expect(headers['x-api-key']).toBe(SECRET);
      expect(headers.x_custom_flag).toBe('kept');
      expect(raw).not.toContain(MARKER);
    });

    it('hop-by-hop headers, and headers the client names in Connection, never reach the upstream', async () => {
      const before = harness.upstream.received.length;
      const answer = await rawExchange(open.port, [
        head('GET /forward/echo/hop', [
          'Connection: close, X-Hop-Secret',
          `X-Hop-Secret: ${MARKER}`,
          'Keep-Alive: timeout=5',
          'TE: trailers',
          'Upgrade: h2c',
          `Proxy-Authorization: Basic ${MARKER}`,
          'X-Kept: end-to-end',
        ]),
      ]);
      expect(answer.status).toBe(200);
      const [received] = harness.upstream.received.slice(before);
      for (const name of ['x-hop-secret', 'keep-alive', 'te', 'upgrade', 'proxy-authorization']) expect(received.headers[name]).toBeUndefined();
      expect(received.headers['x-kept']).toBe('end-to-end');
      expect(received.rawHeaders.join('\n')).not.toContain(MARKER);
      expectNothingLeaked(open, answer);
    });
  });
});
