import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import {
  bodyExcerpt,
  describeRequestFailure,
  errorForResponse,
  errorItemJson,
  MAX_BODY_EXCERPT,
  readProxyError,
  redactTokens,
  requestFailedError,
} from '../../../nodes/SecureProxyRequest/errors';
import { ERROR_CODES, type ErrorCode } from '../../../nodes/SecureProxyRequest/shared/contract';
import type { ProxyResponse, ProxyTarget } from '../../../nodes/SecureProxyRequest/shared/types';
import { NODE, networkError } from '../../support/n8n-execute-mock';

const target: ProxyTarget = { baseUrl: 'http://proxy.test:8080', skipTlsVerification: false };
const context = { target, service: 'github', itemIndex: 3 };

function proxyMade(code: ErrorCode, message = 'Proxy says no.'): ProxyResponse {
  const { status, source } = ERROR_CODES[code];
  return {
    statusCode: status,
    statusMessage: '',
    headers: { 'x-secure-proxy-error': code, 'x-request-id': 'req-1', 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ error: { code, message, source, requestId: 'req-1' } })),
  };
}

function relayed(statusCode: number, body: string, contentType = 'application/json'): ProxyResponse {
  return { statusCode, statusMessage: 'Not Found', headers: { 'content-type': contentType, 'x-request-id': 'req-2' }, body: Buffer.from(body) };
}

describe('proxy-made errors', () => {
  it.each([
    ['PROXY_TOKEN_EXPIRED', /^The secure proxy refused the request for service "github" \(PROXY_TOKEN_EXPIRED\): Put the rotated proxy token/],
    ['SERVICE_UNKNOWN', /^The secure proxy refused the request for service "github" \(SERVICE_UNKNOWN\): Pick a service from the Service list/],
    ['SERVICE_NOT_ALLOWED', /^The secure proxy refused the request .*: Pick another service from the Service list/],
    ['METHOD_NOT_ALLOWED', /\(METHOD_NOT_ALLOWED\): Use a method the service allows: the Service list shows/],
    ['SECRET_NOT_FOUND', /^The secure proxy could not get the API credential for service "github" from Vault \(SECRET_NOT_FOUND\): Ask the Vault admin/],
    ['VAULT_UNAVAILABLE', /from Vault \(VAULT_UNAVAILABLE\): Retry later/],
    ['UPSTREAM_TIMEOUT', /^The secure proxy could not reach the API for service "github" \(UPSTREAM_TIMEOUT\): .*timeoutMs/],
    ['UPSTREAM_UNREACHABLE', /could not reach the API .*status page/],
  ] as Array<[ErrorCode, RegExp]>)('%s says which side failed, the code and what to do in the headline, then what the proxy said', (code, message) => {
    const error = errorForResponse(NODE, proxyMade(code), context);
    expect(error).toBeInstanceOf(NodeApiError);
    expect(error?.message).toMatch(message);
    expect(error?.description).toBe('The proxy said: Proxy says no. Proxy request id: req-1.');
    expect(error?.httpCode).toBe(String(ERROR_CODES[code].status));
    expect(error?.context).toMatchObject({
      proxyErrorCode: code,
      proxyErrorSource: ERROR_CODES[code].source,
      proxyRequestId: 'req-1',
      service: 'github',
      itemIndex: 3,
    });
  });

  it("puts the editor's words before the admin's", () => {
    const error = errorForResponse(
      NODE,
      proxyMade('SERVICE_UNKNOWN', "No service named 'gihub' is configured in the proxy. GET /v1/services lists the services this token may use."),
      context,
    );
    const text = `${error?.message}\n${error?.description}`;
    expect(error?.message).not.toContain('/v1/services');
    expect(text.indexOf('Service list')).toBeLessThan(text.indexOf('GET /v1/services'));
  });

  it('has a distinct message for every source', () => {
    const messages = (['PROXY_TOKEN_INVALID', 'SECRET_NOT_FOUND', 'UPSTREAM_TIMEOUT'] as ErrorCode[]).map(
      (code) => errorForResponse(NODE, proxyMade(code), context)?.message.split(' (')[0],
    );
    expect(new Set(messages).size).toBe(3);
  });

  it('reads a code newer than this node from the header when the body is not the contract', () => {
    const response: ProxyResponse = { statusCode: 429, statusMessage: '', headers: { 'x-secure-proxy-error': 'RATE_LIMITED' }, body: Buffer.from('slow down') };
    expect(readProxyError(response)).toMatchObject({ code: 'RATE_LIMITED', source: 'proxy', message: 'The secure proxy reported an error.' });
    expect(errorForResponse(NODE, response, context)?.message).toMatch(/\(RATE_LIMITED\): See the proxy's error code list/);
  });

  it('is not built for successful responses', () => {
    expect(errorForResponse(NODE, relayed(200, '{}'), context)).toBeNull();
    expect(errorForResponse(NODE, relayed(302, ''), context)).toBeNull();
  });
});

describe('relayed API errors', () => {
  it('says the API answered, with status and body', () => {
    const error = errorForResponse(NODE, relayed(404, '{"message":"Not Found","documentation_url":"https://docs"}'), context);
    expect(error?.message).toBe('The API of service "github" answered with 404 Not Found');
    expect(error?.description).toContain('The error comes from the API itself');
    expect(error?.description).toContain('{"message":"Not Found","documentation_url":"https://docs"}');
    expect(error?.httpCode).toBe('404');
    expect(error?.context).toMatchObject({ service: 'github', proxyRequestId: 'req-2' });
  });

  it('truncates long bodies and does not quote binary ones', () => {
    const long = 'x'.repeat(MAX_BODY_EXCERPT + 500);
    expect(bodyExcerpt(relayed(500, long, 'text/plain'))).toBe(`${'x'.repeat(MAX_BODY_EXCERPT)}… (500 more characters)`);
    expect(bodyExcerpt(relayed(500, '\u0000\u0001', 'application/octet-stream'))).toBe('(2 bytes of application/octet-stream)');
    expect(bodyExcerpt(relayed(500, ''))).toBe('(empty body)');
  });

  it('says something else answers when a control-plane call gets a foreign error', () => {
    const error = errorForResponse(NODE, relayed(404, '<html>nginx</html>', 'text/html'), { target });
    expect(error?.message).toBe("The server at http://proxy.test:8080 answered with 404 without the secure proxy's error header");
  });
});

describe('connection failures', () => {
  it.each([
    ['ECONNREFUSED', 'The secure proxy is unreachable at http://proxy.test:8080: connection refused (ECONNREFUSED)', /running/],
    ['ENOTFOUND', 'The secure proxy is unreachable at http://proxy.test:8080: host name not found (ENOTFOUND)', /DNS/],
    ['ETIMEDOUT', 'The secure proxy is unreachable at http://proxy.test:8080: connection timed out (ETIMEDOUT)', /firewall/],
    ['ECONNRESET', 'The secure proxy is unreachable at http://proxy.test:8080: connection reset (ECONNRESET)', /closed the connection/],
  ])('%s: the proxy is unreachable at its URL, and what to check', (code, message, check) => {
    // n8n's helper wraps the axios error in a NodeApiError, whose generic message hides the URL.
    const wrapped = new NodeApiError(NODE, networkError(code));
    const error = requestFailedError(NODE, wrapped, context);
    expect(error).toBeInstanceOf(NodeApiError);
    expect(error.message).toBe(message);
    expect(error.description).toMatch(check);
    expect(error.context).toMatchObject({ proxyUrl: 'http://proxy.test:8080', errorCode: code, itemIndex: 3 });
  });

  it('says how long it waited on a timeout', () => {
    expect(describeRequestFailure(networkError('ECONNABORTED'), { target, timeout: 5000 }).message).toBe(
      'The secure proxy at http://proxy.test:8080 did not answer within 5000 ms (timeout)',
    );
  });

  it('points at the credential CA field on TLS failures', () => {
    const failure = describeRequestFailure(networkError('DEPTH_ZERO_SELF_SIGNED_CERT'), { target });
    expect(failure.message).toMatch(/TLS connection to the secure proxy at http:\/\/proxy\.test:8080 failed/);
    expect(failure.description).toMatch(/CA Certificate/);
  });

  it("passes n8n's own setup errors through", () => {
    const setup = new NodeOperationError(NODE, 'Node does not have any credentials set');
    expect(requestFailedError(NODE, setup, context)).toBe(setup);
  });

  it('quotes an unknown failure without tokens', () => {
    const error = requestFailedError(NODE, new Error('weird failure with Bearer spt_abc_SECRETSECRET inside'), context);
    expect(error.message).toBe('The request to the secure proxy at http://proxy.test:8080 failed: weird failure with Bearer *** inside');
  });
});

describe('no token in errors (canary)', () => {
  const CANARY = 'spt_canary_CANARYcanaryCANARYcanaryCANARYcanary42';

  function everything(error: NodeApiError | NodeOperationError): string {
    return [
      error.message,
      error.description ?? '',
      JSON.stringify(error.context),
      JSON.stringify(error),
      JSON.stringify(errorItemJson(error)),
      String(error.stack),
    ].join('\n');
  }

  it('keeps the Authorization header of a failed request out of the error', () => {
    const axiosError = networkError('ECONNREFUSED', `Bearer ${CANARY}`);
    const wrapped = new NodeApiError(NODE, axiosError);
    // n8n's own wrapper keeps the request config (and the token) on its cause.
    expect(JSON.stringify((wrapped.cause as { config?: unknown }).config)).toContain(CANARY);
    const error = requestFailedError(NODE, wrapped, context);
    expect(everything(error)).not.toContain(CANARY);
    expect(error.cause).toBeUndefined();
  });

  it('keeps request headers carried on a response out of proxy and API errors', () => {
    for (const response of [proxyMade('PROXY_TOKEN_INVALID'), relayed(500, 'boom')]) {
      const withRequest = Object.assign(response, { request: { headers: { authorization: `Bearer ${CANARY}`, 'x-api-key': CANARY } } });
      const error = errorForResponse(NODE, withRequest, context);
      expect(error).not.toBeNull();
      expect(everything(error!)).not.toContain(CANARY);
    }
  });

  it('masks a token echoed in a body or message', () => {
    expect(redactTokens(`auth: Bearer ${CANARY}, raw ${CANARY}`)).toBe('auth: Bearer ***, raw spt_***');
    const error = errorForResponse(NODE, relayed(401, `{"got":"Bearer ${CANARY}"}`), context);
    expect(everything(error!)).not.toContain(CANARY);
    const proxy = errorForResponse(NODE, proxyMade('PROXY_TOKEN_INVALID', `token ${CANARY} unknown`), context);
    expect(everything(proxy!)).not.toContain(CANARY);
  });
});
