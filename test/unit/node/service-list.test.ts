import { NodeApiError, NodeOperationError, type ICredentialDataDecryptedObject, type ILoadOptionsFunctions } from 'n8n-workflow';
import { failureText, keepDashes, listFailure } from '../../../nodes/SecureProxyRequest/methods/list-errors';
import { getServices, LIST_FAILURE_VALUE, searchServices, serviceListItems, serviceOptions } from '../../../nodes/SecureProxyRequest/methods/load-options';
import { requestFailedError } from '../../../nodes/SecureProxyRequest/errors';
import { createExecuteMock, jsonResponse, networkError, NODE, TEST_TOKEN, type RawFullResponse } from '../../support/n8n-execute-mock';

const SERVICES = {
  services: [
    { name: 'echo', description: 'Echo test API', methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], paths: ['/**'] },
    { name: 'github', description: 'GitHub REST API.', methods: ['GET', 'POST'], paths: ['/repos/**', '/user'] },
    { name: 'bare', description: '', methods: ['GET'], paths: ['/**'] },
  ],
};

const tokenRefused = () =>
  jsonResponse(
    401,
    { error: { code: 'PROXY_TOKEN_INVALID', message: 'The proxy token is not known to this proxy.', source: 'proxy', requestId: 'r-1' } },
    { 'x-secure-proxy-error': 'PROXY_TOKEN_INVALID' },
  );

const refused = () => {
  throw new NodeApiError(NODE, networkError('ECONNREFUSED'));
};

/** A load-options context whose saved parameters are `parameters`. */
function listContext(respond: () => RawFullResponse, parameters: Record<string, unknown> = {}, credentials?: ICredentialDataDecryptedObject) {
  const { ctx, requests } = createExecuteMock({ parameters, respond, ...(credentials ? { credentials } : {}) });
  return { ctx: ctx as unknown as ILoadOptionsFunctions, requests };
}

/** What the editor gets to show from a thrown error: n8n's REST layer sends message, description and httpCode. */
function shown(error: unknown): string {
  const e = error as { message?: string; description?: string; httpCode?: string };
  return [e.httpCode, e.message, e.description].filter(Boolean).join(' | ');
}

const UNREACHABLE = 'The secure proxy is unreachable at http://proxy.test:8080: connection refused (ECONNREFUSED)';

describe('service entries', () => {
  it('version 1: the name, with description, methods and paths as separate sentences', () => {
    expect(serviceOptions(SERVICES.services)).toEqual([
      { name: 'echo', value: 'echo', description: 'Echo test API. All methods.' },
      { name: 'github', value: 'github', description: 'GitHub REST API. Methods: GET, POST. Paths: /repos/**, /user.' },
      { name: 'bare', value: 'bare', description: 'No description. Methods: GET.' },
    ]);
  });

  it('version 2: one line per service, the description and the methods set apart from the name', () => {
    expect(serviceListItems(SERVICES.services).map(({ name, value }) => ({ name, value }))).toEqual([
      { name: 'echo — Echo test API', value: 'echo' },
      { name: 'github — GitHub REST API · GET, POST', value: 'github' },
      { name: 'bare · GET', value: 'bare' },
    ]);
  });
});

describe('version 1 dropdown (getServices)', () => {
  it('lists the services from GET /v1/services', async () => {
    const { ctx, requests } = listContext(() => jsonResponse(200, SERVICES));
    const options = await getServices.call(ctx);
    expect(options.map((option) => option.value)).toEqual(['echo', 'github', 'bare']);
    expect(requests[0]).toMatchObject({ method: 'GET', url: 'http://proxy.test:8080/v1/services' });
  });

  it('throws a NodeOperationError with the whole text, not a NodeApiError the editor shows as "[object Object]"', async () => {
    const { ctx } = listContext(refused);
    const error = await getServices.call(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeOperationError);
    expect(error).not.toBeInstanceOf(NodeApiError);
    // The execute-time headline, then what to check: the dropdown shows only the message.
    expect((error as Error).message).toBe(
      `${UNREACHABLE}. Check that the proxy is running and listens on that host and port, and that the Proxy URL in the "Secure Proxy API" credential is right.`,
    );
  });

  it('says a refused token in the same words as an execution', async () => {
    const { ctx } = listContext(tokenRefused);
    const error = (await getServices.call(ctx).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      'The secure proxy refused the request (PROXY_TOKEN_INVALID): Check the proxy token in the "Secure Proxy API" credential; ask the proxy admin for a new token if it was revoked. The proxy said: The proxy token is not known to this proxy. Proxy request id: r-1.',
    );
  });

  it('keeps a saved service visible when the list cannot be loaded, with the failure as an entry that cannot be picked', async () => {
    const { ctx } = listContext(refused, { service: 'github' });
    const options = await getServices.call(ctx);
    expect(options).toEqual([
      { name: UNREACHABLE, value: LIST_FAILURE_VALUE, description: expect.stringMatching(/^Check that the proxy is running/), disabled: true },
      { name: 'github', value: 'github', description: expect.stringMatching(/^The saved service\./) },
    ]);
    expect(options.filter((option) => option.value === 'github')).toHaveLength(1);
  });

  it('throws when the saved value is an expression or empty: there is no name to keep', async () => {
    for (const service of ['={{ $json.service }}', '', undefined]) {
      const { ctx } = listContext(refused, service === undefined ? {} : { service });
      await expect(getServices.call(ctx)).rejects.toBeInstanceOf(NodeOperationError);
    }
  });

  it('refuses an answer that is not the proxy', async () => {
    const { ctx } = listContext(() => jsonResponse(200, { hello: 'world' }));
    await expect(getServices.call(ctx)).rejects.toThrow(/did not answer \/v1\/services like the secure proxy/);
  });
});

describe('version 2 resource locator list (searchServices)', () => {
  it('lists every service, or those whose name or description matches the filter', async () => {
    const { ctx } = listContext(() => jsonResponse(200, SERVICES));
    expect((await searchServices.call(ctx)).results.map((item) => item.value)).toEqual(['echo', 'github', 'bare']);
    expect((await searchServices.call(ctx, 'REST')).results.map((item) => item.value)).toEqual(['github']);
    expect((await searchServices.call(ctx, ' bar ')).results.map((item) => item.value)).toEqual(['bare']);
    expect((await searchServices.call(ctx, 'nothing')).results).toEqual([]);
  });

  it('throws a NodeApiError with headline, what to do and status apart, as the resource locator shows them', async () => {
    const { ctx } = listContext(tokenRefused);
    const error = (await searchServices.call(ctx).catch((e: unknown) => e)) as NodeApiError;
    expect(error).toBeInstanceOf(NodeApiError);
    expect(error.message).toBe(
      'The secure proxy refused the request (PROXY_TOKEN_INVALID): Check the proxy token in the "Secure Proxy API" credential; ask the proxy admin for a new token if it was revoked.',
    );
    expect(error.description).toBe('The proxy said: The proxy token is not known to this proxy. Proxy request id: r-1.');
    // 401 makes the editor offer a link to the credential.
    expect(error.httpCode).toBe('401');
  });

  it('says the proxy is unreachable, with the URL intact', async () => {
    const { ctx } = listContext(refused, {}, { url: 'http://secure-proxy.internal:8080', token: TEST_TOKEN });
    const error = (await searchServices.call(ctx).catch((e: unknown) => e)) as NodeApiError;
    expect(error.message).toBe(keepDashes('The secure proxy is unreachable at http://secure-proxy.internal:8080: connection refused (ECONNREFUSED)'));
    // n8n's resource locator splits a message at dashes and joins the pieces with spaces.
    const editorShows = error.message.split(/\s*[-–—]\s*/).join(' ');
    expect(editorShows).toBe(error.message);
    expect(editorShows.replace(/\u2011/g, '-')).toContain('http://secure-proxy.internal:8080');
    // The exact text, real dashes included, stays copyable in the details.
    expect(error.description).toMatch(
      /^The secure proxy is unreachable at http:\/\/secure-proxy\.internal:8080: connection refused \(ECONNREFUSED\)\. Check that the proxy is running/,
    );
  });

  it('turns a credential problem into the same shape', async () => {
    const { ctx } = listContext(() => jsonResponse(200, SERVICES), {}, { url: 'ftp://proxy', token: TEST_TOKEN });
    const error = (await searchServices.call(ctx).catch((e: unknown) => e)) as NodeApiError;
    expect(error).toBeInstanceOf(NodeApiError);
    expect(error.message).toMatch(/is not an http:\/\/ or https:\/\/ URL/);
    // The message had a dash (in its example URL): the details repeat it exactly, then say what to do.
    expect(error.description).toMatch(
      /is not an http:\/\/ or https:\/\/ URL, e\.g\. https:\/\/secure-proxy\.internal:8080\. Fix the "Secure Proxy API" credential\.$/,
    );
  });
});

describe('list failures', () => {
  it('reads headline, details and status of node errors and of anything else', () => {
    const apiFailure = requestFailedError(NODE, networkError('ENOTFOUND'), { target: { baseUrl: 'http://x.test', skipTlsVerification: false } });
    expect(listFailure(apiFailure)).toEqual({
      message: 'The secure proxy is unreachable at http://x.test: host name not found (ENOTFOUND)',
      description: expect.any(String),
    });
    expect(listFailure(new Error('boom'))).toEqual({ message: 'boom', description: '' });
    expect(listFailure('odd')).toEqual({ message: 'odd', description: '' });
  });

  it('joins headline and details without doubling the full stop', () => {
    expect(failureText({ message: 'Down', description: 'Start it.' })).toBe('Down. Start it.');
    expect(failureText({ message: 'Refused: pick one.', description: 'Said no.' })).toBe('Refused: pick one. Said no.');
    expect(failureText({ message: 'Down', description: '' })).toBe('Down');
  });

  it('writes dashes the resource locator would split at as look-alikes', () => {
    expect(keepDashes('a-b – c — d')).toBe('a\u2011b \u2012 c \u2015 d');
    expect(/[-–—]/.test(keepDashes('x-y–z—w'))).toBe(false);
  });
});

describe('no token in list errors (canary)', () => {
  const CANARY = 'spt_canary_LISTcanaryLISTcanaryLISTcanaryLISTcanary42';

  it('keeps the proxy token out of every list error and entry', async () => {
    const credentials = { url: 'http://proxy.test:8080', token: CANARY };
    const answers: Array<() => RawFullResponse> = [
      () => {
        throw new NodeApiError(NODE, networkError('ECONNREFUSED', `Bearer ${CANARY}`));
      },
      () =>
        jsonResponse(
          401,
          { error: { code: 'PROXY_TOKEN_INVALID', message: `token ${CANARY} unknown`, source: 'proxy', requestId: 'r' } },
          { 'x-secure-proxy-error': 'PROXY_TOKEN_INVALID' },
        ),
      () => jsonResponse(500, { echoed: `Bearer ${CANARY}` }),
    ];
    for (const respond of answers) {
      const v1 = await getServices.call(listContext(respond, {}, credentials).ctx).catch((e: unknown) => e);
      const v1Saved = await getServices.call(listContext(respond, { service: 'echo' }, credentials).ctx);
      const v2 = await searchServices.call(listContext(respond, {}, credentials).ctx).catch((e: unknown) => e);
      for (const text of [shown(v1), JSON.stringify(v1), JSON.stringify(v1Saved), shown(v2), JSON.stringify(v2)]) {
        expect(text).not.toContain(CANARY);
        expect(text).not.toContain('[object Object]');
      }
    }
  });
});
