import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, loadConfigFile, parseConfigText } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';

const HASH = `sha256:${'a'.repeat(64)}`;

/** The shape promised in docs/configuration.md, as YAML. */
const DOCUMENTED_YAML = `
listen: { host: 127.0.0.1, port: 8080 }
vault:
  address: http://127.0.0.1:8200
  auth: { method: approle, roleId: "\${VAULT_ROLE_ID}", secretId: "\${VAULT_SECRET_ID}" }
  kvMount: secret
clients:
  n8n-prod:
    tokenHashes: ["${HASH}"]
    services: [echo]
services:
  echo:
    target: http://127.0.0.1:9999/base
    secret: secure-proxy/services/echo
    inject: { type: bearer, field: token }
`;

const ENV = { VAULT_ROLE_ID: 'role-1', VAULT_SECRET_ID: 'sid-1' };

function valid(): Record<string, any> {
  return parseConfigText(DOCUMENTED_YAML, 'test') as Record<string, any>;
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('accepts the documented shape, interpolates env and fills defaults', () => {
    const config = buildConfig(valid(), ENV);
    expect(config.vault.auth).toEqual({ method: 'approle', roleId: 'role-1', secretId: 'sid-1', mount: 'approle' });
    expect(config.listen).toMatchObject({ host: '127.0.0.1', port: 8080, shutdownTimeoutMs: 30000 });
    expect(config.vault.timeoutMs).toBe(5000);
    expect(config.cache).toEqual({ ttlSeconds: 60, maxStaleSeconds: 600 });
    expect(config.services.echo.timeoutMs).toBe(30000);
    expect(Object.isFrozen(config.services.echo)).toBe(true);
  });

  it('loads the same shape from a JSON file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-config-'));
    const file = join(dir, 'proxy.json');
    writeFileSync(file, JSON.stringify(valid()));
    const config = await loadConfigFile(file, ENV);
    expect(config.services.echo.inject).toEqual({ type: 'bearer', field: 'token' });
  });

  it('names an unreadable file', async () => {
    await expect(loadConfigFile('/nonexistent/proxy.yaml', ENV)).rejects.toThrow(/nonexistent\/proxy.yaml[\s\S]*ENOENT/);
  });

  it('supports ${VAR:-default} and $$ escapes', () => {
    const raw = valid();
    raw.services.echo.description = 'costs $$5 in ${REGION:-eu}';
    expect(buildConfig(raw, ENV).services.echo.description).toBe('costs $5 in eu');
  });

  it('lets VAULT_ADDR and VAULT_TOKEN fill a config that omits them', () => {
    const raw = valid();
    delete raw.vault.address;
    delete raw.vault.auth;
    const config = buildConfig(raw, { VAULT_ADDR: 'http://127.0.0.1:8201', VAULT_TOKEN: 'hvs.x' });
    expect(config.vault.address).toBe('http://127.0.0.1:8201');
    expect(config.vault.auth).toEqual({ method: 'token', token: 'hvs.x' });
  });

  it('applies SECURE_PROXY_PORT over the file and rejects a non-numeric one', () => {
    expect(buildConfig(valid(), { ...ENV, SECURE_PROXY_PORT: '9090' }).listen.port).toBe(9090);
    expect(issuesOf(() => buildConfig(valid(), { ...ENV, SECURE_PROXY_PORT: 'http' }))).toEqual(['SECURE_PROXY_PORT: expected an integer port, got "http"']);
  });

  it('accepts tokens with expiry and an id', () => {
    const raw = valid();
    raw.clients['n8n-prod'].tokenHashes = [{ hash: HASH, expiresAt: '2027-01-01T00:00:00Z', id: 'abc123' }];
    expect(buildConfig(raw, ENV).clients['n8n-prod'].tokenHashes[0]).toEqual({ hash: HASH, expiresAt: '2027-01-01T00:00:00Z', id: 'abc123' });
  });

  // Each row breaks one thing; the error must name the field and what was wrong.
  const broken: Array<[string, (raw: Record<string, any>) => void, RegExp]> = [
    ['missing environment variable', () => undefined, /^vault\.auth\.secretId: environment variable VAULT_SECRET_ID is not set$/],
    [
      'unknown service type',
      (r) => (r.services.echo.inject = { type: 'kerberos' }),
      /^services\.echo\.inject\.type: must be one of: bearer, header, basic, query, oauth2, aws-sigv4, hmac$/,
    ],
    ['bad target URL', (r) => (r.services.echo.target = 'not a url'), /^services\.echo\.target: target must be an absolute http\(s\) URL, got "not a url"$/],
    ['non-http target', (r) => (r.services.echo.target = 'ftp://example.test/'), /^services\.echo\.target: target must use http or https/],
    ['credentials in target', (r) => (r.services.echo.target = 'http://u:p@127.0.0.1/'), /^services\.echo\.target: .*must not carry credentials/],
    ['missing Vault address', (r) => delete r.vault.address, /^vault\.address: is required/],
    ['unknown auth method', (r) => (r.vault.auth = { method: 'userpass' }), /^vault\.auth\.method: must be one of: token, approle, kubernetes$/],
    ['unknown field', (r) => (r.services.echo.injct = {}), /^services\.echo: unknown field "injct" \(did you mean "inject"\?\)$/],
    ['unknown field unlike any', (r) => (r.services.echo.colour = 'red'), /^services\.echo: unknown field "colour"$/],
    ['client names an unknown service', (r) => r.clients['n8n-prod'].services.push('github'), /^clients\.n8n-prod\.services\[1\]: unknown service "github"$/],
    [
      'client names a mistyped service',
      (r) => r.clients['n8n-prod'].services.push('ecko'),
      /^clients\.n8n-prod\.services\[1\]: unknown service "ecko" \(did you mean "echo"\?\)$/,
    ],
    ['malformed token hash', (r) => (r.clients['n8n-prod'].tokenHashes = ['sha256:xyz']), /^clients\.n8n-prod\.tokenHashes\[0\]: must be "sha256:"/],
    [
      'same token hash on two clients',
      (r) => (r.clients.other = { tokenHashes: [HASH], services: [] }),
      /^clients\.other\.tokenHashes\[0\]: duplicate token hash, already used by client "n8n-prod"$/,
    ],
    [
      'reserved injected header',
      (r) => (r.services.echo.inject = { type: 'header', name: 'Host', template: '{{token}}' }),
      /^services\.echo\.inject\.name: is reserved/,
    ],
    [
      'template without placeholder',
      (r) => (r.services.echo.inject = { type: 'header', name: 'X-Api-Key', template: 'static' }),
      /^services\.echo\.inject\.template: must reference at least one secret field/,
    ],
    ['dot segments in secret path', (r) => (r.services.echo.secret = 'a/../b'), /^services\.echo\.secret: must be a KV path/],
    ['bad service name', (r) => (r.services['bad name'] = r.services.echo), /^services\.bad name: service names use 1-64 letters/],
    ['bad port', (r) => (r.listen.port = 70000), /^listen\.port: /],
    ['bad method', (r) => (r.services.echo.methods = ['FETCH']), /^services\.echo\.methods\[0\]: must be one of GET/],
  ];

  it.each(broken)('rejects %s with a message naming the field', (_name, breakIt, expected) => {
    const raw = valid();
    breakIt(raw);
    const env = _name === 'missing environment variable' ? { VAULT_ROLE_ID: 'r' } : ENV;
    const issues = issuesOf(() => buildConfig(raw, env));
    expect(issues).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('suggests the closest field for unknown fields at every level, in the variant the file chose', () => {
    const raw = valid();
    raw.listen.prot = 1;
    raw.vault.kvMuont = 'kv';
    raw.vault.auth.secretid = 'x';
    raw.services.echo.inject = { type: 'header', nmae: 'X-Key', template: '{{token}}' };
    raw.services.echo.timeotuMs = 5;
    raw.clients['n8n-prod'].servces = [];
    raw.clients['n8n-prod'].tokenHashes = [{ hash: HASH, expiresat: '2030-01-01T00:00:00Z' }];
    raw.tokenstore = {};
    raw.cache = { ttlSecond: 5 };
    const issues = issuesOf(() => buildConfig(raw, ENV));
    expect(issues).toEqual(
      expect.arrayContaining([
        'listen: unknown field "prot" (did you mean "port"?)',
        'vault: unknown field "kvMuont" (did you mean "kvMount"?)',
        'vault.auth: unknown field "secretid" (did you mean "secretId"?)',
        'services.echo.inject: unknown field "nmae" (did you mean "name"?)',
        'services.echo: unknown field "timeotuMs" (did you mean "timeoutMs"?)',
        'clients.n8n-prod: unknown field "servces" (did you mean "services"?)',
        'clients.n8n-prod.tokenHashes[0]: unknown field "expiresat" (did you mean "expiresAt"?)',
        '(top level): unknown field "tokenstore" (did you mean "tokenStore"?)',
        'cache: unknown field "ttlSecond" (did you mean "ttlSeconds"?)',
      ]),
    );
  });

  it('says that VAULT_ADDR and VAULT_TOKEN can fill a config without Vault settings', () => {
    const raw = valid();
    delete raw.vault;
    expect(issuesOf(() => buildConfig(raw, ENV))).toEqual([
      'vault.address: is required: set it in the config file, or set VAULT_ADDR (e.g. VAULT_ADDR=https://vault.internal:8200) to fill it',
      'vault.auth: is required: set it in the config file ({method: token | approle | kubernetes, ...}), or set VAULT_TOKEN to log in with that token',
    ]);
    // A wrong value is not missing: the hint is only for fields left out.
    const wrong = valid();
    wrong.vault.address = 42;
    expect(issuesOf(() => buildConfig(wrong, ENV))).toEqual([expect.stringMatching(/^vault\.address: (?!is required)/)]);
  });

  it('reports every problem at once', () => {
    const raw = valid();
    delete raw.vault.address;
    raw.services.echo.target = 'nope';
    expect(issuesOf(() => buildConfig(raw, ENV))).toHaveLength(2);
  });

  it('rejects duplicate service names in YAML and in JSON', () => {
    const yamlText = `services:\n  echo: {}\n  echo: {}\n`;
    expect(issuesOf(() => parseConfigText(yamlText, 'f.yaml'))[0]).toMatch(/^duplicate key/);
    const jsonText = '{"services": {"echo": {}, "echo": {}}}';
    expect(issuesOf(() => parseConfigText(jsonText, 'f.json'))[0]).toMatch(/^duplicate key/);
  });

  it('never echoes an interpolated secret in an error', () => {
    const raw = valid();
    raw.services.echo.target = '${CANARY}';
    const issues = issuesOf(() => buildConfig(raw, { ...ENV, CANARY: 'canary-7f3a9' }));
    // The URL error repeats the bad value; a secret belongs in Vault, never in `target`,
    // but the interpolated secret id of vault.auth must never be echoed.
    expect(issues.join('\n')).not.toContain('sid-1');
  });
});
