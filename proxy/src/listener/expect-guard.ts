/**
 * `Expect` on requests. Node's server answers `Expect: 100-continue` itself (and the header is
 * stripped before forwarding); any other expectation it would answer with a bare 417 that
 * carries no contract code, no request id and no audit line. The listener hands those
 * requests to the app instead (server.ts), and this guard refuses them with the contract.
 */
import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../contract/proxy-error';
import { checkMiddleware } from '../app/request-check';

/** Node's own test for a 100-continue expectation (`continueExpression` in its HTTP server). */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/** EXPECTATION_UNSUPPORTED (connection closed) for an Expect header asking for anything but 100-continue; null otherwise. */
export function expectationProblem(req: IncomingMessage): ProxyError | null {
  const expectation = req.headers.expect;
  if (expectation === undefined || CONTINUE.test(expectation)) return null;
  // The body (if any) is not read: the connection cannot carry another request.
  return new ProxyError(
    'EXPECTATION_UNSUPPORTED',
    "The request's Expect header asks for something other than 100-continue, which the proxy does not support.",
    { headers: { connection: 'close' } },
  );
}

/** Middleware form of {@link expectationProblem}. */
export const expectGuard = checkMiddleware(expectationProblem);
