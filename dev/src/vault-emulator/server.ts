/**
 * The HTTP pipeline, in Vault's order: record, latency, health, injected faults, standby
 * redirect, rate limit quotas, seal check, the raw sys endpoints, then the logical request
 * (token check, existence check, ACL, route, handler, envelope).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { permissionDenied } from './acl';
import type { EmulatorCore } from './core';
import type { FaultState } from './faults';
import { VaultError, errorReply, multiError, parseGoBool, parseJsonObject, readBody, sendReply, type VaultReply } from './http';
import { findRoute, handlerFor, newRequestId, renderLogical, unsupportedOperation, unsupportedPath, type LogicalRequest, type Operation } from './logical';
import { health, leader, seal, sealStatus, unseal } from './sys-http';

/** One received request, for tests that count Vault calls. */
export interface RequestRecord {
  readonly method: string;
  /** URL path without the query, e.g. `/v1/secret/data/app`. */
  readonly path: string;
  /** Epoch milliseconds when it arrived. */
  readonly at: number;
}

/** What the pipeline needs from its emulator. */
export interface PipelineDeps {
  readonly core: EmulatorCore;
  readonly faults: FaultState;
  readonly requests: RequestRecord[];
  /** A cancellable delay (cancelled timers are cleared when the emulator closes). */
  readonly sleep: (ms: number) => Promise<void>;
}

/** Builds the request listener for node:http. */
export function createPipeline(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((err: unknown) => {
      // Anything unexpected is an emulator bug; say so in the body rather than hang the client.
      const message = err instanceof Error ? err.message : String(err);
      sendReply(res, errorReply(500, [multiError(`vault emulator internal error: ${message}`)]));
    });
  };
}

async function handle(deps: PipelineDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { core, faults } = deps;
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://vault.invalid');
  deps.requests.push({ method, path: url.pathname, at: Date.now() });
  if (faults.latencyMs > 0) await deps.sleep(faults.latencyMs);
  if (res.destroyed) return;

  let path: string;
  try {
    if (!url.pathname.startsWith('/v1/')) return sendReply(res, errorReply(404, []));
    path = decodeURIComponent(url.pathname.slice('/v1/'.length));
  } catch (err) {
    // A malformed percent-encoding: Go's URL parser would have refused the request line.
    return sendReply(res, errorReply(400, [err instanceof Error ? err.message : String(err)]));
  }

  if (path === 'sys/health') return sendReply(res, health(core, method, url.searchParams, faults.standbyRedirectTo !== null));

  const failure = faults.take();
  if (failure?.kind === 'drop') {
    res.socket?.destroy();
    return;
  }
  if (failure) return sendReply(res, failure.reply);

  if (faults.standbyRedirectTo !== null) {
    const base = faults.standbyRedirectTo.replace(/\/+$/, '');
    return sendReply(res, { status: 307, headers: { Location: `${base}${url.pathname}${url.search}` } });
  }

  let reply: VaultReply;
  let quotaHeaders: Record<string, string> = {};
  try {
    const listing = method === 'GET' && parseGoBool(url.searchParams.get('list') ?? '') === true;
    const quotaPath = listing && !path.endsWith('/') ? `${path}/` : path;
    const quota = core.quotas.check(quotaPath, clientAddress(req));
    quotaHeaders = quota.headers;
    if (quota.refused) return sendReply(res, quota.refused);
    const rawBody = ['POST', 'PUT', 'PATCH'].includes(method) ? await readBody(req) : '';
    reply = answer(deps, req, method, url, path, rawBody);
  } catch (err) {
    if (!(err instanceof VaultError)) throw err;
    reply = errorReply(err.status, err.errors);
  }
  reply.headers = { ...quotaHeaders, ...(reply.headers ?? {}) };
  sendReply(res, reply);
}

/** Everything after faults and quotas: seal check, raw sys endpoints, logical request. */
function answer(deps: PipelineDeps, req: IncomingMessage, method: string, url: URL, path: string, rawBody: string): VaultReply {
  const { core } = deps;
  const clientToken = tokenFromHeaders(req);
  switch (path) {
    case 'sys/seal-status':
      return method === 'GET' ? { status: 200, body: sealStatus(core) } : errorReply(405, []);
    case 'sys/unseal':
      return unseal(core, method, rawBody);
    case 'sys/seal':
      return seal(core, method, clientToken);
    default:
      break;
  }
  if (core.sealed) return errorReply(503, ['Vault is sealed']);
  if (path === 'sys/leader') return leader(method);
  return logical(core, req, method, url, path, rawBody, clientToken);
}

function logical(core: EmulatorCore, req: IncomingMessage, method: string, url: URL, rawPath: string, rawBody: string, clientToken: string | null): VaultReply {
  const query = url.searchParams;
  const contentType = String(req.headers['content-type'] ?? '');
  let operation: Operation;
  let path = rawPath;
  let data: Record<string, unknown>;
  switch (method) {
    case 'GET': {
      const listParam = query.get('list');
      const list = listParam === null || listParam === '' ? false : parseGoBool(listParam);
      if (list === null) return errorReply(400, []);
      operation = list ? 'list' : 'read';
      if (list && !path.endsWith('/')) path += '/';
      data = queryData(query);
      break;
    }
    case 'DELETE':
      operation = 'delete';
      data = queryData(query);
      break;
    case 'POST':
    case 'PUT':
      operation = 'update';
      data = parseJsonObject(rawBody, 'logical') ?? {};
      break;
    case 'PATCH': {
      const mediaType = contentType.split(';')[0].trim().toLowerCase();
      if (mediaType !== 'application/merge-patch+json') {
        return errorReply(415, [`PATCH requires Content-Type of application/merge-patch+json, provided ${mediaType}`]);
      }
      operation = 'patch';
      data = parseJsonObject(rawBody, 'logical') ?? {};
      break;
    }
    default:
      return errorReply(405, []);
  }
  if (path.endsWith('/') && operation === 'update') throw new VaultError(400, ["cannot write to a path ending in '/'"]);

  const found = path.startsWith('auth/') ? core.authMounts.match(path) : core.secretMounts.match(path);
  const unauthenticated = found?.entry.backend.unauthenticatedPaths?.some((re) => re.test(found.subPath)) ?? false;
  const token = clientToken ? core.tokens.lookup(clientToken) : null;
  if (!unauthenticated) {
    // Vault checks the token before it looks for a route, so unknown paths still say 403.
    if (!clientToken) throw new VaultError(403, ['permission denied']);
    if (!token) throw new VaultError(403, [multiError('permission denied', 'invalid token')]);
  }

  const hit = found ? findRoute(found.entry.backend, found.subPath) : null;
  const request: LogicalRequest = {
    id: newRequestId(),
    operation,
    path,
    subPath: found?.subPath ?? path,
    data,
    query,
    clientToken,
    token,
    clientAddress: clientAddress(req),
    contentType,
  };
  if (operation === 'update' && hit?.route.exists) request.operation = hit.route.exists(request, hit.match) ? 'update' : 'create';

  if (!unauthenticated && token) {
    const sudo = found?.entry.backend.rootPaths?.some((re) => re.test(found.subPath)) ?? false;
    if (!core.policies.acl(token.policies).allows(path, request.operation, sudo)) throw permissionDenied();
  }
  if (!found) throw new VaultError(404, [`no handler for route ${JSON.stringify(path)}. route entry not found.`]);
  if (!hit) throw unsupportedPath();
  const handler = handlerFor(hit.route, request.operation);
  if (!handler) throw unsupportedOperation();
  return renderLogical(request, handler(request, hit.match), found.entry.type);
}

/** Query parameters as request data (first value wins), minus Vault's own `list` flag. */
function queryData(query: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of query) if (key !== 'list' && !(key in out)) out[key] = value;
  return out;
}

/** `X-Vault-Token`, else `Authorization: Bearer`, as Vault's getTokenFromReq. */
function tokenFromHeaders(req: IncomingMessage): string | null {
  const header = req.headers['x-vault-token'];
  const vaultToken = Array.isArray(header) ? header[0] : header;
  if (vaultToken) return vaultToken;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || null;
  return null;
}

function clientAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}
