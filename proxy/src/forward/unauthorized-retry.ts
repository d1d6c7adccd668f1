/**
 * When a 401 from an OAuth2 API is worth one more try: the request may be sent again
 * (send-again.ts: idempotent, none of its body went upstream) and the injector dropped the
 * refused token so the next one is fresh. The exchange retries at most once; a second 401 is
 * relayed.
 */
import type { Request } from 'express';
import type { Injection, Injector } from './inject';
import { canSendAgain } from './send-again';

/** True when the request may be sent again with a fresh token; drops the refused token as a side effect. */
export function retryAfterUnauthorized(req: Request, injector: Injector, refused: Injection, bodyHeld: boolean): boolean {
  if (injector.rejected === undefined || !canSendAgain(req, bodyHeld)) return false;
  return injector.rejected(refused);
}
