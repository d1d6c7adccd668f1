/**
 * Runs a proxy for a validated config: app, Vault login, listener, and signal handling.
 * Used by `secure-proxy serve` and dev mode; tests use createProxyApp directly.
 */
import type { ProxyConfig } from './config/schema';
import { createProxyApp, type ProxyApp } from './app';
import { closeGracefully, listen } from './server';

export interface RunningProxy {
  url: string;
  proxy: ProxyApp;
  /** Graceful stop: refuse new connections, finish in-flight requests, release Vault and sockets. */
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Extra cleanup after the proxy stopped (dev mode closes its emulator and sample upstream). */
  onStop?: () => Promise<void>;
  /** Install SIGTERM/SIGINT handlers that stop the proxy and exit (default true). */
  handleSignals?: boolean;
}

export async function runProxy(config: ProxyConfig, options: RunOptions = {}): Promise<RunningProxy> {
  const proxy = createProxyApp(config);
  const { logger } = proxy;
  // Listen even when Vault is not reachable yet: /readyz reports it, requests fail closed
  // with VAULT_UNAVAILABLE, and the session keeps retrying the login.
  await proxy.start();
  const { server, url } = await listen(proxy.app, config.listen.host, config.listen.port);
  logger.info('proxy listening', { url, services: Object.keys(config.services).length, clients: Object.keys(config.clients).length });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      proxy.beginShutdown();
      logger.info('shutting down: finishing in-flight requests', { timeoutMs: config.listen.shutdownTimeoutMs });
      await closeGracefully(server, config.listen.shutdownTimeoutMs);
      await proxy.stop();
      await options.onStop?.();
      logger.info('proxy stopped');
    })();
    return stopping;
  };

  if (options.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info('signal received', { signal });
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error('shutdown failed', { error: err });
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { url, proxy, stop };
}
