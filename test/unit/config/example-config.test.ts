/**
 * proxy/examples/proxy.yaml, the config users start from, loads through the proxy's own
 * loader with its environment references set, shows every injection type, and holds no
 * secret of its own: every secret comes from a `${VAR}` reference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText } from '../../../proxy/src/config/load';
import { ConfigError } from '../../../proxy/src/config/errors';
import { compileInjector, INJECTION_TYPES } from '../../../proxy/src/forward/inject';
import { DevModeUnavailableError } from '../../../proxy/src/cli/dev-mode';
import { injectorContext } from '../../../proxy/src/forward/route';

const PROXY_DIR = join(__dirname, '../../../proxy');
const EXAMPLE = join(PROXY_DIR, 'examples/proxy.yaml');

/** The environment the example expects; VAULT_ADDR is left out on purpose, its reference has a fallback. */
const ENV = {
  VAULT_ROLE_ID: 'example-role-id',
  VAULT_SECRET_ID: 'example-secret-id',
  N8N_STAGING_TOKEN_HASH: `sha256:${'0'.repeat(64)}`,
};

const text = readFileSync(EXAMPLE, 'utf8');
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g;

describe('proxy/examples/proxy.yaml', () => {
  it('loads through the real loader with its environment references set', async () => {
    const config = await loadConfigFile(EXAMPLE, ENV);
    expect(config.vault.address).toBe('https://vault.internal:8200');
    expect(config.vault.auth).toMatchObject({ method: 'approle', roleId: ENV.VAULT_ROLE_ID, secretId: ENV.VAULT_SECRET_ID });
    expect(config.tokenStore).toBeDefined();
    expect(config.clients['n8n-staging'].tokenHashes[0]).toMatchObject({ hash: ENV.N8N_STAGING_TOKEN_HASH });
  });

  it('names exactly the environment variables this test sets, besides those with a fallback', () => {
    const required = [...text.matchAll(REFERENCE)].filter((m) => m[2] === undefined && !isCommentedOut(m.index)).map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(Object.keys(ENV)));
  });

  it('fails, naming the field, when a referenced variable is unset', async () => {
    const load = loadConfigFile(EXAMPLE, { ...ENV, VAULT_SECRET_ID: undefined });
    await expect(load).rejects.toThrow(ConfigError);
    await expect(load).rejects.toThrow('vault.auth.secretId: environment variable VAULT_SECRET_ID is not set');
  });

  it('uses every injection type, each of which compiles', async () => {
    const config = await loadConfigFile(EXAMPLE, ENV);
    const services = Object.values(config.services);
    expect(new Set(services.map((s) => s.inject.type))).toEqual(new Set([...Object.keys(INJECTION_TYPES), 'oauth2', 'aws-sigv4', 'hmac']));
    for (const [name, service] of Object.entries(config.services)) {
      expect(() => compileInjector(service.inject, service.secret, injectorContext(name, service, {}))).not.toThrow();
    }
  });

  it('shows method and path policies and keeps listener TLS as a commented-out block', async () => {
    const config = await loadConfigFile(EXAMPLE, ENV);
    const services = Object.values(config.services);
    expect(services.some((s) => s.methods !== undefined)).toBe(true);
    expect(services.some((s) => s.paths !== undefined)).toBe(true);
    expect(config.listen.tls).toBeUndefined();
    expect(text).toMatch(/^ {2}# tls:\n {2}# {3}certFile: .+\n {2}# {3}keyFile: .+$/m);
  });

  it('holds no secret: Vault credentials and token hashes are environment references, and no proxy token appears', () => {
    const raw = parseConfigText(text, EXAMPLE) as {
      vault: { auth: Record<string, string> };
      clients: Record<string, { tokenHashes: Array<{ hash: string }> }>;
    };
    expect(raw.vault.auth.secretId).toMatch(/^\$\{[A-Z0-9_]+\}$/);
    for (const client of Object.values(raw.clients)) for (const entry of client.tokenHashes) expect(entry.hash).toMatch(/^\$\{[A-Z0-9_]+\}$/);
    expect(text).not.toMatch(/spt_[a-z0-9]+_/);
    expect(text).not.toMatch(/sha256:[0-9a-f]{64}/);
  });

  it('ships in the proxy package, and the command that needs a config points to it', () => {
    const manifest = JSON.parse(readFileSync(join(PROXY_DIR, 'package.json'), 'utf8')) as { files: string[] };
    expect(manifest.files).toContain('examples');
    expect(new DevModeUnavailableError().message).toContain(EXAMPLE);
  });
});

/** Whether the text at `index` is inside a YAML comment. */
function isCommentedOut(index: number): boolean {
  const lineStart = text.lastIndexOf('\n', index) + 1;
  return text.slice(lineStart, index).includes('#');
}
