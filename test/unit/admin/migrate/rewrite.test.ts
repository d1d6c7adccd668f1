/**
 * The rewrite without files or Vault: which nodes become Secure Proxy Request nodes, their
 * exact parameters, the credential each service needs, and the nodes left as they were with
 * the reason. The fixture's secrets are generated at run time and must not survive anywhere
 * in the rewritten workflow except in the service plans (which go to Vault only).
 */
import { join } from 'node:path';
import { readWorkflowFile } from '../../../../proxy/src/admin/migrate/read-files';
import { rewriteWorkflows, type RewriteResult } from '../../../../proxy/src/admin/migrate/rewrite';
import { formatRewriteText, servicesSnippet } from '../../../../proxy/src/admin/migrate/rewrite-report';
import { parseServiceMap, readServiceMap } from '../../../../proxy/src/admin/migrate/service-map';
import { leakedMarkers, materialiseCorpus, type MaterialisedCorpus } from '../../../support/migrate-corpus';

const FIXTURES = join(__dirname, '../../../fixtures/migrate/rewrite');

describe('migrate rewrite', () => {
  let corpus: MaterialisedCorpus;
  let result: RewriteResult;
  const value = (marker: string) => corpus.plants.find((p) => p.marker === marker)!.value;
  const node = (name: string) => result.workflows[0].workflow.nodes.find((n) => n.name === name)!;

  beforeAll(async () => {
    corpus = materialiseCorpus(FIXTURES);
    const { workflows } = await readWorkflowFile(join(corpus.dir, 'ops-workflow.json'));
    result = rewriteWorkflows(workflows, await readServiceMap(join(corpus.dir, 'services.yaml')), { id: null, name: 'Secure Proxy (prod)' });
  });
  afterAll(() => corpus?.close());

  it('keeps id, name, position and settings, and references the credential by name', () => {
    expect(node('Open issues')).toMatchObject({
      id: 'f0000000-0000-4000-8000-000000000002',
      name: 'Open issues',
      position: [220, 0],
      type: 'n8n-nodes-secure-proxy.secureProxyRequest',
      typeVersion: 2,
      credentials: { secureProxyApi: { id: null, name: 'Secure Proxy (prod)' } },
    });
    expect(result.workflows[0].workflow.connections).toEqual(
      expect.objectContaining({ 'Open issues': { main: [[{ node: 'File issue', type: 'main', index: 0 }]] } }),
    );
  });

  it('turns a Bearer header into a bearer service, keeping the path expression, query and other headers', () => {
    expect(node('Open issues').parameters).toEqual({
      service: { __rl: true, mode: 'name', value: 'github' },
      method: 'GET',
      path: '=/repos/{{ $json.repo }}/issues?state=open',
      sendQuery: true,
      specifyQuery: 'keypair',
      queryParameters: { parameters: [{ name: 'per_page', value: '50' }] },
      sendHeaders: true,
      specifyHeaders: 'keypair',
      headerParameters: { parameters: [{ name: 'Accept', value: 'application/vnd.github+json' }] },
      options: { timeout: 15000 },
    });
    expect(result.services.get('github')).toMatchObject({ inject: { type: 'bearer' }, data: { token: value('github') } });
    expect(result.services.get('github')?.nodes).toEqual(['Ops digest / Open issues', 'Ops digest / File issue']);
  });

  it('moves a credential built from literals in an expression, and keeps the body', () => {
    expect(node('File issue').parameters).toEqual({
      service: { __rl: true, mode: 'name', value: 'github' },
      method: 'POST',
      path: '/repos/acme/ops/issues',
      sendBody: true,
      contentType: 'json',
      specifyBody: 'keypair',
      bodyParameters: { parameters: [{ name: 'title', value: '={{ $json.title }}' }] },
      options: {},
    });
  });

  it('removes a key from JSON headers and makes the path relative to the target base path', () => {
    expect(node('Balance').parameters).toMatchObject({ path: '/balance', specifyHeaders: 'json' });
    expect(JSON.parse(node('Balance').parameters!.jsonHeaders as string)).toEqual({ 'Stripe-Version': '2024-06-20' });
    expect(result.services.get('stripe')).toMatchObject({ inject: { type: 'bearer' }, mapping: { secret: 'payments/stripe' } });
  });

  it('infers query, basic and header injections', () => {
    expect(node('Weather').parameters).toMatchObject({ path: '/weather', queryParameters: { parameters: [{ name: 'q', value: 'Berlin' }] } });
    expect(result.services.get('weather')).toMatchObject({ inject: { type: 'query', param: 'appid' }, data: { token: value('hex') } });
    expect(node('Export').parameters).toMatchObject({ method: 'POST', path: '/api/export?format=csv' });
    expect(result.services.get('reports')).toMatchObject({ inject: { type: 'basic' }, data: { username: 'svc-reports', password: value('password') } });
    expect(node('Create contact').parameters).toMatchObject({ path: '/v2/contacts', specifyBody: 'json', jsonBody: '={ "email": "{{ $json.email }}" }' });
    expect(node('Create contact').parameters).not.toHaveProperty('headerParameters');
    expect(result.services.get('crm')).toMatchObject({ inject: { type: 'header', name: 'X-Api-Key', template: '{{token}}' } });
  });

  it('leaves what it cannot move as it was, saying why', () => {
    const unchanged = Object.fromEntries(result.outcomes.filter((o) => !o.rewritten).map((o) => [o.node, o.reason]));
    expect(unchanged).toEqual({
      'Unmapped vendor': 'unmapped host api.unmapped-vendor.io: add it to the services map to move it',
      'Token in body': expect.stringMatching(/^the secret is in the request body; the proxy injects headers, query parameters and basic auth only$/),
      'Second GitHub token': expect.stringMatching(/^service github already gets a different credential \(from Ops digest \/ Open issues\)/),
      'Code with key': expect.stringMatching(/^only HTTP Request nodes are rewritten/),
    });
    expect(node('Unmapped vendor').type).toBe('n8n-nodes-base.httpRequest');
    expect(node('Unmapped vendor').parameters).toEqual(
      expect.objectContaining({ headerParameters: { parameters: [{ name: 'Authorization', value: `Bearer ${value('generic:2')}` }] } }),
    );
  });

  it('holds no moved secret in the rewritten workflow, the report or the config snippet', () => {
    const text = JSON.stringify(result.workflows) + formatRewriteText(result.outcomes, []) + servicesSnippet(result.services, 'secret');
    expect(leakedMarkers(text, corpus.plants, ['github', 'stripe', 'hex', 'password', 'generic'])).toEqual([]);
    // The report names nodes and fingerprints only, also of the secrets left in place.
    expect(leakedMarkers(formatRewriteText(result.outcomes, []), corpus.plants)).toEqual([]);
  });

  it('prints the services for the proxy config', () => {
    expect(servicesSnippet(result.services, 'secret')).toContain(
      [
        '  weather:',
        '    description: Migrated from pasted credentials (1 node)',
        '    target: https://api.openweathermap.org/data/2.5',
        '    secret: secure-proxy/services/weather',
        '    inject:',
        '      type: query',
        '      param: appid',
        '      field: token',
      ].join('\n'),
    );
  });
});

describe('the services map', () => {
  it('reports every problem with the host and field, and suggests field names', () => {
    expect(() => parseServiceMap('api.github.com: { servce: github }\n"https://x.io": { service: x }\napi.y.io: { service: "a b" }\n', 'map.yaml')).toThrow(
      /api\.github\.com\.servce: unknown field \(did you mean "service"\?\)[\s\S]*"https:\/\/x\.io": must be a host name[\s\S]*api\.y\.io\.service: must be a service name/,
    );
  });

  it('fills the defaults', () => {
    expect([...parseServiceMap('API.GitHub.com: github\n', 'map.yaml').values()]).toEqual([
      { host: 'api.github.com', service: 'github', target: 'https://api.github.com', secret: 'secure-proxy/services/github' },
    ]);
  });
});
