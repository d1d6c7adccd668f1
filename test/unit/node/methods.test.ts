import type { ICredentialTestFunctions } from 'n8n-workflow';
import { describeWhoami, secureProxyApiTest, testProxyCredential, type CredentialTestHelpers } from '../../../nodes/SecureProxyRequest/methods/credential-test';
import { networkError, TEST_TOKEN } from '../../support/n8n-execute-mock';

const credentials = { url: 'https://proxy.test', token: TEST_TOKEN };

function helpers(answer: () => unknown) {
  const calls: Array<Record<string, unknown>> = [];
  const fake = {
    request: async (options: object) => {
      calls.push(options as Record<string, unknown>);
      return answer();
    },
  } as unknown as CredentialTestHelpers;
  return { fake, calls };
}

const whoami = { clientId: 'n8n-prod', tokenId: 'abc', expiresAt: '2030-01-01T00:00:00.000Z', services: ['github', 'stripe'] };

describe('credential test (GET /v1/whoami)', () => {
  it('names the client, its services and the token expiry', async () => {
    const { fake, calls } = helpers(() => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(whoami)) }));
    const result = await testProxyCredential(fake, credentials);
    expect(result).toEqual({ status: 'OK', message: 'Connected as client "n8n-prod" (services: github, stripe; token expires 2030-01-01T00:00:00.000Z)' });
    expect(calls[0]).toMatchObject({
      method: 'GET',
      uri: 'https://proxy.test/v1/whoami',
      headers: { Authorization: `Bearer ${TEST_TOKEN}` },
      resolveWithFullResponse: true,
      simple: false,
      followRedirect: false,
    });
    expect(calls[0]).not.toHaveProperty('rejectUnauthorized');
  });

  it('says so when the token does not expire or has no services', () => {
    expect(describeWhoami({ ...whoami, expiresAt: null, services: [] })).toBe(
      'Connected as client "n8n-prod" (no services granted yet; token does not expire)',
    );
  });

  it('applies the TLS settings', async () => {
    const { fake, calls } = helpers(() => ({ statusCode: 200, headers: {}, body: Buffer.from(JSON.stringify(whoami)) }));
    await testProxyCredential(fake, { ...credentials, caCertificate: 'PEM', ignoreSSLIssues: true });
    expect(calls[0]).toMatchObject({ rejectUnauthorized: false, agentOptions: { ca: 'PEM' } });
  });

  it.each([
    ['PROXY_TOKEN_EXPIRED', 401, /refused the request \(PROXY_TOKEN_EXPIRED\): Put the rotated proxy token.* The proxy said: expired\./],
    ['PROXY_TOKEN_INVALID', 401, /PROXY_TOKEN_INVALID/],
  ])('reports %s with what to do', async (code, status, message) => {
    const { fake } = helpers(() => ({
      statusCode: status,
      headers: { 'x-secure-proxy-error': code },
      body: Buffer.from(JSON.stringify({ error: { code, message: 'expired.', source: 'proxy', requestId: 'r' } })),
    }));
    const result = await testProxyCredential(fake, credentials);
    expect(result.status).toBe('Error');
    expect(result.message).toMatch(message);
    expect(result.message).not.toContain(TEST_TOKEN);
  });

  it('reports an unreachable proxy', async () => {
    const { fake } = helpers(() => {
      throw networkError('ECONNREFUSED');
    });
    const result = await testProxyCredential(fake, credentials);
    expect(result).toEqual({
      status: 'Error',
      message: expect.stringMatching(/^The secure proxy is unreachable at https:\/\/proxy\.test: connection refused \(ECONNREFUSED\)\. Check/),
    });
    expect(result.message).not.toContain(TEST_TOKEN);
  });

  it('reports a server that is not the proxy', async () => {
    const { fake } = helpers(() => ({ statusCode: 404, headers: { 'content-type': 'text/html' }, body: Buffer.from('<h1>nginx</h1>') }));
    expect((await testProxyCredential(fake, credentials)).message).toMatch(/answered \/v1\/whoami with 404, not like the secure proxy/);
  });

  it('refuses incomplete credentials before calling anything', async () => {
    const { fake, calls } = helpers(() => ({}));
    expect(await testProxyCredential(fake, { url: 'https://proxy.test' })).toEqual({
      status: 'Error',
      message: 'The "Secure Proxy API" credential has no Proxy Token.',
    });
    expect(await testProxyCredential(fake, { token: 'x' })).toMatchObject({ status: 'Error' });
    expect(calls).toHaveLength(0);
  });

  it('is wired as a credentialTest method', async () => {
    const { fake } = helpers(() => ({ statusCode: 200, headers: {}, body: Buffer.from(JSON.stringify(whoami)) }));
    const ctx = { helpers: fake } as unknown as ICredentialTestFunctions;
    const result = await secureProxyApiTest.call(ctx, { id: '1', name: 'c', type: 'secureProxyApi', data: credentials });
    expect(result.status).toBe('OK');
  });
});
