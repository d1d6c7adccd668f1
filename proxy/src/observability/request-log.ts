/**
 * The first middleware of the app: gives every request an id and a context, and emits
 * exactly one 'request:finish' record when the response is done or the connection is gone
 * (at the end of that turn of the event loop, with the other records of the turn).
 * It runs on every request, so it does plain string work only (no URL parsing).
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { REQUEST_ID_HEADER } from '../contract/contract';
import { newContext, type RequestContext } from '../app/request-context';
import { pathOnly } from '../shared/request-target';
import type { ProxyEvents, RequestRecord } from './events';

/** A client-sent request id is reused only in this shape: it ends up in logs and headers. */
const REQUEST_ID_SHAPE = /^[A-Za-z0-9._-]{1,128}$/;
/** Status recorded when the client left before any response was sent (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;
/** Longer paths are clipped in the record: the log line must stay bounded. */
const MAX_PATH_LENGTH = 2048;

export interface RequestTrackingOptions {
  /** Classifies a request by its path (no query); must only return the fixed route names. */
  route(path: string): RequestContext['route'];
}

/** The client's `x-request-id` when it is well-formed, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID_SHAPE.test(header) ? header : randomUUID();
}

/**
 * The request target with every query value removed and keys kept:
 * `/forward/x/users?page=2&token=abc` → `/forward/x/users?page=&token=`. Values may hold
 * secrets or personal data; the keys are what an operator needs to read a request.
 *
 * Linear in the target, and it stops once the clipped record is full: any target the listener
 * accepts (up to `listen.maxHeaderBytes`, a megabyte of `&` or `=` included) costs one pass.
 */
export function stripQueryValues(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return clip(url);
  let out = url.slice(0, question + 1);
  let start = question + 1;
  // The next '=' at or after `start`, found once and reused while the pieces before it are skipped.
  let equals = -2;
  while (start <= url.length && out.length <= MAX_PATH_LENGTH) {
    let end = url.indexOf('&', start);
    if (end === -1) end = url.length;
    if (equals !== -1 && equals < start) equals = url.indexOf('=', start);
    out += equals !== -1 && equals < end ? url.slice(start, equals + 1) : url.slice(start, end);
    if (end < url.length) out += '&';
    start = end + 1;
  }
  return clip(out);
}

function clip(text: string): string {
  return text.length > MAX_PATH_LENGTH ? `${text.slice(0, MAX_PATH_LENGTH)}…` : text;
}

function buildRecord(req: Request, res: Response, ctx: RequestContext, aborted: boolean): RequestRecord {
  return {
    requestId: ctx.requestId,
    method: req.method,
    path: stripQueryValues(req.originalUrl),
    route: ctx.route,
    // Before headers are sent, res.statusCode is only express' default 200: record what happened instead.
    status: aborted && !res.headersSent ? CLIENT_CLOSED_STATUS : res.statusCode,
    clientId: ctx.client?.id ?? null,
    tokenId: ctx.client?.tokenId ?? null,
    service: ctx.service,
    errorCode: ctx.errorCode,
    errorSource: ctx.errorSource,
    errorDetail: ctx.errorDetail,
    durationMs: Number(process.hrtime.bigint() - ctx.startedAt) / 1e6,
    secretMs: ctx.secretMs,
    upstreamMs: ctx.upstreamMs,
    // The socket peer: the app sets no 'trust proxy', so a forwarding header is only the caller's claim.
    remoteAddress: req.socket.remoteAddress ?? null,
    aborted,
    workflowId: ctx.attribution?.workflowId ?? null,
    workflowName: ctx.attribution?.workflowName ?? null,
    executionId: ctx.attribution?.executionId ?? null,
    nodeName: ctx.attribution?.nodeName ?? null,
    aiTool: ctx.attribution?.aiTool ?? null,
    traceId: ctx.attribution?.traceId ?? null,
    attributionInvalid: ctx.attribution?.invalid ?? null,
    workflowRule: ctx.workflowRule,
  };
}

/**
 * A listener that throws inside a response's 'finish' would surface as an uncaught exception
 * and take every in-flight request down with it; observability must not do that.
 */
function emitSafely(events: ProxyEvents, record: RequestRecord): void {
  try {
    events.emit('request:finish', record);
  } catch (err) {
    const name = err instanceof Error ? err.name : typeof err;
    process.emitWarning(`a request:finish listener threw (${name}); the record of ${record.requestId} may be incomplete`, {
      code: 'SECURE_PROXY_OBSERVABILITY',
    });
  }
}

/**
 * The records of the requests that finished during one turn of the event loop, emitted
 * together right after it (setImmediate). Writing an audit line and updating the metrics
 * between two requests' socket work costs about twice what the same work costs in a run of
 * records (the logger's and the metrics' code and data are warm for the second record on);
 * see bench/README.md. A record is at most one turn late, and `flush` emits whatever waits
 * at once (shutdown).
 */
export class RecordBatch {
  private waiting: RequestRecord[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  constructor(private readonly events: ProxyEvents) {}

  add(record: RequestRecord): void {
    this.waiting.push(record);
    this.scheduled ??= setImmediate(emitBatch, this);
  }

  /** Emits every waiting record now. */
  flush(): void {
    if (this.scheduled !== null) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    const records = this.waiting;
    if (records.length === 0) return;
    this.waiting = [];
    for (const record of records) emitSafely(this.events, record);
  }
}

function emitBatch(batch: RecordBatch): void {
  batch.flush();
}

/** Above the fixed per-response listener count of the forwarding path (see below), with headroom. */
const RESPONSE_MAX_LISTENERS = 32;

const TRACKED_BY = Symbol('secure-proxy.tracked-by');
/** A tracked response carries the batch its record goes to until the record is out. */
type Tracked = Response & { [TRACKED_BY]?: RecordBatch };

// One listener function for every response, on 'close': Node emits it once per response, right
// after 'finish' when the response went out and alone when the connection went away first.
// The response carries what it needs, so tracking a request allocates no closure.
function onResponseDone(this: Tracked): void {
  const batch = this[TRACKED_BY];
  if (batch === undefined) return;
  this[TRACKED_BY] = undefined;
  // 'close' without a completed write means the connection went away first.
  batch.add(buildRecord(this.req, this, this.locals.ctx as RequestContext, !this.writableFinished));
}

/** Express middleware: request id, context on `res.locals.ctx`, one record per request. */
export type RequestTracking = RequestHandler & {
  /** What the middleware does, for a caller that runs without express (the data plane's front door); `res.locals` must exist. */
  start(req: Request, res: Response): RequestContext;
  /** Emits the records still waiting for the end of the event loop's turn (call on shutdown). */
  flush(): void;
};

/** Builds the tracking middleware; its records go to `events` as 'request:finish', in batches (see {@link RecordBatch}). */
export function requestTracking(events: ProxyEvents, options: RequestTrackingOptions): RequestTracking {
  const batch = new RecordBatch(events);
  const start = (req: Request, res: Response): RequestContext => {
    const ctx = newContext(requestIdFrom(req.headers[REQUEST_ID_HEADER]));
    ctx.route = options.route(pathOnly(req.originalUrl));
    res.locals.ctx = ctx;
    res.setHeader(REQUEST_ID_HEADER, ctx.requestId);
    (res as Tracked)[TRACKED_BY] = batch;
    res.on('close', onResponseDone);
    // httpxy adds three 'close' listeners to a forwarded response, the exchange and tracking
    // the rest: a fixed number per response, close to Node's leak-warning threshold (10).
    res.setMaxListeners(RESPONSE_MAX_LISTENERS);
    return ctx;
  };
  const track: RequestHandler = (req, res, next) => {
    start(req, res);
    next();
  };
  return Object.assign(track, { start, flush: () => batch.flush() });
}
