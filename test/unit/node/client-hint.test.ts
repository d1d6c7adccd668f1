import { NodeApiError } from 'n8n-workflow';
import { SecureProxyRequest } from '../../../nodes/SecureProxyRequest/SecureProxyRequest.node';
import { createExecuteMock, jsonResponse, networkError, NODE, type ExecuteMockOptions } from '../../support/n8n-execute-mock';

const node = new SecureProxyRequest();
const base = { service: 'echo', method: 'GET', path: '/hello' };
const whoami = { clientId: 'n8n-prod', tokenId: 'abc', expiresAt: '2030-01-01T00:00:00.000Z', services: ['echo', 'github'] };

/** Answers the data plane with `{ ok: true }` and /v1/whoami with `who` (a response or a throw). */
function proxy(who: () => ReturnType<typeof jsonResponse>): ExecuteMockOptions['respond'] {
  return (request) => (request.url.endsWith('/v1/whoami') ? who() : jsonResponse(200, { ok: true }));
}

async function run(options: ExecuteMockOptions) {
  const { ctx, requests, hints } = createExecuteMock(options);
  const output = await node.execute.call(ctx);
  return { output: output[0], requests, hints };
}

describe('hint naming the proxy client after a run from the editor', () => {
  it('names the client, its services and the token expiry, from GET /v1/whoami', async () => {
    const { output, requests, hints } = await run({ parameters: base, mode: 'manual', respond: proxy(() => jsonResponse(200, whoami)) });
    expect(output).toEqual([{ json: { ok: true }, pairedItem: { item: 0 } }]);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET http://proxy.test:8080/forward/echo/hello', 'GET http://proxy.test:8080/v1/whoami']);
    expect(hints).toEqual([
      {
        type: 'info',
        location: 'outputPane',
        message: 'Sent through the secure proxy as client "n8n-prod" (services: echo, github; token expires 2030-01-01T00:00:00.000Z)',
      },
    ]);
  });

  it('warns when the proxy says the token expires soon', async () => {
    const soon = { ...whoami, expiresInSeconds: 2 * 86_400 + 5, expiringSoon: true };
    const { hints } = await run({ parameters: base, mode: 'manual', respond: proxy(() => jsonResponse(200, soon)) });
    expect(hints).toHaveLength(1);
    expect(hints[0].type).toBe('warning');
    expect(hints[0].message).toMatch(/Warning: the proxy token expires in 2 days; ask the proxy admin to rotate it .* into the "Secure Proxy API" credential$/);
  });

  it('says why when the client cannot be read', async () => {
    const down = await run({
      parameters: base,
      mode: 'manual',
      respond: proxy(() => {
        throw new NodeApiError(NODE, networkError('ECONNREFUSED'));
      }),
    });
    expect(down.hints).toEqual([
      {
        type: 'info',
        location: 'outputPane',
        message:
          'Could not ask the secure proxy which client this credential is: The secure proxy is unreachable at http://proxy.test:8080: connection refused (ECONNREFUSED)',
      },
    ]);
    const odd = await run({ parameters: base, mode: 'manual', respond: proxy(() => jsonResponse(404, { nope: true })) });
    expect(odd.hints[0].message).toBe('Could not ask the secure proxy which client this credential is: /v1/whoami answered with 404');
  });

  it.each(['cli', 'trigger', 'webhook', 'internal'])('makes no extra call in %s runs', async (mode) => {
    const { requests, hints } = await run({ parameters: base, mode, respond: proxy(() => jsonResponse(200, whoami)) });
    expect(requests.map((r) => r.url)).toEqual(['http://proxy.test:8080/forward/echo/hello']);
    expect(hints).toEqual([]);
  });

  it('keeps the proxy token out of the hint (canary)', async () => {
    const CANARY = 'spt_canary_HINTcanaryHINTcanaryHINTcanaryHINTcanary42';
    const { hints } = await run({
      parameters: base,
      mode: 'manual',
      credentials: { url: 'http://proxy.test:8080', token: CANARY },
      respond: proxy(() => {
        throw new NodeApiError(NODE, networkError('ECONNREFUSED', `Bearer ${CANARY}`));
      }),
    });
    expect(JSON.stringify(hints)).not.toContain(CANARY);
  });
});
