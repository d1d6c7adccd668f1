import { NodeApiError } from 'n8n-workflow';
import { proxyTargetFrom } from '../../../nodes/SecureProxyRequest/proxy-target';
import { DEFAULT_TIMEOUT, httpOptionsFor, normalizeResponse, sendToProxy } from '../../../nodes/SecureProxyRequest/transport';
import { createExecuteMock, networkError, TEST_TOKEN } from '../../support/n8n-execute-mock';

describe('proxy target from the credential', () => {
  it.each([
    [{ url: 'http://proxy.test:8080/' }, { baseUrl: 'http://proxy.test:8080', caCertificate: undefined, skipTlsVerification: false }],
    [
      { url: ' https://gw.test/sp// ', caCertificate: ' -----BEGIN CERTIFICATE-----x ', ignoreSSLIssues: true },
      { baseUrl: 'https://gw.test/sp', caCertificate: '-----BEGIN CERTIFICATE-----x', skipTlsVerification: true },
    ],
  ])('reads %j', (credentials, expected) => {
    expect(proxyTargetFrom({ token: TEST_TOKEN, ...credentials })).toEqual({ ok: true, target: expected });
  });

  it.each([
    [{}, /no Proxy URL/],
    [{ url: 'proxy.test:8080' }, /not an http/],
    [{ url: 'ftp://proxy.test' }, /not an http/],
    [{ url: 'https://user:pw@proxy.test' }, /user name or password/],
    [{ url: 'https://proxy.test/?a=1' }, /query/],
  ])('refuses %j', (credentials, problem) => {
    const result = proxyTargetFrom(credentials);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(problem);
  });
});

describe('httpOptionsFor', () => {
  const target = { baseUrl: 'https://proxy.test', skipTlsVerification: false };

  it('asks n8n for the full response with status errors ignored, raw bytes and no redirects', () => {
    expect(httpOptionsFor(target, { method: 'POST', path: '/forward/x/y?z=1', headers: { a: 'b' }, body: '{}', timeout: 10 })).toEqual({
      method: 'POST',
      url: 'https://proxy.test/forward/x/y?z=1',
      headers: { a: 'b' },
      body: '{}',
      encoding: 'arraybuffer',
      json: false,
      returnFullResponse: true,
      ignoreHttpStatusErrors: true,
      disableFollowRedirect: true,
      sendCredentialsOnCrossOriginRedirect: false,
      timeout: 10,
    });
  });

  it('defaults the timeout and applies the credential TLS settings (never on by default)', () => {
    const plain = httpOptionsFor(target, { method: 'GET', path: '/v1/services' });
    expect(plain.timeout).toBe(DEFAULT_TIMEOUT);
    expect(plain).not.toHaveProperty('skipSslCertificateValidation');
    expect(plain).not.toHaveProperty('agentOptions');
    const tls = httpOptionsFor({ ...target, caCertificate: 'PEM', skipTlsVerification: true }, { method: 'GET', path: '/' });
    expect(tls.skipSslCertificateValidation).toBe(true);
    expect(tls.agentOptions).toEqual({ ca: 'PEM' });
  });
});

describe('normalizeResponse', () => {
  it.each([
    [{ statusCode: 200, statusMessage: 'OK', headers: { 'Content-Type': 'text/plain', 'Set-Cookie': ['a', 'b'] }, body: Buffer.from('hi') }, 'hi'],
    [{ statusCode: 200, headers: {}, body: new Uint8Array([104, 105]).buffer }, 'hi'],
    [{ statusCode: 200, headers: {}, body: 'hi' }, 'hi'],
    [{ statusCode: 204, headers: {}, body: undefined }, ''],
    [{ statusCode: 200, headers: {}, body: { a: 1 } }, '{"a":1}'],
  ])('normalizes %#', (raw, text) => {
    const response = normalizeResponse(raw);
    expect(response.body.toString('utf8')).toBe(text);
  });

  it('lower-cases header names', () => {
    expect(normalizeResponse({ statusCode: 200, headers: { 'X-Request-Id': 'r', 'Set-Cookie': ['a'] } }).headers).toEqual({
      'x-request-id': 'r',
      'set-cookie': ['a'],
    });
  });
});

describe('sendToProxy', () => {
  const target = { baseUrl: 'http://proxy.test:8080', skipTlsVerification: false };

  it('sends through httpRequestWithAuthentication with the secureProxyApi credential', async () => {
    const { ctx, requests } = createExecuteMock({
      parameters: {},
      respond: () => ({ statusCode: 200, headers: { 'x-request-id': 'r' }, body: Buffer.from('ok') }),
    });
    const response = await sendToProxy.call(ctx, target, { method: 'GET', path: '/forward/echo/hello' });
    expect(response).toEqual({ statusCode: 200, statusMessage: '', headers: { 'x-request-id': 'r' }, body: Buffer.from('ok') });
    expect(requests[0].url).toBe('http://proxy.test:8080/forward/echo/hello');
  });

  it('turns a failure without an answer into the "unreachable" error', async () => {
    const { ctx } = createExecuteMock({
      parameters: {},
      respond: () => {
        throw new NodeApiError({ id: 'n', name: 'n', type: 't', typeVersion: 1, position: [0, 0], parameters: {} }, networkError('ECONNREFUSED'));
      },
    });
    await expect(sendToProxy.call(ctx, target, { method: 'GET', path: '/x' }, { service: 'echo', itemIndex: 0 })).rejects.toThrow(
      'The secure proxy is unreachable at http://proxy.test:8080: connection refused (ECONNREFUSED)',
    );
  });
});
