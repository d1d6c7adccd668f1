/**
 * A request check: a guard that reads only the request line and headers and either lets the
 * request on (null) or names the refusal. Express's routes get each check as a middleware
 * ({@link checkMiddleware}); the data plane's front door (front-door.ts) runs the same checks
 * in one loop, so both ways in refuse alike.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { type ProxyError, refuse } from '../contract/proxy-error';

export type RequestCheck = (req: IncomingMessage) => ProxyError | null;

/** The check as express middleware: refuses with its error, else calls next(). */
export function checkMiddleware(check: RequestCheck): RequestHandler {
  return (req, res, next) => {
    const problem = check(req);
    if (problem === null) next();
    else refuse(res, problem);
  };
}
