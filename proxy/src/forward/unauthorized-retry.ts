/**
 * When a 401 from an OAuth2 API is worth one more try: the request is idempotent (RFC 9110:
 * GET, HEAD, PUT, DELETE, OPTIONS), none of its body went upstream (it has none, or the body
 * is held in memory), and the injector dropped the refused token so the next one is fresh.
 * The exchange retries at most once; a second 401 is relayed.
 */
import type { Request } from 'express';
import type { Injection, Injector } from './inject';

const RETRIABLE_AFTER_401: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** True when the request may be sent again with a fresh token; drops the refused token as a side effect. */
export function retryAfterUnauthorized(req: Request, injector: Injector, refused: Injection, bodyHeld: boolean): boolean {
  if (injector.rejected === undefined || !RETRIABLE_AFTER_401.has(req.method)) return false;
  const noBodyStreamed = bodyHeld || (req.complete && req.readableLength === 0 && !req.readableDidRead);
  return noBodyStreamed && injector.rejected(refused);
}
