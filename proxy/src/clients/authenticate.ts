/**
 * Express middleware: accepts `Authorization: Bearer <proxy token>` and records the client
 * in the request context. Exactly that header, because n8n redacts `authorization` in its
 * error contexts and execution logs but not custom headers.
 */
import type { RequestHandler } from 'express';
import { ProxyError, refuse } from '../errors';
import { contextOf } from '../request-context';
import type { ClientRegistry } from './registry';
import { isPlausibleToken } from './tokens';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="secure-proxy"' };

/** Reads the bearer token, or explains why there is none usable. */
export function bearerTokenOf(header: string | undefined): { token: string } | { error: ProxyError } {
  if (header === undefined || header.trim() === '') {
    return { error: new ProxyError('PROXY_TOKEN_MISSING', 'Send the proxy token as "Authorization: Bearer <token>".', { headers: CHALLENGE }) };
  }
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (match === null) {
    return { error: new ProxyError('PROXY_TOKEN_INVALID', 'The Authorization header must use the Bearer scheme: "Authorization: Bearer <token>".', { headers: CHALLENGE }) };
  }
  if (!isPlausibleToken(match[1])) {
    return { error: new ProxyError('PROXY_TOKEN_INVALID', 'The proxy token is malformed.', { headers: CHALLENGE }) };
  }
  return { token: match[1] };
}

/** Builds the authentication stage for the data and control planes. */
export function authenticate(registry: () => ClientRegistry): RequestHandler {
  return (req, res, next) => {
    const ctx = contextOf(res);
    const bearer = bearerTokenOf(req.headers.authorization);
    let error: ProxyError;
    if ('token' in bearer) {
      const found = registry().lookup(bearer.token);
      if (found.ok) {
        ctx.client = found.client;
        next();
        return;
      }
      error =
        found.reason === 'expired'
          ? new ProxyError('PROXY_TOKEN_EXPIRED', `The proxy token of client "${found.clientId}" expired at ${found.expiredAt.toISOString()}; use the rotated token.`, { headers: CHALLENGE })
          : new ProxyError('PROXY_TOKEN_INVALID', 'The proxy token is not known to this proxy.', { headers: CHALLENGE });
    } else {
      error = bearer.error;
    }
    refuse(res, error);
  };
}
