/**
 * The JSON Schema the proxy package ships for config files (schema/proxy-config.schema.json):
 * the committed file is what the zod schema generates today, a strict JSON Schema validator
 * compiles it, every example config points editors at it and passes it, and it agrees with
 * the proxy's own loader on configs both good and bad.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { configJsonSchema, CONFIG_JSON_SCHEMA_FILE, FILLED_FROM_ENV } from '../../../proxy/src/config/json-schema';
import { buildConfig, parseConfigText } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';

const PROXY_DIR = join(__dirname, '../../../proxy');
const SCHEMA_PATH = join(PROXY_DIR, CONFIG_JSON_SCHEMA_FILE);
const EXAMPLES_DIR = join(PROXY_DIR, 'examples');
const MODELINE = /^# yaml-language-server: \$schema=(\S+)\n/;

function compile() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
}

/** A config the proxy loads; each case below changes one thing. */
function goodConfig(): Record<string, any> {
  return {
    vault: { address: 'http://127.0.0.1:8200', auth: { method: 'approle', roleId: 'r', secretId: '${VAULT_SECRET_ID}' } },
    clients: { 'n8n-prod': { tokenHashes: [`sha256:${'a'.repeat(64)}`], services: ['echo'] } },
    services: { echo: { target: 'http://127.0.0.1:9/base', secret: 'svc/echo', inject: { type: 'bearer' }, paths: ['/a/**'] } },
  };
}

const CASES: Array<[string, (config: Record<string, any>) => void, boolean]> = [
  ['the config as it is', () => undefined, true],
  ['an unknown top-level field', (c) => (c.listne = { port: 1 }), false],
  ['an unknown field in a service', (c) => (c.services.echo.secrets = 'x'), false],
  ['an unknown injection type', (c) => (c.services.echo.inject = { type: 'cookie' }), false],
  ['a header injection without a name', (c) => (c.services.echo.inject = { type: 'header' }), false],
  ['a port out of range', (c) => (c.listen = { port: 70000 }), false],
  ['a fractional timeout', (c) => (c.services.echo.timeoutMs = 1.5), false],
  ['a path pattern without a leading slash', (c) => (c.services.echo.paths = ['a/**']), false],
  ['a method that is not allowed', (c) => (c.services.echo.methods = ['TRACE']), false],
  ['a token hash of the wrong shape', (c) => (c.clients['n8n-prod'].tokenHashes = ['sha256:abc']), false],
  [
    'a token expiry without a zone',
    (c) => (c.clients['n8n-prod'].tokenHashes = [{ hash: `sha256:${'b'.repeat(64)}`, expiresAt: '2027-01-31T00:00:00' }]),
    false,
  ],
  ['a service name with a space', (c) => (c.services['my echo'] = c.services.echo), false],
  ['kvVersion 3', (c) => (c.vault.kvVersion = 3), false],
  ['a token hash from the environment', (c) => (c.clients['n8n-prod'].tokenHashes = ['${TOKEN_HASH}']), true],
  ['a log level from the environment', (c) => (c.logging = { level: '${LOG_LEVEL:-warn}' }), true],
  ['a log level that does not exist', (c) => (c.logging = { level: 'verbose' }), false],
  ['a token store with its defaults', (c) => (c.tokenStore = {}), true],
  ['an ops listener', (c) => (c.ops = { port: 9090 }), true],
  ['every injection type', (c) => Object.assign(c.services, injections()), true],
];

function injections(): Record<string, unknown> {
  const base = { target: 'https://api.example.com', secret: 'svc/x' };
  return {
    h: { ...base, inject: { type: 'header', name: 'X-Api-Key', template: 'Key {{key}}' } },
    b: { ...base, inject: { type: 'basic', usernameField: 'u', passwordField: 'p' } },
    q: { ...base, inject: { type: 'query', param: 'appid' } },
  };
}

describe(CONFIG_JSON_SCHEMA_FILE, () => {
  it('is what the zod schema generates now (npm run build --workspace proxy rewrites it)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });

  it('compiles in a strict JSON Schema 2020-12 validator', () => {
    expect(() => compile()).not.toThrow();
  });

  it('ships in the proxy package', () => {
    const manifest = JSON.parse(readFileSync(join(PROXY_DIR, 'package.json'), 'utf8')) as { files: string[] };
    expect(manifest.files).toContain(CONFIG_JSON_SCHEMA_FILE.split('/')[0]);
  });

  it.each(CASES)('agrees with the loader on %s', (_name, change, valid) => {
    const config = goodConfig();
    change(config);
    const validate = compile();
    let loaderAccepts = true;
    try {
      buildConfig(structuredClone(config), { VAULT_SECRET_ID: 'x', TOKEN_HASH: `sha256:${'c'.repeat(64)}` });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      loaderAccepts = false;
    }
    expect({ loader: loaderAccepts, schema: validate(config) }).toEqual({ loader: valid, schema: valid });
  });

  it.each(Object.entries(FILLED_FROM_ENV))('lets the file leave out %s, as the environment (%s) can fill it', (path, variables) => {
    const config = goodConfig();
    const segments = path.split('.');
    const parent = segments.slice(0, -1).reduce((node, key) => node[key], config);
    delete parent[segments[segments.length - 1]];
    expect(compile()(config)).toBe(true);
    const env = { VAULT_SECRET_ID: 'x', VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_TOKEN: 'hvs.example' };
    expect(() => buildConfig(structuredClone(config), env)).not.toThrow();
    const unset = Object.fromEntries(Object.entries(env).filter(([name]) => !variables.includes(name)));
    expect(() => buildConfig(structuredClone(config), unset)).toThrow(ConfigError);
  });
});

describe('example configs', () => {
  const examples = readdirSync(EXAMPLES_DIR).filter((name) => /\.ya?ml$/.test(name));

  it('exist', () => {
    expect(examples).toContain('proxy.yaml');
  });

  it.each(examples)('%s names the shipped schema on its first line, for editors', (name) => {
    const text = readFileSync(join(EXAMPLES_DIR, name), 'utf8');
    const modeline = MODELINE.exec(text);
    expect(modeline).not.toBeNull();
    expect(resolve(dirname(join(EXAMPLES_DIR, name)), modeline![1])).toBe(SCHEMA_PATH);
  });

  it.each(examples)('%s is valid against the schema as written', (name) => {
    const path = join(EXAMPLES_DIR, name);
    const validate = compile();
    const valid = validate(parseConfigText(readFileSync(path, 'utf8'), path));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });
});
