/**
 * The libraries of the aws-sigv4 and oauth2 injection types are loaded by the first service
 * that uses them: a proxy without such a service never holds them in its heap (which every
 * full garbage collection marks). Loading them is recorded through jest's module registry.
 */
const mockLoaded: string[] = [];
jest.mock('@smithy/signature-v4', () => {
  mockLoaded.push('@smithy/signature-v4');
  return jest.requireActual('@smithy/signature-v4');
});
jest.mock('@smithy/hash-node', () => {
  mockLoaded.push('@smithy/hash-node');
  return jest.requireActual('@smithy/hash-node');
});
jest.mock('oauth4webapi', () => {
  mockLoaded.push('oauth4webapi');
  return jest.requireActual('oauth4webapi');
});

import { createProxyApp } from '../../../proxy/src/app/app';
import { buildConfig } from '../../../proxy/src/config/load';
import { compileInjector } from '../../../proxy/src/forward/inject';
import { injectorContext } from '../../../proxy/src/forward/route';
import { createLogger } from '../../../proxy/src/observability/logger';
import { SecretRedactor } from '../../../proxy/src/observability/redaction';

const VAULT = { address: 'http://127.0.0.1:8200', auth: { method: 'token', token: 't' } };

function configWith(services: Record<string, Record<string, unknown>>) {
  const entries = Object.entries(services).map(([name, inject]) => [name, { target: 'https://api.example.com', secret: name, inject }]);
  return buildConfig({ vault: VAULT, clients: {}, services: Object.fromEntries(entries) }, {});
}

function compileAll(config: ReturnType<typeof configWith>): void {
  for (const [name, service] of Object.entries(config.services)) compileInjector(service.inject, service.secret, injectorContext(name, service, {}));
}

describe('libraries of the signing injection types', () => {
  it('are not loaded by the app, nor by services of the other types', () => {
    const config = configWith({
      bearer: { type: 'bearer', field: 'token' },
      header: { type: 'header', name: 'X-Api-Key', template: '{{key}}' },
      basic: { type: 'basic', usernameField: 'u', passwordField: 'p' },
      query: { type: 'query', param: 'key', field: 'key' },
      hmac: { type: 'hmac', field: 'key', header: 'X-Signature', timestampHeader: 'X-Timestamp' },
    });
    const app = createProxyApp(config, { logger: createLogger({ level: 'error', redactor: new SecretRedactor() }) });
    compileAll(config);
    expect(app).toBeDefined();
    expect(mockLoaded).toEqual([]);
  });

  it('loads the AWS signer when an aws-sigv4 service is compiled, not before', () => {
    compileAll(configWith({ s3: { type: 'aws-sigv4', region: 'eu-west-1', service: 's3' } }));
    expect(mockLoaded.sort()).toEqual(['@smithy/hash-node', '@smithy/signature-v4']);
  });

  it('loads oauth4webapi when an oauth2 service is compiled', () => {
    mockLoaded.length = 0;
    compileAll(configWith({ api: { type: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://auth.example.com/token' } }));
    expect(mockLoaded).toEqual(['oauth4webapi']);
  });
});
