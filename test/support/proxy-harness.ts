/**
 * A whole proxy for integration tests: the real app (createProxyApp) with the real
 * node-vault client against a Vault target (emulator or real Vault), a real echo upstream
 * on loopback, and a logger whose every line is captured so tests can prove no secret
 * reaches it. The app can also be put on the project's own listener (listen()).
 */
import { randomBytes } from 'node:crypto';
import { createProxyApp, type ProxyApp } from '../../proxy/src/app/app';
import { buildConfig } from '../../proxy/src/config/load';
import { listen } from '../../proxy/src/listener/server';
import type { ProxyConfigInput } from '../../proxy/src/config/schema';
import { generateToken, type GeneratedToken } from '../../proxy/src/auth/token-format';
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
  /** The AppRole auth mount holding that role (more roles can be created there). */
  approleMount: string;
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
    approleMount,
    close: async () => {
      await upstream.close();
      await vault.close();
    },
  };
}

/** A started proxy app and every line it logged. */
export interface RunningTestProxy {
  proxy: ProxyApp;
  logs: MemoryTransport;
}

export interface TestProxy extends RunningTestProxy {
  tokens: Record<string, GeneratedToken>;
}

/**
 * Validates `input` as the CLI would and starts the app with a logger capturing every line at
 * the configured level, for tests whose Vault is not a harness (a TLS emulator, say).
 */
export async function startProxyApp(input: ProxyConfigInput): Promise<RunningTestProxy> {
  const config = buildConfig(input, {}, 'test');
  const logs = createMemoryTransport();
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: config.logging.level, redactor, transports: [logs] });
  const proxy = createProxyApp(config, { logger, redactor });
  await proxy.start();
  return { proxy, logs };
}

/**
 * Builds and starts a proxy app for the harness. `configure` receives defaults (AppRole auth
 * on the harness's mount, debug logging) and returns the config input to validate.
 */
export async function startProxy(
  harness: ProxyHarness,
  configure: (
    base: { vault: ProxyConfigInput['vault']; logging: ProxyConfigInput['logging'] },
    tokens: (name: string) => GeneratedToken,
  ) => Omit<ProxyConfigInput, 'vault'> & { vault?: ProxyConfigInput['vault'] },
): Promise<TestProxy> {
  const tokens: Record<string, GeneratedToken> = {};
  const tokenFor = (name: string) => (tokens[name] ??= generateToken());
  const base = {
    vault: {
      address: harness.vault.address,
      auth: { method: 'approle' as const, roleId: harness.appRole.roleId, secretId: harness.appRole.secretId, mount: harness.approleMount },
      kvMount: harness.mount,
      // A deadline for Vault calls that no busy machine reaches; tests of Vault timeouts set their own.
      timeoutMs: 10_000,
    },
    logging: { level: 'debug' as const },
  };
  const { proxy, logs } = await startProxyApp({ ...base, ...configure(base, tokenFor) });
  return { proxy, logs, tokens };
}

/** A proxy app on a loopback port of its own. */
export interface ProxyListener {
  url: string;
  port: number;
  /** Stops listening, cutting connections still open; the app itself keeps running. */
  close(): Promise<void>;
}

/** Puts the app on the project's own listener (listen()) at an ephemeral loopback port. */
export async function listenProxy(t: RunningTestProxy): Promise<ProxyListener> {
  const { server, url } = await listen(t.proxy.app, '127.0.0.1', 0);
  return {
    url,
    port: Number(new URL(url).port),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
