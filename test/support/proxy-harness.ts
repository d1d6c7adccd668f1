/**
 * A whole proxy for integration tests: the real app (createProxyApp) with the real
 * node-vault client against a Vault target (emulator or real Vault), a real echo upstream
 * on loopback, and a logger whose every line is captured so tests can prove no secret
 * reaches it.
 */
import { randomBytes } from 'node:crypto';
import { createProxyApp, type ProxyApp } from '../../proxy/src/app';
import { buildConfig } from '../../proxy/src/config/load';
import type { ProxyConfigInput } from '../../proxy/src/config/schema';
import { generateToken, type GeneratedToken } from '../../proxy/src/clients/tokens';
import { createLogger, createMemoryTransport, type MemoryTransport } from '../../proxy/src/observability/logger';
import { SecretRedactor } from '../../proxy/src/observability/redaction';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream';
import { createAppRole, enableAppRole, enableKv, writePolicy, writeSecret } from './vault-setup';
import { startVaultTarget, type VaultTarget } from './vault-target';

/** A value that must never be seen outside the upstream that receives it. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(12).toString('hex')}`;
}

export interface ProxyHarness {
  vault: VaultTarget;
  upstream: EchoUpstream;
  /** The KV v2 mount holding the test secrets. */
  mount: string;
  /** AppRole credentials of the proxy (a least-privilege policy: read under `<mount>/data/svc/*`). */
  appRole: { roleId: string; secretId: string };
  close(): Promise<void>;
}

/** Vault with a KV v2 mount, a policy and an AppRole for the proxy, plus an echo upstream. */
export async function startHarness(secrets: Record<string, Record<string, string>>): Promise<ProxyHarness> {
  const vault = await startVaultTarget();
  const upstream = await startEchoUpstream();
  const mount = `${vault.prefix}kv`;
  await enableKv(vault, mount, 2);
  for (const [path, data] of Object.entries(secrets)) await writeSecret(vault, mount, path, data, 2);
  const policy = `${vault.prefix}-proxy`;
  await writePolicy(vault, policy, {
    path: {
      [`${mount}/data/svc/*`]: { capabilities: ['read'] },
      [`sys/internal/ui/mounts/${mount}`]: { capabilities: ['read'] },
    },
  });
  const approleMount = `${vault.prefix}-approle`;
  await enableAppRole(vault, approleMount);
  const appRole = await createAppRole(vault, approleMount, 'proxy', { policies: [policy], tokenTtl: '1h', tokenMaxTtl: '4h' });
  return {
    vault,
    upstream,
    mount,
    appRole: { ...appRole },
    close: async () => {
      await upstream.close();
      await vault.close();
    },
  };
}

export interface TestProxy {
  proxy: ProxyApp;
  logs: MemoryTransport;
  tokens: Record<string, GeneratedToken>;
}

/**
 * Builds and starts a proxy app for the harness. `configure` receives defaults (AppRole auth
 * on the harness's mount, debug logging) and returns the config input to validate.
 */
export async function startProxy(
  harness: ProxyHarness,
  configure: (base: { vault: ProxyConfigInput['vault']; logging: ProxyConfigInput['logging'] }, tokens: (name: string) => GeneratedToken) => Omit<ProxyConfigInput, 'vault'> & { vault?: ProxyConfigInput['vault'] },
): Promise<TestProxy> {
  const tokens: Record<string, GeneratedToken> = {};
  const tokenFor = (name: string) => (tokens[name] ??= generateToken());
  const approleMount = `${harness.vault.prefix}-approle`;
  const base = {
    vault: {
      address: harness.vault.address,
      auth: { method: 'approle' as const, roleId: harness.appRole.roleId, secretId: harness.appRole.secretId, mount: approleMount },
      kvMount: harness.mount,
      timeoutMs: 1500,
    },
    logging: { level: 'debug' as const },
  };
  const config = buildConfig({ ...base, ...configure(base, tokenFor) }, {}, 'test');
  const logs = createMemoryTransport();
  const redactor = new SecretRedactor();
  // The configured level (debug unless `configure` says otherwise), as the real logger would use.
  const logger = createLogger({ level: config.logging.level, redactor, transports: [logs] });
  const proxy = createProxyApp(config, { logger, redactor });
  await proxy.start();
  return { proxy, logs, tokens };
}
