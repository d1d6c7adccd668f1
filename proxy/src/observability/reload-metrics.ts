/**
 * Metrics of the things that change under a running proxy: configuration reloads (SIGHUP)
 * and the listener's TLS certificate. They live in the process-wide registry that survives
 * reloads, so a failed reload stays visible after the next successful one.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type ReloadResult = 'success' | 'failure';

/** Recorders for configuration and certificate reloads. */
export interface ReloadMetrics {
  /** A configuration reload ended; `generation` is the config now serving (1 = the one started with). */
  configReloaded(result: ReloadResult, generation: number): void;
  /** The listener serves a certificate valid until `notAfter` (at start and after each reload). */
  certificateServing(notAfter: Date): void;
  /** Changed certificate files were applied, or refused (the previous pair keeps serving). */
  certificateReloaded(result: ReloadResult): void;
}

/** Registers the reload metrics in `registry`. */
export function createReloadMetrics(registry: Registry): ReloadMetrics {
  const registers = [registry];
  const configReloads = new Counter({
    name: 'secure_proxy_config_reloads_total',
    help: 'Configuration reloads (SIGHUP), by result; a failure keeps the previous configuration serving.',
    labelNames: ['result'] as const,
    registers,
  });
  const generation = new Gauge({
    name: 'secure_proxy_config_generation',
    help: 'Configuration serving now: 1 at start, +1 per successful reload.',
    registers,
  });
  const lastReload = new Gauge({
    name: 'secure_proxy_config_last_reload_timestamp_seconds',
    help: 'Unix time of the last configuration reload attempt.',
    registers,
  });
  const lastReloadSuccess = new Gauge({
    name: 'secure_proxy_config_last_reload_success',
    help: '1 when the last configuration reload was applied (or none was tried), 0 when it was refused.',
    registers,
  });
  const certificateReloads = new Counter({
    name: 'secure_proxy_tls_certificate_reloads_total',
    help: "Loads of the listener's certificate files after a change, by result; a failure keeps the previous certificate.",
    labelNames: ['result'] as const,
    registers,
  });
  const certificateNotAfter = new Gauge({
    name: 'secure_proxy_tls_certificate_not_after_timestamp_seconds',
    help: "Unix time at which the listener's certificate now serving expires.",
    registers,
  });
  for (const result of ['success', 'failure'] as const) {
    configReloads.inc({ result }, 0);
    certificateReloads.inc({ result }, 0);
  }
  generation.set(1);
  lastReloadSuccess.set(1);

  return {
    configReloaded(result, current) {
      configReloads.inc({ result });
      generation.set(current);
      lastReload.setToCurrentTime();
      lastReloadSuccess.set(result === 'success' ? 1 : 0);
    },
    certificateServing(notAfter) {
      certificateNotAfter.set(Math.floor(notAfter.getTime() / 1000));
    },
    certificateReloaded(result) {
      certificateReloads.inc({ result });
    },
  };
}
