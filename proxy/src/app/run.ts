/**
 * Runs a proxy for a validated config: app, Vault login, listener, and signal handling.
 * Used by `secure-proxy serve` and dev mode; tests use createProxyApp directly.
 *
 * SIGHUP reloads the config file (reload.ts) and re-reads the listener's certificate
 * (listener/certificate-watcher.ts); SIGTERM and SIGINT stop gracefully.
 */
import { Server as HttpsServer } from 'node:https';
import type { ProxyConfig } from '../config/schema';
import { createProxyApp, type ProxyApp } from './app';
import { ServiceLimitStates, TokenBroker } from '../forward';
import { createAppSwitch } from '../listener/app-switch';
import { ConfigError } from '../config/errors';
import { createMetrics } from '../observability/metrics';
import { SecretRedactor } from '../observability/redaction';
import { createReloadMetrics } from '../observability/reload-metrics';
import { registerReadinessGauge } from '../observability/readiness-metric';
import { createConfigReloader, type ReloadOutcome } from './reload';
import { closeGracefully, listen } from '../listener/server';
import type { ClientErrorRecord } from '../observability/events';
import { keepServingOnUncaught } from './safety-net';
import { CertificateError, loadCertificatePair, type CertificatePair } from '../listener/certificate';
import { watchCertificate } from '../listener/certificate-watcher';

export interface RunningProxy {
  url: string;
  /** Base URL of the ops listener, when `ops` is configured. */
  opsUrl: string | null;
  /** The app serving now; a config reload replaces it. */
  readonly proxy: ProxyApp;
  /** What SIGHUP does: re-reads the certificate files and the config file. Never rejects. */
  reload(): Promise<ReloadOutcome>;
  /** Graceful stop: refuse new connections, finish in-flight requests, release Vault and sockets. */
  stop(): Promise<void>;
}

export interface RunOptions {
  /** Extra cleanup after the proxy stopped (dev mode closes its emulator and sample upstream). */
  onStop?: () => Promise<void>;
  /**
   * Install SIGTERM/SIGINT handlers that stop the proxy and exit, and the net that keeps the
   * process serving after an exception nothing caught (safety-net.ts) (default true).
   */
  handleSignals?: boolean;
  /** The file `config` was loaded from; SIGHUP reloads it. Without one (dev mode) there is nothing to reload. */
  configFile?: string;
}

export async function runProxy(config: ProxyConfig, options: RunOptions = {}): Promise<RunningProxy> {
  const certificate = config.listen.tls === undefined ? undefined : await loadListenerCertificate(config.listen.tls);
  // Process-wide, so they outlive each app a reload replaces: the secret values to redact
  // from logs, and the metric series (counters carry on across reloads; the process and
  // Node.js metrics are registered here, once).
  const redactor = new SecretRedactor();
  const metrics = createMetrics(null);
  const reloadMetrics = createReloadMetrics(metrics.registry);
  // And the services' limit counters: tokens and requests in flight carry on across reloads.
  const limitStates = new ServiceLimitStates();
  // OAuth2 access tokens outlive a reload too: a reloaded service with the same client keeps its token.
  const tokens = new TokenBroker();
  const createApp = (appConfig: ProxyConfig): ProxyApp => createProxyApp(appConfig, { redactor, metrics, limitStates, tokens });
  const appSwitch = createAppSwitch(createApp(config));
  registerReadinessGauge(metrics.registry, () => appSwitch.current().readiness());
  const logger = () => appSwitch.current().logger;
  // Listen even when Vault is not reachable yet: /readyz reports it, requests fail closed
  // with VAULT_UNAVAILABLE, and the session keeps retrying the login.
  await appSwitch.current().start();
  // Refused before any request exists: the app serving now logs and counts it.
  const onClientError = (record: ClientErrorRecord): void => void appSwitch.current().events.emit('client:error', record);
  const onConnectionDropped = (remoteAddress: string | null): void => void appSwitch.current().events.emit('connection:dropped', { remoteAddress });
  const listening = await listen(appSwitch.handler, config.listen.host, config.listen.port, certificate, {
    headersTimeoutMs: config.listen.headersTimeoutMs,
    maxHeaderBytes: config.listen.maxHeaderBytes,
    maxConnections: config.listen.maxConnections,
    keepAliveTimeoutMs: config.listen.keepAliveTimeoutMs,
    onClientError,
    onConnectionDropped,
  }).catch(async (err: unknown) => {
    // Nothing serves without the listener: release Vault and timers so the process can exit.
    await appSwitch.current().stop();
    throw err;
  });
  const { server, url } = listening;
  // The ops listener follows reloads like the main one: it serves whichever app is current.
  const opsListening =
    config.ops === undefined
      ? null
      : await listen(
          (req, res) => {
            appSwitch.current().ops(req, res);
          },
          config.ops.host,
          config.ops.port,
          undefined,
          { onClientError, onConnectionDropped },
        ).catch(async (err: unknown) => {
          await closeGracefully(server, 0);
          await appSwitch.current().stop();
          throw err;
        });
  logger().info('proxy listening', {
    url,
    opsUrl: opsListening?.url ?? null,
    services: Object.keys(config.services).length,
    clients: Object.keys(config.clients).length,
  });

  const certificates =
    certificate === undefined || config.listen.tls === undefined
      ? null
      : watchCertificate({
          files: config.listen.tls,
          initial: certificate,
          apply: (pair) => {
            if (server instanceof HttpsServer) server.setSecureContext({ cert: pair.cert, key: pair.key });
          },
          logger,
          metrics: reloadMetrics,
        });
  if (certificate !== undefined) reloadMetrics.certificateServing(certificate.notAfter);
  const reloader =
    options.configFile === undefined ? null : createConfigReloader({ configFile: options.configFile, appSwitch, createApp, metrics: reloadMetrics });

  let stopping: Promise<void> | null = null;
  const reload = async (): Promise<ReloadOutcome> => {
    await certificates?.reload('SIGHUP');
    if (reloader === null) {
      logger().info('nothing to reload: dev mode has no config file');
      return { applied: false, generation: 1, reason: 'no config file' };
    }
    // After stop() began, the reloader is closed and answers with the generation serving.
    return reloader.reload();
  };
  const onHangup = (): void => {
    logger().info('signal received', { signal: 'SIGHUP' });
    void reload();
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await reloader?.close();
      const proxy = appSwitch.current();
      const { shutdownTimeoutMs } = proxy.config.listen;
      proxy.beginShutdown();
      proxy.logger.info('shutting down: finishing in-flight requests', { timeoutMs: shutdownTimeoutMs });
      await Promise.all([closeGracefully(server, shutdownTimeoutMs), opsListening === null ? null : closeGracefully(opsListening.server, shutdownTimeoutMs)]);
      certificates?.close();
      await reloader?.settled();
      await proxy.stop();
      if (options.handleSignals !== false) process.off('SIGHUP', onHangup);
      await options.onStop?.();
      proxy.logger.info('proxy stopped');
    })();
    return stopping;
  };

  if (options.handleSignals !== false) {
    // One request's bug must not take every other request down with the process.
    keepServingOnUncaught((origin, error) => void appSwitch.current().events.emit('process:unexpected', { origin, error }));
    const onSignal = (signal: NodeJS.Signals) => {
      logger().info('signal received', { signal });
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger().error('shutdown failed', { error: err });
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.on('SIGHUP', onHangup);
  }
  return {
    url,
    opsUrl: opsListening?.url ?? null,
    get proxy() {
      return appSwitch.current();
    },
    reload,
    stop,
  };
}

/** Loads the listener's pair at start; a pair that does not check out is a configuration error (exit 2). */
async function loadListenerCertificate(files: NonNullable<ProxyConfig['listen']['tls']>): Promise<CertificatePair> {
  try {
    return await loadCertificatePair(files);
  } catch (err) {
    if (err instanceof CertificateError) throw new ConfigError('listen.tls', [err.message]);
    throw err;
  }
}
