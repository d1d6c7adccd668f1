import { AxiosError } from 'axios';
import NodeVault from 'node-vault';
import { classifyVaultError, parseRetryAfter, vaultOutcome, VaultSessionError, type VaultFailure } from '../../../proxy/src/vault/errors';
import { VAULT_RESPONSE_META, VaultTransportError, type VaultResponseMeta } from '../../../proxy/src/vault/transport';

/** A real node-vault ApiResponseError, made by node-vault's own response handling. */
async function apiError(statusCode: number, body: object = {}, headers: Partial<VaultResponseMeta> = {}): Promise<unknown> {
  const meta: VaultResponseMeta = { status: statusCode, retryAfter: null, location: null, ...headers };
  Object.defineProperty(body, VAULT_RESPONSE_META, { value: meta, enumerable: false });
  const client = NodeVault({ endpoint: 'http://127.0.0.1:1' });
  return client.handleVaultResponse({ statusCode, body, request: { path: '/v1/secret/data/x' } }).then(
    () => {
      throw new Error(`node-vault accepted status ${statusCode}`);
    },
    (err: unknown) => err,
  );
}

type Expected = Partial<VaultFailure> & { kind: VaultFailure['kind'] };

const statusCases: Array<{ name: string; status: number; body?: object; headers?: Partial<VaultResponseMeta>; expected: Expected }> = [
  { name: 'missing secret', status: 404, body: { errors: [] }, expected: { kind: 'not_found', status: 404 } },
  { name: 'permission denied', status: 403, body: { errors: ['permission denied'] }, expected: { kind: 'forbidden', status: 403 } },
  { name: 'dead token (newer Vault wording)', status: 403, body: { errors: ['permission denied', 'invalid token'] }, expected: { kind: 'forbidden' } },
  { name: '401', status: 401, expected: { kind: 'forbidden', status: 401 } },
  { name: 'lease is not renewable', status: 400, body: { errors: ['lease is not renewable'] }, expected: { kind: 'bad_request' } },
  { name: 'sealed', status: 503, body: { errors: ['Vault is sealed'] }, expected: { kind: 'unavailable', status: 503 } },
  { name: 'sealed with Retry-After', status: 503, headers: { retryAfter: '3' }, expected: { kind: 'unavailable', retryAfterSeconds: 3 } },
  { name: 'rate limited', status: 429, headers: { retryAfter: '12' }, expected: { kind: 'unavailable', status: 429, retryAfterSeconds: 12 } },
  { name: 'rate limited without Retry-After', status: 429, expected: { kind: 'unavailable', status: 429 } },
  { name: 'internal error', status: 500, body: { errors: ['storage failure'] }, expected: { kind: 'unavailable', status: 500 } },
  { name: 'bad gateway', status: 502, expected: { kind: 'unavailable', status: 502 } },
  { name: 'perf standby not caught up', status: 412, expected: { kind: 'unavailable', status: 412 } },
  { name: 'unexpected status', status: 418, expected: { kind: 'error', status: 418 } },
  {
    name: 'standby redirect',
    status: 307,
    headers: { location: 'https://vault-active.internal:8200/v1/secret/data/x' },
    expected: { kind: 'unavailable', status: 307, redirectHost: 'vault-active.internal:8200' },
  },
];

const codeCases: Array<{ name: string; err: unknown; expected: Expected }> = [
  { name: 'transport: refused', err: new VaultTransportError('ECONNREFUSED', 'x'), expected: { kind: 'unavailable', status: null } },
  { name: 'transport: deadline', err: new VaultTransportError('ETIMEDOUT', 'x'), expected: { kind: 'unavailable', status: null } },
  { name: 'raw axios: ECONNABORTED (timeout)', err: new AxiosError('timeout', 'ECONNABORTED'), expected: { kind: 'unavailable' } },
  { name: 'raw axios: ECONNRESET', err: new AxiosError('reset', 'ECONNRESET'), expected: { kind: 'unavailable' } },
  { name: 'raw axios: ENOTFOUND', err: new AxiosError('dns', 'ENOTFOUND'), expected: { kind: 'unavailable' } },
  { name: 'TLS: self-signed', err: new VaultTransportError('DEPTH_ZERO_SELF_SIGNED_CERT', 'x'), expected: { kind: 'unavailable' } },
  {
    name: 'TLS: a verify result without its own text (the list shared with upstreams)',
    err: new VaultTransportError('CERT_REVOKED', 'x'),
    expected: {
      kind: 'unavailable',
      reason: "the TLS connection to Vault failed (CERT_REVOKED); set vault.caFile to the CA that signed Vault's certificate, or check vault.address",
    },
  },
  {
    name: 'TLS: https vault.address on a plain HTTP port',
    err: new VaultTransportError('EPROTO', 'x'),
    expected: { kind: 'unavailable', reason: expect.stringContaining('an https vault.address pointing at a plain HTTP port?) (EPROTO)') },
  },
  { name: 'unknown errno', err: new VaultTransportError('ESOMETHING', 'x'), expected: { kind: 'unavailable' } },
  { name: 'plain Error', err: new Error('ECONNREFUSED in the message only'), expected: { kind: 'error', status: null } },
  { name: 'non-error value', err: 'nope', expected: { kind: 'error' } },
  {
    name: 'session error carries its own classification',
    err: new VaultSessionError({ kind: 'unavailable', status: null, reason: 'not authenticated' }, { invalidToken: true }),
    expected: { kind: 'unavailable', reason: 'not authenticated' },
  },
];

describe('classifyVaultError', () => {
  it.each(statusCases)('status $status: $name', async ({ status, body, headers, expected }) => {
    expect(classifyVaultError(await apiError(status, body ?? {}, headers ?? {}))).toMatchObject(expected);
  });

  it.each(codeCases)('$name', ({ err, expected }) => {
    expect(classifyVaultError(err)).toMatchObject(expected);
  });

  it('does not read message text: a 403 whose message says "sealed" is still forbidden', async () => {
    expect(classifyVaultError(await apiError(403, { errors: ['Vault is sealed'] })).kind).toBe('forbidden');
  });

  it('keeps the 404 body so KV can tell missing, deleted and wrong-path apart', async () => {
    const body = { data: { data: null, metadata: { deletion_time: '2024-01-01T00:00:00Z', destroyed: false } } };
    const failure = classifyVaultError(await apiError(404, body));
    expect(failure).toMatchObject({ kind: 'not_found', body: { data: { metadata: { destroyed: false } } } });
  });

  it('a 307 tells the admin what to do and names only the redirect host', async () => {
    const failure = classifyVaultError(await apiError(307, {}, { location: 'http://10.0.0.7:8200/v1/secret/data/x?token=should-not-appear' }));
    expect(failure.kind).toBe('unavailable');
    const reason = failure.kind === 'unavailable' ? failure.reason : '';
    expect(reason).toContain('10.0.0.7:8200');
    expect(reason).toContain('vault.address');
    expect(reason).toContain('load balancer');
    expect(reason).not.toContain('should-not-appear');
  });

  it.each([
    ['unavailable', { kind: 'unavailable', status: 503, reason: 'x' }],
    ['not_found', { kind: 'not_found', status: 404, body: {} }],
    ['forbidden', { kind: 'forbidden', status: 403 }],
    ['error', { kind: 'bad_request', status: 400 }],
    ['error', { kind: 'error', status: null, reason: 'x' }],
  ] as Array<[string, VaultFailure]>)('event outcome %s for %o', (outcome, failure) => {
    expect(vaultOutcome(failure)).toBe(outcome);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['7', 7],
    [' 0 ', 0],
    ['Wed, 21 Oct 2015 07:28:10 GMT', 10],
    ['soon', undefined],
    [null, undefined],
  ] as Array<[string | null, number | undefined]>)('%p → %p', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(expected);
  });
});
