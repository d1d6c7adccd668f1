/**
 * `Expect` on requests. Node's server answers `Expect: 100-continue` itself (and the header is
 * stripped before forwarding); any other expectation it would answer with a bare 417 that
 * carries no contract code, no request id and no audit line. The listener hands those
 * requests to the app instead (server.ts), and this guard refuses them with the contract.
 */
import type { RequestHandler } from 'express';
import { ProxyError, refuse } from '../contract/proxy-error';

/** Node's own test for a 100-continue expectation (`continueExpression` in its HTTP server). */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/** Refuses a request whose Expect header asks for anything but 100-continue (EXPECTATION_UNSUPPORTED, connection closed). */
export const expectGuard: RequestHandler = (req, res, next) => {
  const expectation = req.headers.expect;
  if (expectation === undefined || CONTINUE.test(expectation)) {
    next();
    return;
  }
  // The body (if any) is not read: the connection cannot carry another request.
  res.setHeader('connection', 'close');
  refuse(
    res,
    new ProxyError('EXPECTATION_UNSUPPORTED', "The request's Expect header asks for something other than 100-continue, which the proxy does not support."),
  );
};
