/**
 * How requests enter the app: the app-wide steps every request gets (request tracking, its
 * attribution, the request checks), mounted once on express's router, and the data plane's
 * front door, which gives a `/forward/...` request the same steps without express.
 *
 * Express's app function hands every request to `app.handle(req, res, next)` (express 5,
 * lib/express.js). The front door takes that place on this app instance: a `/forward/`
 * request is served right there, anything else goes on to express's own `handle`. So every
 * way the app is served (http.createServer(app), app.listen, supertest, a parent app mounting
 * it) passes through here. A data-plane request thus skips what express does per request and
 * what it could not use: the prototype swap of req and res, the router's walk over the
 * app-wide layers and the ops and control routes, a `next` per layer.
 *
 * Only the exact `/forward/` prefix takes this way. Anything else (`/forward` alone, `/forward?x`,
 * another spelling express's case-insensitive matching accepts) goes through the router to
 * the same handlers, so what a request gets does not depend on which way it took.
 *
 * The data-plane modules therefore use only Node's request and response API, plus the two
 * fields the front door sets as express would: `res.locals` and `req.originalUrl`.
 */
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';
import { FORWARD_PREFIX } from '../contract/contract';
import { refuse } from '../contract/proxy-error';
import { attributeRequest, readAttribution } from '../forward/attribution';
import type { RequestTracking } from '../observability/request-log';
import { checkMiddleware, type RequestCheck } from './request-check';

const PREFIX_WITH_SLASH = `${FORWARD_PREFIX}/`;

/** What every request goes through, in this order, before its route. */
export interface EntrySteps {
  tracking: RequestTracking;
  /** Refusals that need only the request line and headers (Expect, request target, Host). */
  checks: readonly RequestCheck[];
  /** The data plane: the same handlers the router mounts at FORWARD_PREFIX. */
  authenticate: RequestHandler;
  forward: RequestHandler;
  /** The app's error handler, for what the data plane throws or passes on. */
  onError: ErrorRequestHandler;
}

type Handle = (this: Express, req: Request, res: Response, callback?: (err?: unknown) => void) => void;

/** A data-plane handler passed control on without an error: the data plane must answer every request it takes. */
const DECLINED = new Error('the data plane passed a request on without answering it');

/** Mounts the app-wide steps on `app` and installs the front door; call before any route is mounted. */
export function mountEntry(app: Express, steps: EntrySteps): void {
  const { tracking, checks, authenticate, forward, onError } = steps;
  app.use(tracking);
  // Before anything can refuse the request or strip its headers: every audit line carries the attribution.
  app.use(attributeRequest);
  for (const check of checks) app.use(checkMiddleware(check));

  const fail = (req: Request, res: Response, err: unknown): void => {
    onError(err, req, res, ignoreNext);
  };
  const afterAuthentication = (req: Request, res: Response, err: unknown): void => {
    if (err !== undefined && err !== null) {
      fail(req, res, err);
      return;
    }
    try {
      // What express's mount at FORWARD_PREFIX does: the handler sees the path below it.
      req.url = req.url.slice(FORWARD_PREFIX.length);
      void forward(req, res, (forwardErr?: unknown) => fail(req, res, forwardErr ?? DECLINED));
    } catch (thrown) {
      fail(req, res, thrown);
    }
  };

  const withHandle = app as unknown as { handle: Handle };
  const routerHandle = withHandle.handle;
  withHandle.handle = function frontDoor(req, res, callback) {
    if (!req.url.startsWith(PREFIX_WITH_SLASH)) {
      routerHandle.call(this, req, res, callback);
      return;
    }
    try {
      res.locals = Object.create(null) as Response['locals'];
      req.originalUrl = req.url;
      const ctx = tracking.start(req, res);
      ctx.attribution = readAttribution(req.headers);
      for (const check of checks) {
        const problem = check(req);
        if (problem !== null) {
          refuse(res, problem);
          return;
        }
      }
      void authenticate(req, res, (err?: unknown) => afterAuthentication(req, res, err));
    } catch (thrown) {
      fail(req, res, thrown);
    }
  };
}

function ignoreNext(): void {}
