/**
 * Control plane: what the n8n credential test and the node's service dropdown ask. Both
 * answer for the calling client only, and never contain a secret value, a secret path or
 * an upstream URL (the builder needs the service name, not where it lives).
 */
import { Router } from 'express';
import { SERVICES_PATH, WHOAMI_PATH, type ServiceSummary, type ServicesResponse, type WhoamiResponse } from '../contract/contract';
import type { ServiceConfig } from '../config/schema';
import { contextOf } from './request-context';

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Summaries computed once per config: the answer is static for a given client. */
export function summarizeServices(services: Readonly<Record<string, ServiceConfig>>): Map<string, ServiceSummary> {
  const summaries = new Map<string, ServiceSummary>();
  for (const [name, service] of Object.entries(services)) {
    summaries.set(name, {
      name,
      description: service.description,
      methods: service.methods ? [...service.methods] : ALL_METHODS,
      paths: service.paths ? [...service.paths] : ['/**'],
    });
  }
  return summaries;
}

/**
 * Routes for `GET /v1/whoami` and `GET /v1/services`; mount after `authenticate`.
 * `expiryWarningSeconds` is the config's tokenExpiryWarningSeconds: whoami flags a token
 * expiring within it, so the credential test in n8n can say it is time to rotate.
 */
export function controlRoutes(summaries: () => Map<string, ServiceSummary>, expiryWarningSeconds = 0): Router {
  const router = Router();
  router.get(WHOAMI_PATH, (_req, res) => {
    const client = contextOf(res).client!;
    const expiresInSeconds = client.expiresAt === null ? null : Math.max(0, Math.floor((client.expiresAt.getTime() - Date.now()) / 1000));
    const body: WhoamiResponse = {
      clientId: client.id,
      tokenId: client.tokenId,
      expiresAt: client.expiresAt === null ? null : client.expiresAt.toISOString(),
      expiresInSeconds,
      expiringSoon: expiryWarningSeconds > 0 && expiresInSeconds !== null && expiresInSeconds <= expiryWarningSeconds,
      services: [...client.services].sort(),
    };
    res.set('cache-control', 'no-store').json(body);
  });
  router.get(SERVICES_PATH, (_req, res) => {
    const client = contextOf(res).client!;
    const all = summaries();
    const body: ServicesResponse = {
      services: [...client.services]
        .sort()
        .map((name) => all.get(name))
        .filter((s): s is ServiceSummary => s !== undefined),
    };
    res.set('cache-control', 'no-store').json(body);
  });
  return router;
}
