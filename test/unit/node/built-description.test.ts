import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { injectDomainRestrictionFields, NodeHelpers, type ICredentialType, type INodeParameters, type INodeProperties, type INodeType } from 'n8n-workflow';

/**
 * Checks the BUILT package (dist/, what n8n loads) for the facts n8n relies on. Run
 * `npm run build` first. n8n-workflow resolves from the root node_modules (it is the
 * package's peer and dev dependency).
 */
const root = join(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; n8n: { nodes: string[]; credentials: string[] } };
const NODE_TYPE = 'n8n-nodes-secure-proxy.secureProxyRequest';

function load<T>(relative: string): T {
  const file = join(root, relative);
  if (!existsSync(file)) throw new Error(`${relative} is missing: run \`npm run build\` before these tests`);
  const exports = require(file) as Record<string, new () => T>;
  const [Class] = Object.values(exports);
  return new Class();
}

const credential = load<ICredentialType>(pkg.n8n.credentials[0]);
const node = load<INodeType>(pkg.n8n.nodes[0]);

/** Every property, including those inside collections and fixedCollections. */
function allProperties(properties: INodeProperties[]): INodeProperties[] {
  return properties.flatMap((property) => {
    const nested = (property.options ?? []).flatMap((option) => {
      if ('values' in option) return allProperties(option.values);
      if ('type' in option) return allProperties([option]);
      return [];
    });
    return [property, ...nested];
  });
}

describe('built credential', () => {
  it('is the Secure Proxy API credential', () => {
    expect(credential.name).toBe('secureProxyApi');
    expect(credential.displayName).toBe('Secure Proxy API');
    expect(credential.documentationUrl).toMatch(/^https:\/\//);
  });

  it('is restricted to the Secure Proxy Request node', () => {
    expect(credential.restrictToSupportedNodes).toBe(true);
    // n8n prefixes a community package's supportedNodes with the package name when it loads
    // it (and infers them from the nodes that list the credential): this is the type it gets.
    expect((credential.supportedNodes ?? []).map((name) => `${pkg.name}.${name}`)).toContain(NODE_TYPE);
    expect(`${pkg.name}.${node.description.name}`).toBe(NODE_TYPE);
  });

  it('keeps the token in a required password field and sends it as a Bearer Authorization header', () => {
    const token = credential.properties.find((property) => property.name === 'token');
    expect(token?.typeOptions?.password).toBe(true);
    expect(token?.required).toBe(true);
    expect(credential.authenticate).toEqual({ type: 'generic', properties: { headers: { Authorization: '=Bearer {{$credentials.token}}' } } });
  });

  it('has TLS settings that are off by default', () => {
    const byName = Object.fromEntries(credential.properties.map((property) => [property.name, property]));
    expect(byName.caCertificate.default).toBe('');
    expect(byName.ignoreSSLIssues.default).toBe(false);
  });

  it('says in the dialog, first, that it only works in the Secure Proxy Request node', () => {
    const [first] = credential.properties;
    expect(first.type).toBe('notice');
    expect(first.displayName).toMatch(/only in the Secure Proxy Request node/);
  });

  it('hides n8n\'s "Allowed HTTP Request Domains" and presets it to None, the strictest value', () => {
    expect(credential.hideDomainRestrictionFields).toBe(true);
    // What n8n makes of the properties when it loads the credential (load-nodes-and-credentials):
    // no "All" field of its own added, ours kept hidden and set to 'none'.
    const loaded = injectDomainRestrictionFields(credential);
    const domains = loaded.filter((property) => property.name === 'allowedHttpRequestDomains');
    expect(domains).toEqual([expect.objectContaining({ type: 'hidden', default: 'none' })]);
    expect(loaded.map((property) => property.name)).not.toContain('allowedDomains');
    // A credential saved without the field (imported, or older) gets 'none' when n8n applies the defaults.
    expect(NodeHelpers.getNodeParameters(credential.properties, { url: 'http://x', token: 't' }, true, false, null, null)).toMatchObject({
      allowedHttpRequestDomains: 'none',
    });
  });

  it("has no declarative test, so n8n runs the node's credentialTest (which names the client)", () => {
    expect(credential.test).toBeUndefined();
  });

  it('has icons that exist next to the built file', () => {
    const icon = credential.icon as { light: string; dark: string };
    for (const file of [icon.light, icon.dark]) {
      expect(existsSync(join(root, dirname(pkg.n8n.credentials[0]), file.replace(/^file:/, '')))).toBe(true);
    }
  });
});

describe('built node', () => {
  const description = node.description;

  it('is the Secure Proxy Request node, usable as an AI tool', () => {
    expect(description.name).toBe('secureProxyRequest');
    expect(description.displayName).toBe('Secure Proxy Request');
    expect(description.usableAsTool).toBe(true);
    expect(description.inputs).toEqual(['main']);
    expect(description.outputs).toEqual(['main']);
  });

  it('uses the credential and tests it with its own credentialTest method', () => {
    expect(description.credentials).toEqual([{ name: 'secureProxyApi', required: true, testedBy: 'secureProxyApiTest' }]);
    expect(typeof node.methods?.credentialTest?.secureProxyApiTest).toBe('function');
    expect(typeof node.methods?.loadOptions?.getServices).toBe('function');
  });

  it('gives every property a description', () => {
    const missing = allProperties(description.properties)
      .filter((property) => property.type !== 'notice' && !(typeof property.description === 'string' && property.description.trim() !== ''))
      .map((property) => property.name);
    expect(missing).toEqual([]);
  });

  it('has no URL or authentication parameter, and loads services from the proxy', () => {
    const names = allProperties(description.properties).map((property) => property.name);
    expect(names).not.toEqual(expect.arrayContaining(['url']));
    expect(names).not.toEqual(expect.arrayContaining(['authentication']));
    expect(typeof node.methods?.listSearch?.searchServices).toBe('function');
  });

  it('is version 2 for new nodes and still knows version 1', () => {
    expect(description.version).toEqual([1, 2]);
    expect(description.defaultVersion).toBe(2);
  });

  /** The properties n8n shows for a node of `version` with these parameter values. */
  function shown(version: number, parameters: INodeParameters = {}): INodeProperties[] {
    return description.properties.filter((property) => NodeHelpers.displayParameter(parameters, property, { typeVersion: version }, description));
  }

  it('version 1 keeps its Service dropdown (n8n names such dropdowns "… Name or ID")', () => {
    const services = shown(1).filter((property) => property.name === 'service');
    expect(services).toHaveLength(1);
    expect(services[0]).toMatchObject({ displayName: 'Service Name or ID', type: 'options', typeOptions: { loadOptionsMethod: 'getServices' } });
  });

  it('version 2 has a Service resource locator, from the list or by name, that says services have names only', () => {
    const services = shown(2).filter((property) => property.name === 'service');
    expect(services).toHaveLength(1);
    const [service] = services;
    expect(service).toMatchObject({ displayName: 'Service', type: 'resourceLocator', required: true, default: { mode: 'list', value: '' } });
    expect(service.modes?.map((mode) => [mode.name, mode.displayName, mode.type])).toEqual([
      ['list', 'From List', 'list'],
      ['name', 'By Name', 'string'],
    ]);
    expect(service.modes?.[0].typeOptions?.searchListMethod).toBe('searchServices');
    expect(`${service.displayName} ${service.description} ${service.hint}`).not.toMatch(/\bID\b/);
    expect(service.description).toMatch(/names only/);
  });

  it('keeps version 1 parameters as saved, and runs version 2 with the choice it stores', () => {
    // n8n drops the parameters a node version does not show when it loads a workflow.
    const saved = (version: number, parameters: INodeParameters) =>
      NodeHelpers.getNodeParameters(description.properties, parameters, true, false, { typeVersion: version }, description);
    const responseOptions = (format: string) => ({ options: { response: { response: { responseFormat: format, outputPropertyName: 'out' } } } });

    const v1 = saved(1, { service: 'github', method: 'GET', path: '/x', ...responseOptions('json') });
    expect(v1).toMatchObject({ service: 'github', options: { response: { response: { outputPropertyName: 'out' } } } });

    const list = { __rl: true, mode: 'list', value: 'github', cachedResultName: 'github — GitHub' };
    expect(saved(2, { service: list, method: 'GET', path: '/x', ...responseOptions('text') })).toMatchObject({
      service: list,
      options: { response: { response: { outputPropertyName: 'out' } } },
    });
    // "Put Output in Field" is shown (and kept) only for the formats that use it.
    for (const [format, kept] of [
      ['autodetect', true],
      ['file', true],
      ['text', true],
      ['json', false],
    ] as const) {
      const response = (saved(2, { service: list, ...responseOptions(format) }) as { options: { response: { response: Record<string, unknown> } } }).options
        .response.response;
      expect([format, 'outputPropertyName' in response]).toEqual([format, kept]);
    }
  });

  it('names method, service and path in its subtitle, for a version 1 string and a version 2 choice', () => {
    const body = description.subtitle!.replace(/^=\{\{/, '').replace(/\}\}$/, '');
    // n8n evaluates the subtitle as an expression with $parameter in scope; a fresh context does the same here.
    const subtitle = (parameter: Record<string, unknown>): unknown => runInNewContext(body, { $parameter: parameter });
    expect(subtitle({ method: 'GET', service: 'github', path: '/user' })).toBe('GET github/user');
    expect(subtitle({ method: 'POST', service: { __rl: true, mode: 'list', value: 'github' }, path: '/repos' })).toBe('POST github/repos');
    expect(subtitle({ method: 'GET', service: { __rl: true, mode: 'list', value: '' }, path: '/x' })).toBe('GET /x');
  });

  it('ships its icons and codex file in dist', () => {
    const dir = join(root, dirname(pkg.n8n.nodes[0]));
    const icon = description.icon as { light: string; dark: string };
    for (const file of [icon.light, icon.dark]) expect(existsSync(join(dir, file.replace(/^file:/, '')))).toBe(true);
    const codex = JSON.parse(readFileSync(join(dir, 'SecureProxyRequest.node.json'), 'utf8')) as {
      node: string;
      categories: string[];
      resources: { primaryDocumentation: Array<{ url: string }> };
    };
    expect(codex.node).toBe(NODE_TYPE);
    expect(codex.categories.length).toBeGreaterThan(0);
    expect(codex.resources.primaryDocumentation[0].url).toMatch(/^https:\/\//);
  });
});
