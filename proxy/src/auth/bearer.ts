/**
 * Express middleware: accepts `Authorization: Bearer <proxy token>` and records the client
 * in the request context. Exactly that header, because n8n redacts `authorization` in its
 * error contexts and execution logs but not custom headers.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ProxyError, refuse } from '../contract/proxy-error';
import { contextOf } from '../app/request-context';
import type { TokenExpiry, TokenLookup } from './token-index';
import { isPlausibleToken } from './token-format';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="secure-proxy"' };

/** Reads the bearer token, or explains why there is none usable. */
export function bearerTokenOf(header: string | undefined): { token: string } | { error: ProxyError } {
  if (header === undefined || header.trim() === '') {
    return { error: new ProxyError('PROXY_TOKEN_MISSING', 'Send the proxy token as "Authorization: Bearer <token>".', { headers: CHALLENGE }) };
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (match === null) {
    return {
      error: new ProxyError('PROXY_TOKEN_INVALID', 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".', {
        headers: CHALLENGE,
      }),
    };
  }
  if (!isPlausibleToken(match[1])) {
    return { error: new ProxyError('PROXY_TOKEN_INVALID', 'The proxy token is malformed.', { headers: CHALLENGE }) };
  }
  return { token: match[1] };
}

/**
 * What authentication asks: a synchronous lookup (the hit path stays synchronous), and for
 * a token the index does not know, optionally a re-read of the token records that may know
 * it by now. A ClientRegistry alone is a directory without re-reads.
 */
export interface TokenDirectory {
  lookup(token: string): TokenLookup;
  /**
   * Called after an unknown token. Returns a promise that settles (never rejects) when a
   * re-read that may know the token has finished, or null when none is allowed right now.
   */
  refreshAfterMiss?(): Promise<void> | null;
  /** Every token the directory serves now (owner, id, expiry; never a hash), for expiry warnings. */
  expiries(): TokenExpiry[];
}

/**
 * Builds the authentication stage for the data and control planes. `gateFailure`, when
 * given, sees every failed authentication before it is refused: it calls `next()` to let the
 * refusal go out, or answers itself (the brute-force throttle's 429). Valid tokens never reach it.
 */
export function authenticate(directory: () => TokenDirectory, gateFailure?: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const bearer = bearerTokenOf(req.headers.authorization);
    if (!('token' in bearer)) {
      refuseFailure(bearer.error, req, res, next, gateFailure);
      return;
    }
    const found = directory().lookup(bearer.token);
    if (found.ok || found.reason === 'expired') {
      settle(found, req, res, next, gateFailure);
      return;
    }
    // A token issued since the last re-read is unknown until the next one: ask for it now.
    const refresh = directory().refreshAfterMiss?.() ?? null;
    if (refresh === null) {
      settle(found, req, res, next, gateFailure);
      return;
    }
    void refresh.then(() => settle(directory().lookup(bearer.token), req, res, next, gateFailure));
  };
}

// Module-level rather than closures per request: the hit path allocates nothing of its own.
function settle(lookup: TokenLookup, req: Request, res: Response, next: NextFunction, gateFailure: RequestHandler | undefined): void {
  if (lookup.ok) {
    contextOf(res).client = lookup.client;
    next();
    return;
  }
  refuseFailure(
    lookup.reason === 'expired'
      ? new ProxyError(
          'PROXY_TOKEN_EXPIRED',
          `The proxy token of client "${lookup.clientId}" expired at ${lookup.expiredAt.toISOString()}; use the rotated token.`,
          { headers: CHALLENGE },
        )
      : new ProxyError('PROXY_TOKEN_INVALID', 'The proxy token is not known to this proxy.', { headers: CHALLENGE }),
    req,
    res,
    next,
    gateFailure,
  );
}

function refuseFailure(error: ProxyError, req: Request, res: Response, next: NextFunction, gateFailure: RequestHandler | undefined): void {
  if (gateFailure === undefined) {
    refuse(res, error);
    return;
  }
  void gateFailure(req, res, (err?: unknown) => (err === undefined ? refuse(res, error) : next(err)));
}
