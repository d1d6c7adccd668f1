/**
 * Operations endpoints. None needs a token and none reveals a secret: `/healthz` says the
 * process answers, `/readyz` says whether it can serve (Vault reachable and authenticated),
 * `/metrics` is the Prometheus exposition. On the main listener `/readyz` only says ready or
 * not; why (which may name the Vault auth method and address) is for the ops listener and the
 * log, like `/metrics`, which names every client and service.
 */
import type { RequestHandler } from 'express';
import { ProxyError, refuse } from '../contract/proxy-error';
import type { ProxyMetrics } from './metrics';

/** What a readiness check reports. `reason` is shown to callers: safe text only, never a token. */
export interface Readiness {
  ready: boolean;
  reason: string | null;
}

/** Liveness: 200 whenever the process can answer at all. Checks nothing on purpose, so a Vault outage never gets the pod restarted. */
export const healthz: RequestHandler = (_req, res) => {
  res.setHeader('cache-control', 'no-store');
  res.status(200).json({ status: 'ok' });
};

/** What `/readyz` on the main listener says instead of the reason. */
export const READINESS_SUMMARY =
  'Vault is unreachable or sealed, the proxy is not authenticated to it, or the proxy is shutting down; the ops listener and the log say which';

/**
 * Readiness: 200 `{"status":"ready"}`, or the contract's NOT_READY error (503). `detail`:
 * `'reason'` puts the check's reason into the message (ops listener); `'summary'` only the
 * fixed {@link READINESS_SUMMARY} (main listener).
 */
export function readyz(check: () => Readiness, detail: 'reason' | 'summary' = 'reason'): RequestHandler {
  return (_req, res) => {
    let readiness: Readiness;
    try {
      readiness = check();
    } catch (err) {
      // A check that throws is a broken dependency: report not ready rather than a 500 from the error handler.
      readiness = { ready: false, reason: `readiness check failed (${err instanceof Error ? err.name : typeof err})` };
    }
    if (readiness.ready) {
      res.setHeader('cache-control', 'no-store');
      res.status(200).json({ status: 'ready' });
      return;
    }
    const why = detail === 'summary' ? READINESS_SUMMARY : (readiness.reason ?? 'no reason given');
    const error = new ProxyError('NOT_READY', `Not ready: ${why}.`);
    refuse(res, error);
  };
}

/** Serves the metrics exposition; a rendering failure goes to the app's error handler (express 5 forwards rejections). */
export function metricsHandler(metrics: Pick<ProxyMetrics, 'render' | 'contentType'>): RequestHandler {
  return async (_req, res) => {
    const body = await metrics.render();
    res.setHeader('content-type', metrics.contentType);
    res.setHeader('cache-control', 'no-store');
    res.status(200).send(body);
  };
}
