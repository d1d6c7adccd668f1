/**
 * When a request may go upstream a second time.
 *
 * A request may be sent again when it is idempotent (RFC 9110: GET, HEAD, PUT, DELETE,
 * OPTIONS: twice has the effect of once) and none of its body went upstream (it has none, or
 * the body is held in memory, as for a signature). Two things make a second try worth it: a
 * 401 from an OAuth2 API whose token was refused (unauthorized-retry.ts), and a pooled
 * connection the upstream had closed (shared/pooled-connections.ts). The exchange sends a
 * request again at most once per cause.
 */
import type { Request } from 'express';

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** True when sending `req` upstream once more is safe; `bodyHeld`: its body is in memory, not streamed. */
export function canSendAgain(req: Request, bodyHeld: boolean): boolean {
  if (!IDEMPOTENT.has(req.method)) return false;
  return bodyHeld || (req.complete && req.readableLength === 0 && !req.readableDidRead);
}
