/**
 * The data plane's way in, ahead of express's router. Every `/forward/...` request would
 * otherwise walk the ops routes, the `/v1` mount and the control routes before reaching its
 * own mount; this layer sits right after the app-wide guards (request tracking, Expect, the
 * request target, Host) and hands such a request straight to authentication and the forward
 * handler, with the mount point stripped from `req.url` as express's mount would.
 *
 * Only the exact `/forward/` prefix takes this way. Anything else (`/forward` alone, `/forward?x`,
 * another spelling express's case-insensitive matching accepts) goes on through the router to
 * the same handlers, so what a request gets does not depend on which way it took.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { FORWARD_PREFIX } from '../contract/contract';

const PREFIX_WITH_SLASH = `${FORWARD_PREFIX}/`;

/** Builds the entry layer; `authenticate` and `forward` are the same handlers the router mounts at FORWARD_PREFIX. */
export function dataPlaneEntry(authenticate: RequestHandler, forward: RequestHandler): RequestHandler {
  const afterAuthentication = (req: Request, res: Response, next: NextFunction, err: unknown): void => {
    if (err !== undefined && err !== null) {
      next(err);
      return;
    }
    try {
      req.url = req.url.slice(FORWARD_PREFIX.length);
      void forward(req, res, next);
    } catch (thrown) {
      // What express's router does with a throwing handler: the app's error handler answers.
      next(thrown);
    }
  };
  return (req, res, next) => {
    if (!req.url.startsWith(PREFIX_WITH_SLASH)) {
      next();
      return;
    }
    void authenticate(req, res, (err?: unknown) => afterAuthentication(req, res, next, err));
  };
}
