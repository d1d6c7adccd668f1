/**
 * Configuration reload (SIGHUP). The file is read and validated exactly as at start; an
 * invalid file changes nothing. A valid one becomes a whole new app (fresh secret cache,
 * services, clients, Vault session) that logs in to Vault before it takes any request; then
 * the listener switches to it and the old app is stopped once its in-flight requests are
 * answered. The listener itself stays: settings it was created with need a restart.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ProxyApp } from './app';
import type { AppSwitch } from '../listener/app-switch';
import { loadConfigFile } from '../config/load';
import { ConfigError } from '../config/errors';
import type { ProxyConfig } from '../config/schema';
import type { ReloadMetrics } from '../observability/reload-metrics';

/**
 * `listen` fields the listener was created with (see run.ts: `listen()` and the certificate
 * watcher); a change to one of them needs a restart. Every other `listen` field is read by
 * the app, so the new app applies it.
 */
const LISTEN_FIELDS_OWNED_BY_THE_LISTENER: ReadonlySet<string> = new Set([
  'host',
  'port',
  'tls',
  'headersTimeoutMs',
  'maxHeaderBytes',
  'maxConnections',
  'keepAliveTimeoutMs',
]);

export interface ConfigReloaderOptions {
  configFile: string;
  env?: Readonly<Record<string, string | undefined>>;
  appSwitch: AppSwitch;
  /** Builds an app for a validated config (sharing the process's redactor and metrics). */
  createApp: (config: ProxyConfig) => ProxyApp;
  metrics: ReloadMetrics;
}

/** What one reload did. */
export interface ReloadOutcome {
  applied: boolean;
  /** Generation of the configuration serving after the reload (1 = the one started with). */
  generation: number;
  /** Why it was not applied (safe text), or null. */
  reason: string | null;
}

export interface ConfigReloader {
  /** Reloads now (reloads run one after the other). Never rejects: failures are logged and counted. */
  reload(): Promise<ReloadOutcome>;
  /** Refuses further reloads and waits for one that is running (shutdown). */
  close(): Promise<void>;
  /** Resolves once every replaced app has drained and stopped. */
  settled(): Promise<void>;
}

/** The `listen` fields whose change a reload cannot apply, as dotted names. */
export function listenChangesNeedingRestart(before: ProxyConfig['listen'], after: ProxyConfig['listen']): string[] {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...fields]
    .filter((field) => LISTEN_FIELDS_OWNED_BY_THE_LISTENER.has(field))
    .filter((field) => !isDeepStrictEqual((before as Record<string, unknown>)[field], (after as Record<string, unknown>)[field]))
    .map((field) => `listen.${field}`);
}

/** Creates the reloader for a proxy started from `configFile`. */
export function createConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { appSwitch, metrics } = options;
  let generation = 1;
  let closed = false;
  let queue: Promise<ReloadOutcome> = Promise.resolve({ applied: false, generation, reason: null });
  const retiring = new Set<Promise<void>>();

  const refuse = (reason: string): ReloadOutcome => {
    metrics.configReloaded('failure', generation);
    return { applied: false, generation, reason };
  };

  const retire = (old: ProxyApp, timeoutMs: number): void => {
    const done = (async () => {
      const drain = await appSwitch.drain(old, timeoutMs);
      if (!drain.drained) {
        old.logger.warn('previous configuration still had requests in flight after listen.shutdownTimeoutMs; stopping it anyway', {
          inFlight: drain.inFlight,
          timeoutMs,
        });
      }
      await old.stop();
    })().catch((err: unknown) => {
      old.logger.error('stopping the previous configuration failed', { error: err });
    });
    retiring.add(done);
    void done.finally(() => retiring.delete(done));
  };

  const reloadOnce = async (): Promise<ReloadOutcome> => {
    const old = appSwitch.current();
    const logger = old.logger;
    logger.info('reloading configuration', { file: options.configFile, generation });
    let config: ProxyConfig;
    try {
      config = await loadConfigFile(options.configFile, options.env ?? process.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      logger.error('configuration reload refused: the file is invalid; the current configuration keeps serving', {
        file: options.configFile,
        issues: err.issues,
      });
      return refuse(`invalid configuration: ${err.issues.join('; ')}`);
    }

    if (!isDeepStrictEqual(old.config.ops, config.ops)) {
      // The ops listener (and so where /metrics is served) keeps its settings until a restart.
      logger.warn('configuration reload: ops changed; the ops listener keeps its current settings until a restart', { fields: ['ops'] });
      config = { ...config, ops: old.config.ops };
    }
    const needRestart = listenChangesNeedingRestart(old.config.listen, config.listen);
    if (needRestart.length > 0) {
      logger.warn(`configuration reload: ${needRestart.join(', ')} changed; the listener keeps its current settings until a restart`, {
        fields: needRestart,
      });
    }

    const next = options.createApp(config);
    await next.start();
    const nextReadiness = next.readiness();
    if (!nextReadiness.ready && old.readiness().ready) {
      // Switching would trade a working proxy for one that fails every request.
      await next.stop();
      logger.error('configuration reload refused: the new configuration cannot use Vault; the current configuration keeps serving', {
        reason: nextReadiness.reason,
      });
      return refuse(`the new configuration is not ready: ${nextReadiness.reason ?? 'no reason given'}`);
    }

    appSwitch.switchTo(next);
    generation++;
    metrics.configReloaded('success', generation);
    next.logger.info('configuration reloaded: new requests use it, requests in flight finish on the previous one', {
      generation,
      services: Object.keys(config.services).length,
      clients: Object.keys(config.clients).length,
      previousInFlight: appSwitch.inFlight(old),
      ready: nextReadiness.ready,
    });
    retire(old, config.listen.shutdownTimeoutMs);
    return { applied: true, generation, reason: null };
  };

  const guarded = async (): Promise<ReloadOutcome> => {
    try {
      return await reloadOnce();
    } catch (err) {
      // Building or starting the new app failed in a way no validation caught (an unreadable vault.caFile, say).
      appSwitch.current().logger.error('configuration reload failed; the current configuration keeps serving', { error: err });
      return refuse(`reload failed (${err instanceof Error ? err.name : typeof err})`);
    }
  };

  return {
    reload() {
      queue = queue.then(() => {
        if (!closed) return guarded();
        appSwitch.current().logger.info('not reloading: the proxy is shutting down');
        return { applied: false, generation, reason: 'the proxy is shutting down' };
      });
      return queue;
    },
    async close() {
      closed = true;
      await queue;
    },
    async settled() {
      await queue;
      await Promise.all([...retiring]);
    },
  };
}
