/**
 * The leak suite: canary secrets and canary proxy tokens, a broad mix of traffic through real
 * proxies (one per log level: redaction must hold at every level), then a search of
 * everything observable for every spelling of every canary: each response the clients got
 * (status line, headers, body), every log line, /metrics, the control plane and the ops
 * endpoints. The API behind the proxy is careless on purpose: it reflects the credentials it
 * receives in headers, JSON, text, HTML, XML, form bodies, gzip, a redirect, an error body
 * and its status line.
 */
import { gunzipSync } from 'node:zlib';
import { ERROR_CODES, ERROR_HEADER, type ErrorCode } from '../../proxy/src/contract/contract';
import { LOG_LEVELS, type ProxyConfigInput } from '../../proxy/src/config/schema';
import { hashToken } from '../../proxy/src/auth/token-format';
import { startLeakyUpstream, type LeakyUpstream } from '../support/leaky-upstream';
import { expectProxyError } from '../support/proxy-assertions';
import { canary, listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { deadPort } from '../support/secrets-harness';
import { createToken, vaultCall } from '../support/vault-setup';

// Secrets hold ':', '+' and '=' so that their percent-encoded spelling differs from the raw one.
const BEARER = `${canary('bearer')}:b+1=`;
const HEADER_KEY = `${canary('header')}+k`;
const BASIC_PASSWORD = `${canary('basic')}:p=`;
const BASIC_CREDENTIALS = Buffer.from(`api-user:${BASIC_PASSWORD}`).toString('base64');
const QUERY_KEY = `${canary('query')}:q+=`;
/** Holds '/' and '"', which JSON encoders escape: scrubbing must catch the escaped spelling too. */
const QUOTED = `${canary('quoted')}/"q"`;

/** Proxy tokens: `spt_<id>_<secret>`, the secret part a canary. */
function tokenOf(id: string): { id: string; secret: string; token: string } {
  const secret = canary(`tok${id}`);
  return { id, secret, token: `spt_${id}_${secret}` };
}
const TOKENS = { prod: tokenOf('prod'), expired: tokenOf('old'), other: tokenOf('other'), unknown: tokenOf('none') };
const APPROLE_SECRET_ID = canary('secretid');

const SERVICES_WITH_SECRETS = ['bearer', 'header', 'basic', 'query', 'quoted'] as const;
const ECHO_ROUTES: ReadonlyArray<readonly [route: string, status: number]> = [
  ['json', 200],
  ['text', 200],
  ['html', 200],
  ['xml', 200],
  ['form', 200],
  ['gzip', 200],
  ['redirect', 302],
  ['error', 500],
  ['reason', 401],
];

type ServiceInput = ProxyConfigInput['services'][string];

/** Every spelling a value could leak in: raw, base64, percent-encoded, JSON-escaped (and `\/`). */
function spellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [...new Set([value, Buffer.from(value).toString('base64'), encodeURIComponent(value), json, json.replaceAll('/', '\\/')])];
}

/** Text of a response with a gzip body also searched decoded (the proxy must not relay one, but if it did). */
function observable(res: RawResponse): string {
  const gzipped = res.headers['content-encoding'] === 'gzip';
  return gzipped ? `${res.transcript}\n${gunzipSync(res.body).toString('latin1')}` : res.transcript;
}

describe('leak suite: no secret or proxy token in anything observable', () => {
  let harness: ProxyHarness;
  let leaky: LeakyUpstream;
  let vaultToken: string;
  let downPort: number;
  /** The service secrets in every spelling: the upstream gets them, nothing else may. */
  let serviceSecrets: string[];
  /** Proxy tokens and the proxy's own Vault credentials: nobody but the proxy may ever see them. */
  let proxyCredentials: string[];

  beforeAll(async () => {
    harness = await startHarness({
      'svc/bearer': { token: BEARER },
      'svc/header': { key: HEADER_KEY },
      'svc/basic': { username: 'api-user', password: BASIC_PASSWORD },
      'svc/query': { key: QUERY_KEY },
      'svc/quoted': { token: QUOTED },
      'svc/flaky': { token: canary('flaky') },
    });
    leaky = await startLeakyUpstream();
    downPort = await deadPort();
    // A canary AppRole secret id for the proxies that log in with AppRole, a Vault token for the others.
    const approle = `${harness.vault.prefix}-approle`;
    await vaultCall(harness.vault, 'POST', `auth/${approle}/role/proxy/custom-secret-id`, { secret_id: APPROLE_SECRET_ID });
    vaultToken = await createToken(harness.vault, { policies: [`${harness.vault.prefix}-proxy`], ttl: '1h' });
    serviceSecrets = [BEARER, HEADER_KEY, BASIC_PASSWORD, BASIC_CREDENTIALS, QUERY_KEY, QUOTED].flatMap(spellings);
    proxyCredentials = [...Object.values(TOKENS).flatMap((t) => [t.token, t.secret]), APPROLE_SECRET_ID, vaultToken, harness.vault.rootToken].flatMap(
      spellings,
    );
  });

  afterAll(async () => {
    await leaky?.close();
    await harness?.close();
  });

  describe.each(LOG_LEVELS)('with logging.level %s', (level) => {
    let t: TestProxy;
    let listening: ProxyListener;
    const responses: RawResponse[] = [];

    beforeAll(async () => {
      t = await startProxy(harness, (base) => {
        const auth =
          level === 'debug' || level === 'info' ? { ...base.vault.auth, secretId: APPROLE_SECRET_ID } : { method: 'token' as const, token: vaultToken };
        const service = (secret: string, inject: ServiceInput['inject'], extra: Partial<ServiceInput> = {}): ServiceInput => ({
          target: `${leaky.url}/base`,
          secret,
          inject,
          ...extra,
        });
        const bearer = { type: 'bearer', field: 'token' } as const;
        return {
          vault: { ...base.vault, auth },
          logging: { level },
          clients: {
            'n8n-prod': {
              tokenHashes: [hashToken(TOKENS.prod.token), { hash: hashToken(TOKENS.expired.token), expiresAt: '2020-01-01T00:00:00Z', id: 'old' }],
              services: [...SERVICES_WITH_SECRETS, 'policy', 'missing', 'denied', 'flaky', 'down', 'slow'],
            },
            'n8n-other': { tokenHashes: [hashToken(TOKENS.other.token)], services: ['policy'] },
          },
          services: {
            bearer: service('svc/bearer', bearer),
            header: service('svc/header', { type: 'header', name: 'X-Api-Key', template: 'Key {{key}}' }),
            basic: service('svc/basic', { type: 'basic' }),
            query: service('svc/query', { type: 'query', param: 'api_key', field: 'key' }),
            quoted: service('svc/quoted', bearer),
            policy: service('svc/bearer', bearer, { methods: ['GET'], paths: ['/allowed/**'] }),
            missing: service('svc/missing', bearer),
            denied: service('elsewhere/secret', bearer),
            flaky: service('svc/flaky', bearer),
            down: { target: `http://127.0.0.1:${downPort}/base`, secret: 'svc/bearer', inject: bearer },
            slow: { target: harness.upstream.url, secret: 'svc/bearer', inject: bearer, timeoutMs: 300 },
          },
        };
      });
      listening = await listenProxy(t);
    });

    afterAll(async () => {
      await listening?.close();
      await t?.proxy.stop();
    });

    async function send(path: string, token: string | null, init: { method?: string; headers?: Array<[string, string]> } = {}): Promise<RawResponse> {
      const headers: Array<[string, string]> = token === null ? [] : [['authorization', `Bearer ${token}`]];
      const res = await rawRequest(listening.url, { method: init.method, path, headers: [...headers, ...(init.headers ?? [])] });
      responses.push(res);
      return res;
    }

    function expectRefusal(res: RawResponse, code: ErrorCode): void {
      expectProxyError({ status: res.status, headers: res.headers, text: res.body.toString('utf8') }, ERROR_CODES[code].status, code, ERROR_CODES[code].source);
    }

    it.each(SERVICES_WITH_SECRETS)('relays every echo of the %s credential scrubbed, and the API did get it', async (service) => {
      const before = leaky.received.length;
      for (const [route, status] of ECHO_ROUTES) {
        const res = await send(`/forward/${service}/echo/${route}?page=2&api_key=client-value`, TOKENS.prod.token);
        expect({ route, status: res.status, error: res.headers[ERROR_HEADER] }).toEqual({ route, status, error: undefined });
        expect({ route, redacted: res.transcript.includes('[REDACTED]') }).toEqual({ route, redacted: true });
      }
      const received = JSON.stringify(leaky.received.slice(before));
      const injected = { bearer: BEARER, header: HEADER_KEY, basic: BASIC_CREDENTIALS, query: encodeURIComponent(QUERY_KEY), quoted: QUOTED }[service];
      expect(received).toContain(JSON.stringify(injected).slice(1, -1));
    });

    it('refuses a text answer it cannot decode instead of relaying it unscrubbed', async () => {
      expectRefusal(await send('/forward/bearer/echo/zstd', TOKENS.prod.token), 'UPSTREAM_UNSCRUBBABLE');
    });

    const REFUSALS: ReadonlyArray<readonly [name: string, code: ErrorCode, request: () => Promise<RawResponse>]> = [
      ['no token', 'PROXY_TOKEN_MISSING', () => send('/forward/bearer/echo/json', null)],
      ['an unknown token', 'PROXY_TOKEN_INVALID', () => send('/forward/bearer/echo/json', TOKENS.unknown.token)],
      [
        'a token in the wrong scheme',
        'PROXY_TOKEN_INVALID',
        () => send('/forward/bearer/echo/json', null, { headers: [['authorization', `Basic ${TOKENS.prod.token}`]] }),
      ],
      ['an expired token', 'PROXY_TOKEN_EXPIRED', () => send('/forward/bearer/echo/json', TOKENS.expired.token)],
      ['an unknown token on the control plane', 'PROXY_TOKEN_INVALID', () => send('/v1/whoami', TOKENS.unknown.token)],
      ['an unknown service', 'SERVICE_UNKNOWN', () => send('/forward/nope/echo/json', TOKENS.prod.token)],
      ['a service the client may not use', 'SERVICE_NOT_ALLOWED', () => send('/forward/bearer/echo/json', TOKENS.other.token)],
      ['a method the policy refuses', 'METHOD_NOT_ALLOWED', () => send('/forward/policy/allowed/json', TOKENS.other.token, { method: 'POST' })],
      ['a path the policy refuses', 'PATH_NOT_ALLOWED', () => send('/forward/policy/elsewhere/json', TOKENS.other.token)],
      ['a dot segment', 'PATH_REJECTED', () => send('/forward/bearer/%2e%2e/admin', TOKENS.prod.token)],
      ['TRACE', 'METHOD_NOT_ALLOWED', () => send('/forward/bearer/echo/json', TOKENS.prod.token, { method: 'TRACE' })],
      ['no route', 'ROUTE_NOT_FOUND', () => send('/nowhere', TOKENS.prod.token)],
      ['a secret Vault does not have', 'SECRET_NOT_FOUND', () => send('/forward/missing/echo/json', TOKENS.prod.token)],
      ['a secret Vault does not let the proxy read', 'VAULT_FORBIDDEN', () => send('/forward/denied/echo/json', TOKENS.prod.token)],
      ['an upstream that is down', 'UPSTREAM_UNREACHABLE', () => send('/forward/down/echo/json', TOKENS.prod.token)],
      ['an upstream too slow to answer', 'UPSTREAM_TIMEOUT', () => send('/forward/slow/slow/10000', TOKENS.prod.token)],
    ];

    it.each(REFUSALS)('refuses %s with its exact code and source', async (_name, code, request) => {
      expectRefusal(await request(), code);
    });

    it('answers the control plane and ops endpoints', async () => {
      const whoami = await send('/v1/whoami', TOKENS.prod.token);
      expect(JSON.parse(whoami.body.toString('utf8'))).toMatchObject({ clientId: 'n8n-prod', tokenId: 'prod' });
      expect((await send('/v1/services', TOKENS.prod.token)).status).toBe(200);
      expect((await send('/v1/services', TOKENS.other.token)).status).toBe(200);
      expect((await send('/healthz', null)).status).toBe(200);
      expect((await send('/readyz', null)).status).toBe(200);
      expect((await send('/metrics', null)).status).toBe(200);
    });

    it('refuses with VAULT_UNAVAILABLE when Vault is sealed (emulator only); readiness fails until Vault answers again', async () => {
      const emulator = harness.vault.emulator;
      if (emulator === null) return; // a real Vault cannot be sealed for a test
      emulator.faults.failNext(1, 503, { errors: ['Vault is sealed'] });
      try {
        expectRefusal(await send('/forward/flaky/echo/json', TOKENS.prod.token), 'VAULT_UNAVAILABLE');
      } finally {
        emulator.faults.reset();
      }
    });

    it('a secret holding characters JSON escapes is scrubbed in its escaped spelling too', async () => {
      const res = await send('/forward/quoted/echo/json', TOKENS.prod.token);
      const escaped = JSON.stringify(QUOTED).slice(1, -1);
      expect(res.body.toString('utf8')).toContain('"authorization":"Bearer [REDACTED]"');
      expect(leaky.received.at(-1)?.headers.authorization).toBe(`Bearer ${QUOTED}`);
      expect(res.transcript).not.toContain(escaped);
    });

    it('no canary in any response, log line or metric; every proxy-made answer names a known code', async () => {
      expect(responses.length).toBeGreaterThan(60);
      const metrics = await send('/metrics', null);
      const logs = t.logs.text();
      // The capture works at this level: the Vault and upstream failures above are errors.
      expect(t.logs.entries().some((e) => e.level === 'error' && e.errorCode === 'UPSTREAM_UNREACHABLE')).toBe(true);
      const seenByClientsAndOperators: Record<string, string> = {
        responses: responses.map(observable).join('\n'),
        logs,
        metrics: metrics.transcript,
      };
      const upstreamRequests = JSON.stringify([...leaky.received, ...harness.upstream.received].map((r) => [r.url, r.headers]));
      const searches: Array<[place: string, text: string, values: string[]]> = [
        ...Object.entries(seenByClientsAndOperators).map(([place, text]): [string, string, string[]] => [
          place,
          text,
          [...serviceSecrets, ...proxyCredentials],
        ]),
        ['upstream requests', upstreamRequests, proxyCredentials],
      ];
      for (const [place, text, values] of searches) {
        for (const value of values) {
          const at = text.indexOf(value);
          // The surroundings of a leak say which answer or line it was in.
          expect({ place, leaked: at === -1 ? null : text.slice(Math.max(0, at - 300), at + value.length + 20) }).toEqual({ place, leaked: null });
        }
      }
      // No Vault token of any kind (the AppRole login's own token included) in what clients see.
      for (const text of Object.values(seenByClientsAndOperators)) expect(text).not.toMatch(/hv[sbr]\.[A-Za-z0-9_-]{20,}/);
      for (const res of responses) {
        const code = res.headers[ERROR_HEADER];
        if (code !== undefined) expect(ERROR_CODES[code as ErrorCode]?.status).toBe(res.status);
      }
    });
  });
});
