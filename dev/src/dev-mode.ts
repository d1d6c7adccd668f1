/**
 * Dev mode, like `vault server -dev`: everything a first try needs in one process, on
 * loopback only. An in-memory Vault-API store (the emulator) holds a random sample secret
 * readable through a least-privilege AppRole; a sample upstream shows what arrives; a fresh
 * proxy token is printed with a request that works. Nothing persists and nothing is safe
 * for production use: the banner says so.
 */
import { randomBytes } from 'node:crypto';
import { buildConfig, generateToken, runProxy, type RunningProxy } from 'n8n-secure-proxy';
import { startSampleUpstream, type SampleUpstream } from './sample-upstream';
import { startVaultEmulator, type VaultEmulator } from './vault-emulator';

const SECRET_PATH = 'secure-proxy/services/echo';
const POLICY = 'secure-proxy-dev';

export interface DevModeOptions {
  /** Proxy port; 0 picks a free one. */
  port: number;
  /** Where the banner goes (stdout by default). */
  print?: (text: string) => void;
}

/** Starts dev mode; resolves once the proxy listens. */
export async function runDevMode(options: DevModeOptions): Promise<RunningProxy> {
  const print = options.print ?? ((text: string) => process.stdout.write(text));
  const vault = await startVaultEmulator();
  const devSecret = randomBytes(24).toString('base64url');
  const upstream = await startSampleUpstream(`Bearer ${devSecret}`).catch(async (err: unknown) => {
    await vault.close();
    throw err;
  });
  const closeHelpers = async (): Promise<void> => {
    await upstream.close();
    await vault.close();
  };
  try {
    const running = await startProxy(options.port, vault, upstream, devSecret, closeHelpers);
    print(banner(running.url, running.token, vault.url));
    return running.proxy;
  } catch (err) {
    // Nothing may keep the process alive once dev mode failed to start (e.g. a busy port).
    await closeHelpers();
    throw err;
  }
}

async function startProxy(
  port: number,
  vault: VaultEmulator,
  upstream: SampleUpstream,
  devSecret: string,
  onStop: () => Promise<void>,
): Promise<{ proxy: RunningProxy; url: string; token: string }> {
  const appRole = await seedVault(vault, devSecret);
  const token = generateToken();

  const config = buildConfig(
    {
      listen: { host: '127.0.0.1', port },
      vault: { address: vault.url, auth: { method: 'approle', roleId: appRole.roleId, secretId: appRole.secretId }, kvMount: 'secret' },
      logging: { level: 'info' },
      clients: { 'n8n-dev': { tokenHashes: [{ hash: token.hash, id: token.id }], services: ['echo'] } },
      services: {
        echo: {
          target: `${upstream.url}/base`,
          secret: SECRET_PATH,
          inject: { type: 'bearer', field: 'token' },
          description: 'Dev sample upstream: answers with what it received',
        },
      },
    },
    {},
    'dev mode',
  );

  const proxy = await runProxy(config, { onStop });
  return { proxy, url: proxy.url, token: token.token };
}

/** The part of Vault's JSON answers that seeding reads. */
interface VaultAnswer {
  data?: { role_id?: unknown; secret_id?: unknown };
}

/** Writes the sample secret and an AppRole that may read only it, through Vault's HTTP API. */
async function seedVault(vault: VaultEmulator, devSecret: string): Promise<{ roleId: string; secretId: string }> {
  const call = async (method: string, path: string, body?: unknown): Promise<VaultAnswer | null> => {
    const response = await fetch(`${vault.url}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': vault.rootToken, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`dev mode: seeding the dev Vault failed at ${method} ${path} (${response.status})`);
    return response.status === 204 ? null : ((await response.json()) as VaultAnswer);
  };
  await call('POST', `secret/data/${SECRET_PATH}`, { data: { token: devSecret } });
  const policy = { path: { [`secret/data/${SECRET_PATH}`]: { capabilities: ['read'] }, 'sys/internal/ui/mounts/*': { capabilities: ['read'] } } };
  await call('PUT', `sys/policies/acl/${POLICY}`, { policy: JSON.stringify(policy) });
  await call('POST', 'sys/auth/approle', { type: 'approle' });
  await call('POST', 'auth/approle/role/secure-proxy', { token_policies: [POLICY], token_ttl: '1h', token_max_ttl: '4h' });
  const roleId = (await call('GET', 'auth/approle/role/secure-proxy/role-id'))?.data?.role_id;
  const secretId = (await call('POST', 'auth/approle/role/secure-proxy/secret-id'))?.data?.secret_id;
  if (typeof roleId !== 'string' || typeof secretId !== 'string') throw new Error('dev mode: the dev Vault did not hand out an AppRole role id and secret id');
  return { roleId, secretId };
}

function banner(proxyUrl: string, token: string, vaultUrl: string): string {
  const line = '='.repeat(78);
  return [
    '',
    line,
    'WARNING: DEV MODE. NOT FOR PRODUCTION.',
    'Vault here is an in-memory emulator; every secret and token vanishes on exit.',
    'Run `secure-proxy serve --config proxy.yaml` against a real Vault for real use.',
    line,
    '',
    `Proxy listening on:   ${proxyUrl}`,
    `Dev Vault (emulated): ${vaultUrl}`,
    '',
    'Proxy token for client "n8n-dev" (shown once; put it in n8n\'s "Secure Proxy API" credential):',
    '',
    `    ${token}`,
    '',
    'Try it: the sample upstream answers with what it received; the credential came from Vault:',
    '',
    `    curl -s -H 'Authorization: Bearer ${token}' '${proxyUrl}/forward/echo/hello?name=n8n'`,
    '',
    'Also:',
    `    curl -s -H 'Authorization: Bearer ${token}' '${proxyUrl}/v1/whoami'`,
    `    curl -s '${proxyUrl}/readyz'`,
    '',
    'Press Ctrl+C to stop.',
    line,
    '',
  ].join('\n');
}
