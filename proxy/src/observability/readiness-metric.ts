/**
 * `secure_proxy_ready`: what `/readyz` answers, as a gauge read at scrape time, so an alert can
 * say "not ready" without a probe of its own. Readiness is more than being logged in to Vault
 * (the last Vault contact must have worked, and a stopping proxy is not ready), which is why
 * secure_proxy_vault_authenticated cannot stand in for it.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Readiness } from './health';

/** Registers the gauge in `registry`; `check` is the readiness of the app serving now. */
export function registerReadinessGauge(registry: Registry, check: () => Readiness): void {
  new Gauge({
    name: 'secure_proxy_ready',
    help: '1 while /readyz answers ready (Vault reachable and authenticated, not shutting down), else 0.',
    registers: [registry],
    collect() {
      let ready: boolean;
      try {
        ready = check().ready;
      } catch {
        // A check that throws means not ready, as /readyz answers it.
        ready = false;
      }
      this.set(ready ? 1 : 0);
    },
  });
}
