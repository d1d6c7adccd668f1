/**
 * Per-workflow rules: which requests they let through, what the refusal says (client,
 * service, where the rule is, how many workflows; never the listed ids), and the config and
 * token-record shapes that carry them.
 */
import { checkWorkflowRule, compileWorkflowRules } from '../../../proxy/src/auth/workflow-policy';
import { newContext, type RequestContext } from '../../../proxy/src/app/request-context';
import { readAttribution } from '../../../proxy/src/forward/attribution';
import { buildConfig } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';
import { grantsFromRecords } from '../../../proxy/src/auth/vault-records/grants';
import { ClientRegistry } from '../../../proxy/src/auth/token-index';
import { generateToken } from '../../../proxy/src/auth/token-format';

function contextWith(
  rules: Record<string, string[]> | undefined,
  headers: Record<string, string>,
  source: 'config' | 'token record' = 'config',
): RequestContext {
  const ctx = newContext('req-1');
  ctx.client = { id: 'n8n-prod', tokenId: 'abc', expiresAt: null, services: new Set(['payments', 'github']), workflows: compileWorkflowRules(rules, source) };
  ctx.attribution = readAttribution(headers);
  return ctx;
}

describe('checkWorkflowRule', () => {
  const rules = { payments: ['wfA', 'wfB'] };

  it('lets a listed workflow through and records the verdict', () => {
    const ctx = contextWith(rules, { 'x-secure-proxy-workflow-id': 'wfB' });
    expect(checkWorkflowRule(ctx, 'payments')).toBeNull();
    expect(ctx.workflowRule).toBe('allowed');
  });

  it('leaves a service without a rule alone, whatever the workflow', () => {
    const ctx = contextWith(rules, {});
    expect(checkWorkflowRule(ctx, 'github')).toBeNull();
    expect(ctx.workflowRule).toBeNull();
    expect(checkWorkflowRule(contextWith(undefined, {}), 'payments')).toBeNull();
  });

  it.each([
    [{ 'x-secure-proxy-workflow-id': 'wfZ' }, "this request came from workflow 'wfZ'"],
    [{}, 'this request named no workflow (the Secure Proxy Request node sends x-secure-proxy-workflow-id)'],
    [{ 'x-secure-proxy-workflow-name': encodeURIComponent('only a name') }, 'this request named no workflow'],
    [{ 'x-secure-proxy-workflow-id': 'wfA, wfB' }, 'this request sent an x-secure-proxy-workflow-id that is not a valid workflow id'],
    [{ 'x-secure-proxy-workflow-id': 'wfa' }, "this request came from workflow 'wfa'"],
  ])('refuses %j with WORKFLOW_NOT_ALLOWED naming the rule', (headers, claimed) => {
    const ctx = contextWith(rules, headers);
    const error = checkWorkflowRule(ctx, 'payments')!;
    expect(error.code).toBe('WORKFLOW_NOT_ALLOWED');
    expect(error.status).toBe(403);
    expect(error.source).toBe('proxy');
    expect(error.message).toContain(
      "Client 'n8n-prod' may use service 'payments' only from 2 listed workflows (clients.n8n-prod.workflows.payments in the proxy config)",
    );
    expect(error.message).toContain(claimed);
    // The allowed ids are the admin's business, not the caller's.
    expect(error.message).not.toMatch(/wfA|wfB/);
    expect(ctx.workflowRule).toBe('refused');
  });

  it('names a token record as the place of a Vault client’s rule', () => {
    const error = checkWorkflowRule(contextWith({ payments: ['wfA'] }, {}, 'token record'), 'payments')!;
    expect(error.message).toContain("only from one listed workflow (workflows.payments in the client's token record in Vault)");
  });
});

function configWith(client: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    vault: { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 'vault-token' } },
    clients: { 'n8n-prod': { tokenHashes: [generateToken().hash], services: ['payments'], ...client } },
    services: { payments: { target: 'https://api.example', secret: 'svc/p', inject: { type: 'bearer' }, ...extra } },
  };
}

describe('clients.<id>.workflows in the config', () => {
  it('is carried to the client a token resolves to', () => {
    const token = generateToken();
    const config = buildConfig(
      { ...configWith({}), clients: { 'n8n-prod': { tokenHashes: [token.hash], services: ['payments'], workflows: { payments: ['wfA'] } } } },
      {},
      'test',
    );
    const found = new ClientRegistry(config.clients).lookup(token.token);
    expect(found.ok && [...(found.client.workflows?.byService.get('payments') ?? [])]).toEqual(['wfA']);
    expect(found.ok && found.client.workflows?.source).toBe('config');
  });

  it.each([
    [{ workflows: { github: ['wfA'] } }, 'clients.n8n-prod.workflows.github: names service "github", which this client is not granted'],
    [{ workflows: { payments: [] } }, 'clients.n8n-prod.workflows.payments: list at least one workflow id'],
    [{ workflows: { payments: ['has space'] } }, 'clients.n8n-prod.workflows.payments[0]: must be a workflow id'],
    [{ workflows: ['wfA'] }, 'clients.n8n-prod.workflows'],
  ])('refuses %j naming the field', (client, message) => {
    const build = () => buildConfig(configWith(client), {}, 'test');
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});

describe('services.<name>.limits in the config', () => {
  it('accepts a rate, a burst and a cap', () => {
    expect(buildConfig(configWith({}, { limits: { requestsPerSecond: 0.5, burst: 3, maxConcurrent: 2 } }), {}, 'test').services.payments.limits).toEqual({
      requestsPerSecond: 0.5,
      burst: 3,
      maxConcurrent: 2,
    });
  });

  it.each([
    [{}, 'services.payments.limits: limits must set requestsPerSecond, maxConcurrent or both'],
    [{ burst: 5, maxConcurrent: 1 }, 'services.payments.limits.burst: burst needs requestsPerSecond'],
    [{ requestsPerSecond: 0 }, 'services.payments.limits.requestsPerSecond: requestsPerSecond must be more than 0'],
    [{ maxConcurrent: 1.5 }, 'services.payments.limits.maxConcurrent: maxConcurrent must be a whole number'],
    [{ requestsPerSecond: 1, perMinute: 3 }, 'services.payments.limits: unknown field "perMinute"'],
  ])('refuses %j naming the field', (limits, message) => {
    expect(() => buildConfig(configWith({}, { limits }), {}, 'test')).toThrow(message);
  });
});

describe('workflows in a Vault token record', () => {
  const record = (extra: Record<string, unknown>) => ({ services: ['payments'], tokens: [], ...extra });

  it('becomes the client’s rules, marked as coming from the token record', () => {
    const { clients, problems } = grantsFromRecords({
      staticClients: new Set(),
      knownServices: new Set(['payments', 'github']),
      records: [{ client: 'n8n-vault', raw: record({ workflows: { payments: ['wfA', 'wfB'] } }) }],
    });
    expect(problems).toEqual([]);
    expect(clients[0].workflows?.source).toBe('token record');
    expect([...clients[0].workflows!.byService.get('payments')!]).toEqual(['wfA', 'wfB']);
  });

  it('refuses a record whose rules are malformed (the client fails closed), and names rules for services it does not grant', () => {
    const { clients, problems } = grantsFromRecords({
      staticClients: new Set(),
      knownServices: new Set(['payments', 'github']),
      records: [
        { client: 'bad', raw: record({ workflows: { payments: ['not an id'] } }) },
        { client: 'odd', raw: record({ workflows: { github: ['wfA'] } }) },
      ],
    });
    expect(clients.map((c) => c.clientId)).toEqual(['odd']);
    expect(problems.map((p) => [p.client, p.kind])).toEqual([
      ['bad', 'malformed'],
      ['odd', 'workflows'],
    ]);
    expect(problems[1].message).toContain('workflow rules for services it does not grant, ignored: github');
  });
});
