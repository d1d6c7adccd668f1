/**
 * When a request may go upstream a second time, and when a failed first try is worth it.
 *
 * A request may be sent again when it is idempotent (RFC 9110: GET, HEAD, PUT, DELETE,
 * OPTIONS: twice has the effect of once) and none of its body went upstream (it has none, or
 * the body is held in memory, as for a signature). Two things make a second try worth it: a
 * 401 from an OAuth2 API whose token was refused (unauthorized-retry.ts), and a pooled
 * connection the upstream had closed (below). The exchange sends a request again at most once.
 */
import type { ClientRequest } from 'node:http';
import type { Request } from 'express';

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** True when sending `req` upstream once more is safe; `bodyHeld`: its body is in memory, not streamed. */
export function canSendAgain(req: Request, bodyHeld: boolean): boolean {
  if (!IDEMPOTENT.has(req.method)) return false;
  return bodyHeld || (req.complete && req.readableLength === 0 && !req.readableDidRead);
}

/**
 * True when `upstreamReq` failed with `err` because it went out on a pooled keep-alive
 * connection the upstream had already closed: reset or hung up before any answer, on a reused
 * socket. An upstream closes connections idle past its timeout; a request that takes one in the
 * instant the close is under way, or before a busy event loop has read the close, meets this
 * (the pool lets idle connections go before a timeout the upstream announces, see
 * shared/pooled-connections.ts, but not every upstream announces one). A reset on a fresh
 * connection is the upstream's failure and is not this.
 */
export function metClosedConnection(upstreamReq: ClientRequest, err: Error): boolean {
  if (!upstreamReq.reusedSocket) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
