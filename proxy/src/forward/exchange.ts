/**
 * One data-plane request, from its arrival to the last byte of its answer.
 *
 * The exchange runs the stages (raw target → service → grant → policy and declared body size
 * → secret → clean and inject headers → forward) and owns every piece of the request's state
 * afterwards: the upstream request and answer, the header and body timers, the scrubber. It is
 * the one writer of the response. Every outcome ends in exactly one of:
 * - `relay`: the upstream's answer, checked, prepared and streamed through;
 * - `fail`: a contract error, or a cut connection once part of a relayed answer has gone out;
 *   whatever reports second (a timer, a late upstream event, the client leaving) finds the
 *   exchange done and changes nothing.
 *
 * Before either, a request that may be sent again (send-again.ts) goes upstream a second time,
 * once per cause: after a 401 from an OAuth2 API, with a fresh token; after meeting a pooled
 * connection the upstream had closed, as it was.
 *
 * Every entry point called from an event or a timer is guarded: an unexpected exception ends
 * this request (INTERNAL_ERROR, reported through `onUnexpected`), never the process.
 *
 * The forwarder (upstream.ts, http-proxy-middleware) reports to the exchange through the
 * {@link UpstreamHandler} methods; the exchange listens on the upstream request and answer
 * itself with shared listener functions that find it on the emitter, so a request allocates
 * no closures for them.
 */
import type { ClientRequest, IncomingMessage, InformationEvent } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import { REQUEST_ID_HEADER } from '../contract/contract';
import { ProxyError, recordError, sendProxyError, toProxyError } from '../contract/proxy-error';
import type { RequestContext } from '../app/request-context';
import type { SecretData, SecretProvider } from '../secrets/types';
import { checkWorkflowRule } from '../auth/workflow-policy';
import { checkDeclaredLength, watchRequestBody } from './body-limit';
import { watchBodyIdle } from './body-idle';
import { requestHeadersToForward } from './hop-headers';
import { replaceQueryParam, type Injection, type RequestSigner } from './inject';
import { findUnsafeTarget } from './path-safety';
import { isReleasable, releaseChunk, releaseParsedReads, releaseWrittenBodyChunks } from './release-chunk';
import { hasNoBody, headProblem, prepareHead } from './response-head';
import type { ServiceRoute } from './route';
import { decoderFor } from './scrub/policy';
import { compileScrubber, scrubBuffer, ScrubCursor, scrubHeaderValue, type Scrubber } from './scrub/stream';
import { splitForwardUrl, type ForwardTarget } from './split-url';
import { signOutgoing, type SignedOutgoing } from './sign-stage';
import { canSendAgain } from './send-again';
import { metClosedPooledConnection } from '../shared/pooled-connections';
import { retryAfterUnauthorized } from './unauthorized-retry';
import { bodyFailure, invalidAnswer, upstreamFailure } from './upstream-errors';
import type { UpstreamHandler } from './upstream';

const MAX_NAME_EXCERPT = 64;
/**
 * A scrubbed answer up to this size with a declared length and no content-encoding is read
 * whole, scrubbed in one pass and sent with its new length: no chunked framing.
 * Small enough that holding it costs nothing (the stream window's order of magnitude).
 */
export const SMALL_ANSWER_BYTES = 64 * 1024;

/**
 * Left out of every relayed answer besides the hop-by-hop headers: `transfer-encoding` (Node
 * frames what it writes) and the upstream's request id (the response carries the proxy's own).
 */
const NOT_RELAYED: ReadonlySet<string> = new Set(['transfer-encoding', REQUEST_ID_HEADER]);

/** Request headers left out when the answer is scrubbed: it must come whole. */
const RANGE_HEADERS: ReadonlySet<string> = new Set(['range', 'if-range']);

/** A refusal from the stages: the contract error, and whether the connection must close (a request body left unread). */
type Refusal = { error: ProxyError; close: boolean };
/** What the stages come to: a refusal, or null once the request was handed to the forwarder (or the client left). */
type StageOutcome = Refusal | null;

/** What every exchange shares: the compiled services and where secrets come from. */
export interface ExchangeDeps {
  /** A Map, not the config object: a service named "constructor" or "__proto__" must not resolve. */
  readonly routes: ReadonlyMap<string, ServiceRoute>;
  readonly secrets: SecretProvider;
  /** Told about an unexpected exception in a request's path (the request ends with INTERNAL_ERROR). */
  readonly onUnexpected?: (err: unknown, requestId: string) => void;
}

/**
 * Where an exchange stands. `upstream`: handed to the forwarder, no answer yet; `relaying`:
 * the upstream's answer is being checked or streamed; `done`: answered, failed or abandoned.
 */
type Phase = 'stages' | 'upstream' | 'relaying' | 'done';

/** Node sets `res` on a client request once it parsed a response head, even one it never emitted (a 101 nobody listens for). */
type UpstreamRequest = ClientRequest & { res?: IncomingMessage | null };

const EXCHANGE = Symbol('secure-proxy.exchange');
type Carrier = { [EXCHANGE]?: Exchange };

function exchangeOf(emitter: object): Exchange | undefined {
  return (emitter as Carrier)[EXCHANGE];
}

// Shared listeners: `this` is the emitter, which carries its exchange.
function onUpstreamResponse(this: ClientRequest, proxyRes: IncomingMessage): void {
  const exchange = exchangeOf(this);
  if (exchange === undefined) proxyRes.destroy();
  else exchange.onUpstreamResponse(proxyRes);
}
function onUpstreamInformation(this: ClientRequest, info: InformationEvent): void {
  exchangeOf(this)?.onInterimResponse(info);
}
function onUpstreamRequestClose(this: ClientRequest): void {
  exchangeOf(this)?.onUpstreamRequestClose();
}
function onRelayError(this: Readable, err: Error): void {
  exchangeOf(this)?.onRelayError(err);
}
function onRelayData(this: Readable, chunk: Buffer): void {
  exchangeOf(this)?.onRelayData(chunk);
}
function onRelayDrain(this: Response): void {
  exchangeOf(this)?.onRelayDrain();
}
function onRelayEnd(this: Readable): void {
  exchangeOf(this)?.onRelayEnd();
}
function onSmallBodyData(this: Readable, chunk: Buffer): void {
  exchangeOf(this)?.onSmallBodyData(chunk);
}
function onSmallBodyEnd(this: Readable): void {
  exchangeOf(this)?.onSmallBodyEnd();
}
function onUpstreamTimeout(exchange: Exchange): void {
  exchange.onUpstreamTimeout();
}

/** Compiled scrubbers per injected value list (injections are memoized, so the list is too). */
const scrubberCache = new WeakMap<readonly string[], Scrubber>();

function scrubberFor(values: readonly string[]): Scrubber {
  let scrubber = scrubberCache.get(values);
  if (scrubber === undefined) {
    scrubber = compileScrubber(values);
    scrubberCache.set(values, scrubber);
  }
  return scrubber;
}

function excerpt(text: string): string {
  return text.length > MAX_NAME_EXCERPT ? `${text.slice(0, MAX_NAME_EXCERPT)}…` : text;
}

/** One request through the data plane; see the module comment. */
export class Exchange implements UpstreamHandler {
  private phase: Phase = 'stages';
  private route: ServiceRoute | null = null;
  private scrubber: Scrubber | null = null;
  private upstreamReq: UpstreamRequest | null = null;
  private upstreamRes: IncomingMessage | null = null;
  /** What the response is written from: the upstream answer, or its decoder. */
  private relaySource: Readable | null = null;
  /** Decodes a compressed answer to scrub it; null when the answer is plain. */
  private relayDecoder: Transform | null = null;
  /** Scrubs the streamed body on its way into the response; null when it is relayed as is. */
  private relayCursor: ScrubCursor | null = null;
  /**
   * The upstream's clock (the service's `timeoutMs`): for the response head, then, refreshed
   * by every chunk, for the body of a small answer read whole. A streamed body has its own
   * idle watch (body-idle.ts), which knows when the relay is paused.
   */
  private upstreamTimer: NodeJS.Timeout | null = null;
  private upstreamSentAt = 0;
  /** A small answer being read whole (see SMALL_ANSWER_BYTES); null when it streams. */
  private smallBody: Buffer[] | null = null;
  /** What went upstream, kept for one retry after an OAuth2 401. */
  private secret: SecretData | null = null;
  private injection: Injection | null = null;
  private pathAndQuery = '';
  /** A body read whole for its signature, sent from memory instead of streamed. */
  private bufferedBody: Buffer | null = null;
  private retriedAfter401 = false;
  /** Set once the request went out again after meeting a pooled connection the upstream had closed. */
  private resentAfterClosedConnection = false;

  private constructor(
    private readonly req: Request,
    private readonly res: Response,
    private readonly ctx: RequestContext,
    private readonly deps: ExchangeDeps,
  ) {}

  /** Starts the exchange of a request that express routed to the data plane (the mount point stripped from `req.url`). */
  static start(req: Request, res: Response, ctx: RequestContext, deps: ExchangeDeps): void {
    new Exchange(req, res, ctx, deps).runStages();
  }

  // ---- the stages -------------------------------------------------------------------------

  /**
   * Runs the stages. A request whose secret is in memory, and whose injection needs neither a
   * token request nor a signature, runs them to the forwarder at once, without a promise; the
   * others go on when the secret, the token or the signature is there.
   */
  private runStages(): void {
    let outcome: StageOutcome | Promise<StageOutcome>;
    try {
      outcome = this.prepare();
    } catch (err) {
      this.crash(err);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (settled) => this.conclude(settled),
        (err: unknown) => this.crash(err),
      );
    } else {
      this.conclude(outcome);
    }
  }

  private conclude(outcome: StageOutcome): void {
    try {
      if (outcome !== null) this.fail(outcome.error, outcome.close);
    } catch (err) {
      this.crash(err);
    }
  }

  /** Stages 1-4; null once the request has been handed to the forwarder (or the client left). */
  private prepare(): StageOutcome | Promise<StageOutcome> {
    const { req, res, ctx } = this;
    const url = req.url;

    // 1. The raw target, exactly what will be forwarded. (The request line's form was checked
    //    once, app-wide, by rejectUnsafeRequestTarget before any route saw it.)
    const unsafe = findUnsafeTarget(url);
    if (unsafe !== null) return { error: new ProxyError('PATH_REJECTED', unsafe), close: false };

    // 2. Service resolution and the client's grant (and its workflow rule for the service, if any).
    const target = splitForwardUrl(url);
    const route = this.deps.routes.get(target.service);
    if (route === undefined) {
      const message =
        target.service === ''
          ? 'Name a service: /forward/{service}/{path}. GET /v1/services lists the services this token may use.'
          : `No service named '${excerpt(target.service)}' is configured in the proxy. GET /v1/services lists the services this token may use.`;
      return { error: new ProxyError('SERVICE_UNKNOWN', message), close: false };
    }
    ctx.service = route.name;
    this.route = route;
    const client = ctx.client;
    if (client === null || !client.services.has(route.name)) {
      const who = client === null ? 'This request' : `Client '${client.id}'`;
      return {
        error: new ProxyError('SERVICE_NOT_ALLOWED', `${who} may not use service '${route.name}'; the proxy admin grants services per client.`),
        close: false,
      };
    }
    const workflowRefused = checkWorkflowRule(ctx, route.name);
    if (workflowRefused !== null) return { error: workflowRefused, close: false };

    // 3. Service policy, a declared body the service would refuse anyway, and the service's limits (before the secret is read).
    const refused = route.policy.check(req.method, target.path);
    if (refused !== null) return { error: refused, close: false };
    const declaredTooLarge = checkDeclaredLength(req, route.bodyLimits);
    if (declaredTooLarge !== null) return { error: declaredTooLarge, close: true };
    // Last among the checks, so a request refused for anything else takes no token or slot.
    const limited = route.limiter === null ? null : route.limiter.admit(res);
    if (limited !== null) return { error: limited, close: false };

    // 4. The secret: taken from memory when the cache holds it fresh, else read (from Vault).
    const secretStarted = performance.now();
    const cached = this.deps.secrets.peek?.(route.secretPath);
    if (cached === undefined) return this.readSecret(route, target, secretStarted);
    ctx.secretMs = performance.now() - secretStarted;
    return this.inject(route, target, cached);
  }

  /** Stage 4 for a secret the cache does not hold fresh. */
  private async readSecret(route: ServiceRoute, target: ForwardTarget, started: number): Promise<StageOutcome> {
    let secret: SecretData;
    try {
      secret = await this.deps.secrets.get(route.secretPath);
    } catch (err) {
      return { error: toProxyError(err), close: false };
    } finally {
      this.ctx.secretMs = performance.now() - started;
    }
    return this.inject(route, target, secret);
  }

  /** Stage 4, continued: what the secret becomes on the wire (memoized per secret value; an OAuth2 service may request a token first). */
  private inject(route: ServiceRoute, target: ForwardTarget, secret: SecretData): StageOutcome | Promise<StageOutcome> {
    let applied: Injection | Promise<Injection>;
    try {
      applied = route.injector.apply(secret);
    } catch (err) {
      return { error: toProxyError(err), close: false };
    }
    if (!(applied instanceof Promise)) return this.forward(route, target, secret, applied);
    return applied.then(
      (injection) => this.forward(route, target, secret, injection),
      (err: unknown): StageOutcome => ({ error: toProxyError(err), close: false }),
    );
  }

  /** Stages 5-6: the client's headers cleaned and the credential injected, the request signed if the service signs, then forwarded. */
  private forward(route: ServiceRoute, target: ForwardTarget, secret: SecretData, injection: Injection): StageOutcome | Promise<StageOutcome> {
    const { req, res } = this;
    if (res.destroyed) {
      this.phase = 'done'; // the client left while the secret was read
      return null;
    }

    // 5. Clean the client's headers, then inject: same-name client headers (in any spelling) are replaced.
    const scrub = route.relay.scrub;
    // An answer to scrub is asked for whole: a byte range could split an echoed secret across parts.
    const headers = requestHeadersToForward(req.headers, route.injectedNames, scrub ? RANGE_HEADERS : undefined);
    req.headers = headers;
    if (scrub) {
      this.scrubber = scrubberFor(injection.secretValues);
      // Plain bytes are scrubbable (a compressed answer is still decoded if it comes anyway).
      headers['accept-encoding'] = 'identity';
    }
    for (const [name, value] of injection.headers) headers[name] = value;
    let pathAndQuery = target.path;
    if (injection.queryString !== null && injection.query !== null) {
      pathAndQuery += `?${replaceQueryParam(target.query ?? '', injection.query[0], injection.queryString)}`;
    } else if (target.query !== null) {
      pathAndQuery += `?${target.query}`;
    }

    this.secret = secret;
    this.injection = injection;
    const signer = route.injector.signer;
    if (signer !== undefined) return this.signThenSend(route, signer, pathAndQuery, secret);
    return this.send(route, pathAndQuery);
  }

  /** 5b. A signature over the request as sent (AWS SigV4, HMAC), the body read first if it is covered. */
  private async signThenSend(route: ServiceRoute, signer: RequestSigner, pathAndQuery: string, secret: SecretData): Promise<StageOutcome> {
    const { req, res } = this;
    let signed: SignedOutgoing;
    try {
      signed = await signOutgoing(req, signer, route.bodyLimits, pathAndQuery, secret);
    } catch (err) {
      if (!(err instanceof ProxyError)) {
        this.abandon(); // the client broke its request off while it was read
        return null;
      }
      return { error: err, close: !req.complete };
    }
    if (res.destroyed) {
      this.phase = 'done';
      return null;
    }
    this.bufferedBody = signed.body;
    return this.send(route, signed.pathAndQuery);
  }

  /** 6. Forward; from here on the upstream's events drive the exchange. */
  private send(route: ServiceRoute, pathAndQuery: string): null {
    this.pathAndQuery = pathAndQuery;
    if (this.bufferedBody === null) watchRequestBody(this.req, route.bodyLimits, (error) => this.onBodyStopped(error));
    this.phase = 'upstream';
    route.upstream.send(this.req, this.res, pathAndQuery, this);
    return null;
  }

  /**
   * An OAuth2 API answered 401: send the request once more with a fresh token when
   * unauthorized-retry.ts says it may be. True when the retry is under way and the 401 is discarded.
   */
  private retryUnauthorized(proxyRes: IncomingMessage): boolean {
    const { route, injection, secret } = this;
    if (this.retriedAfter401 || route === null || injection === null || secret === null) return false;
    if (!retryAfterUnauthorized(this.req, route.injector, injection, this.bufferedBody !== null)) return false;
    this.retriedAfter401 = true;
    // The refused exchange with the upstream is over: detach it before it closes.
    const upstreamReq = this.upstreamReq;
    if (upstreamReq !== null) delete (upstreamReq as Carrier)[EXCHANGE];
    proxyRes.destroy();
    upstreamReq?.destroy();
    this.upstreamReq = null;
    this.phase = 'stages';
    void this.resend(secret);
    return true;
  }

  private async resend(secret: SecretData): Promise<void> {
    const route = this.route!;
    try {
      const applied = route.injector.apply(secret);
      const injection = applied instanceof Promise ? await applied : applied;
      if (this.phase !== 'stages') return;
      if (this.res.destroyed) {
        this.phase = 'done';
        return;
      }
      this.injection = injection;
      if (route.relay.scrub) this.scrubber = scrubberFor(injection.secretValues);
      for (const [name, value] of injection.headers) this.req.headers[name] = value;
      this.phase = 'upstream';
      route.upstream.send(this.req, this.res, this.pathAndQuery, this);
    } catch (err) {
      if (this.phase === 'stages') this.fail(toProxyError(err));
      else this.crash(err);
    }
  }

  // ---- entry points: what the forwarder, the upstream and the timers report ------------------
  // Each one is guarded: an exception nothing expected ends this request, never the process.

  upstreamRequest(proxyReq: ClientRequest): void {
    try {
      this.takeUpstreamRequest(proxyReq);
    } catch (err) {
      this.crash(err);
    }
  }

  upstreamError(err: Error): void {
    try {
      this.upstreamFailed(err);
    } catch (second) {
      this.crash(second);
    }
  }

  unexpectedUpstreamResponse(proxyRes: IncomingMessage): void {
    // Only reachable if the 'response' takeover below did not happen; never relay what was not checked.
    proxyRes.destroy();
    this.crash(new Error('the forwarding stage read the upstream answer itself'));
  }

  forwarderDeclined(err: unknown): void {
    if (this.phase === 'done') return;
    try {
      const route = this.route!;
      this.fail(
        err === undefined
          ? new ProxyError('INTERNAL_ERROR', 'The forwarding stage declined the request.')
          : upstreamFailure(route.name, route.relay.timeoutMs, err instanceof Error ? err : new Error(typeof err)),
      );
    } catch (second) {
      this.crash(second);
    }
  }

  onUpstreamResponse(proxyRes: IncomingMessage): void {
    try {
      this.relay(proxyRes);
    } catch (err) {
      this.crash(err);
    }
  }

  onInterimResponse(info: InformationEvent): void {
    try {
      this.interim(info);
    } catch (err) {
      this.crash(err);
    }
  }

  onUpstreamRequestClose(): void {
    try {
      this.upstreamRequestClosed();
    } catch (err) {
      this.crash(err);
    }
  }

  onUpstreamTimeout(): void {
    try {
      this.upstreamTimedOut();
    } catch (err) {
      this.crash(err);
    }
  }

  onRelayError(err: Error): void {
    try {
      if (this.phase === 'relaying') this.fail(bodyFailure(this.route!.name, err));
    } catch (second) {
      this.crash(second);
    }
  }

  /**
   * A chunk of a streamed answer: scrubbed, written, and the source held while the client is
   * behind. Its memory is released once the client's socket took the bytes (release-chunk.ts);
   * the cursor keeps copies of what it holds back, never the chunk.
   */
  onRelayData(chunk: Buffer): void {
    try {
      const out = this.relayCursor === null ? chunk : this.relayCursor.next(chunk);
      const release = isReleasable(chunk);
      if (out.length === 0) {
        if (release) releaseChunk(chunk);
        return;
      }
      if (!this.res.write(out, release ? () => releaseChunk(chunk) : undefined)) {
        this.relaySource!.pause();
        this.res.once('drain', onRelayDrain);
      }
    } catch (err) {
      this.crash(err);
    }
  }

  onRelayDrain(): void {
    if (this.phase === 'relaying') this.relaySource?.resume();
  }

  onRelayEnd(): void {
    try {
      if (this.phase !== 'relaying') return;
      const last = this.relayCursor?.end();
      this.finishRelay(last === undefined || last.length === 0 ? undefined : last);
    } catch (err) {
      this.crash(err);
    }
  }

  onSmallBodyData(chunk: Buffer): void {
    if (this.smallBody === null) return;
    this.smallBody.push(chunk);
    this.upstreamTimer?.refresh();
  }

  onSmallBodyEnd(): void {
    try {
      if (this.phase === 'relaying') this.sendSmallBody();
    } catch (err) {
      this.crash(err);
    }
  }

  private onBodyIdle(): void {
    try {
      this.bodyWentSilent();
    } catch (err) {
      this.crash(err);
    }
  }

  private onBodyStopped(error: ProxyError): void {
    try {
      this.bodyStopped(error);
    } catch (err) {
      this.crash(err);
    }
  }

  // ---- upstream events ---------------------------------------------------------------------

  private takeUpstreamRequest(proxyReq: ClientRequest): void {
    if (this.phase !== 'upstream') {
      proxyReq.destroy(); // answered already (a body refused before the socket was assigned)
      return;
    }
    this.upstreamReq = proxyReq;
    (proxyReq as Carrier)[EXCHANGE] = this;
    // A body read whole for its signature: sent now, before httpxy pipes the (ended) request.
    if (this.bufferedBody !== null) proxyReq.end(this.bufferedBody);
    else if (!this.req.complete) releaseWrittenBodyChunks(proxyReq);
    // httpxy's one 'response' listener would read the answer itself: the exchange answers.
    proxyReq.removeAllListeners('response');
    proxyReq.on('response', onUpstreamResponse);
    proxyReq.on('information', onUpstreamInformation);
    // 'close' comes once per request: a plain listener, not once()'s wrapper.
    proxyReq.on('close', onUpstreamRequestClose);
    this.upstreamSentAt = performance.now();
    this.upstreamTimer = setTimeout(onUpstreamTimeout, this.route!.relay.timeoutMs, this);
  }

  /** A 1xx before the final answer: 100 and 103 are waited past (not relayed); any other is not an answer the proxy relays. */
  private interim(info: InformationEvent): void {
    if (this.phase !== 'upstream' || info.statusCode === 100 || info.statusCode === 103) return;
    this.fail(invalidAnswer(this.route!.name, `interim-${info.statusCode}`, `sent an interim ${info.statusCode} response, which the proxy does not relay`));
  }

  private upstreamTimedOut(): void {
    this.upstreamTimer = null;
    if (this.phase === 'relaying' && this.smallBody !== null) {
      this.bodyWentSilent();
      return;
    }
    if (this.phase !== 'upstream') return;
    const { name, relay } = this.route!;
    this.fail(
      new ProxyError('UPSTREAM_TIMEOUT', `The upstream of service '${name}' sent no response headers within ${relay.timeoutMs} ms.`, { detail: 'headers' }),
    );
  }

  /** No response body bytes for the service's timeout, streamed or read whole. */
  private bodyWentSilent(): void {
    const { name, relay } = this.route!;
    this.fail(
      new ProxyError('UPSTREAM_TIMEOUT', `The upstream of service '${name}' went silent mid-body: no response body bytes for ${relay.timeoutMs} ms.`, {
        detail: 'body',
      }),
    );
  }

  /** The upstream request closed: after an answer that is normal; without one, the answer is missing. */
  private upstreamRequestClosed(): void {
    if (this.phase !== 'upstream') return;
    // No 'error' came first: Node closes the socket without one when the upstream switched protocols.
    const status = this.upstreamReq?.res?.statusCode;
    const name = this.route!.name;
    this.fail(
      status === 101
        ? invalidAnswer(name, 'switching-protocols', 'answered 101 Switching Protocols to a request that asked for no protocol switch')
        : invalidAnswer(name, 'closed', 'closed the connection without a complete answer'),
    );
  }

  private upstreamFailed(err: Error): void {
    if (this.phase === 'done') return;
    if (this.req.errored !== null && this.req.errored !== undefined) {
      // The client's own request failed (reset, or a malformed body the listener already answered).
      this.abandon();
      return;
    }
    // The answer is complete; what the connection says after it (a second answer nobody asked
    // for) is not part of it, and Node does not reuse that connection.
    if (this.phase === 'relaying' && this.upstreamRes?.complete === true) return;
    if (this.phase === 'upstream' && this.resendAfterClosedConnection(err)) return;
    const route = this.route!;
    if (this.phase === 'relaying') this.fail(bodyFailure(route.name, err));
    else this.fail(upstreamFailure(route.name, route.relay.timeoutMs, err));
  }

  /**
   * The request met a pooled connection the upstream had closed (metClosedPooledConnection):
   * the upstream did not answer it, so one that may be sent again goes out once more, on the
   * connection the pool gives next. True when it did.
   */
  private resendAfterClosedConnection(err: Error): boolean {
    const upstreamReq = this.upstreamReq;
    if (this.resentAfterClosedConnection || upstreamReq === null) return false;
    if (!metClosedPooledConnection(upstreamReq, (err as NodeJS.ErrnoException).code)) return false;
    if (!canSendAgain(this.req, this.bufferedBody !== null)) return false;
    this.resentAfterClosedConnection = true;
    // The failed request's 'close' is still to come: detached, it does not reach this exchange.
    delete (upstreamReq as Carrier)[EXCHANGE];
    upstreamReq.destroy();
    this.upstreamReq = null;
    this.clearUpstreamTimer();
    this.route!.upstream.send(this.req, this.res, this.pathAndQuery, this);
    return true;
  }

  // ---- relaying the answer -----------------------------------------------------------------

  /** The upstream's final answer arrived: check it, then relay it or refuse it. */
  private relay(proxyRes: IncomingMessage): void {
    if (this.phase !== 'upstream') {
      this.clearUpstreamTimer();
      proxyRes.destroy();
      return;
    }
    if (proxyRes.statusCode === 401 && this.retryUnauthorized(proxyRes)) return;
    this.phase = 'relaying';
    this.upstreamRes = proxyRes;
    this.ctx.upstreamMs = performance.now() - this.upstreamSentAt;
    const route = this.route!;
    const problem = headProblem(proxyRes);
    if (problem !== null) return this.fail(invalidAnswer(route.name, problem.detail, problem.message));

    const { req, res } = this;
    const status = proxyRes.statusCode!;
    const headers = prepareHead(proxyRes.headers, { rewriteLocation: route.relay.rewriteLocation, scrubber: this.scrubber, dropped: NOT_RELAYED });

    const withBody = !hasNoBody(req.method, status);
    // A streamed body to scrub goes through its decoder (a compressed answer), then the cursor.
    let decoding: Transform | null = null;
    let cursor: ScrubCursor | null = null;
    let readWhole = false;
    // The body's length changes when it is scrubbed: left out below (and its coding, once decoded).
    let lengthChanges = false;
    if (withBody && this.scrubber !== null && route.relay.scrubBody(headers['content-type'])) {
      const decoder = decoderFor(headers['content-encoding']);
      if (decoder === undefined) {
        return this.fail(
          new ProxyError(
            'UPSTREAM_UNSCRUBBABLE',
            `The upstream of service '${route.name}' answered in content-encoding '${excerpt(String(headers['content-encoding']))}', which the proxy cannot decode to scrub it of secrets.`,
            { detail: 'content-encoding' },
          ),
        );
      }
      // Node's parser has checked a declared length (one value, digits only) before 'response'.
      const declared = headers['content-length'];
      readWhole = decoder === null && declared !== undefined && Number(declared) <= SMALL_ANSWER_BYTES;
      if (!readWhole) {
        decoding = decoder;
        cursor = new ScrubCursor(this.scrubber);
      }
      // The length changes: res.end(body) writes a whole answer's new length itself, a streamed
      // one is chunked (or closed, for HTTP/1.0).
      lengthChanges = true;
    }

    res.statusCode = status;
    // The reason phrase is upstream text on the status line: an API may quote the credential there too.
    const reason = proxyRes.statusMessage;
    if (reason && req.httpVersionMajor < 2) res.statusMessage = this.scrubber === null ? reason : scrubHeaderValue(this.scrubber, reason);
    for (const name in headers) {
      if ((lengthChanges && name === 'content-length') || (decoding !== null && name === 'content-encoding')) continue;
      const value = headers[name];
      if (value !== undefined) res.setHeader(name, value);
    }
    // Request tracking set it for every request; a forward handler mounted without it still answers with one.
    if (!res.hasHeader(REQUEST_ID_HEADER)) res.setHeader(REQUEST_ID_HEADER, this.ctx.requestId);
    if (!withBody) {
      proxyRes.resume();
      this.finishRelay();
      return;
    }
    if (readWhole) {
      this.readSmallBody(proxyRes);
    } else {
      this.clearUpstreamTimer();
      this.startBody(proxyRes, decoding, cursor);
    }
  }

  /** A small scrubbed answer: collected (its length is bounded by SMALL_ANSWER_BYTES), then sent by sendSmallBody. */
  private readSmallBody(proxyRes: IncomingMessage): void {
    this.smallBody = [];
    (proxyRes as Carrier)[EXCHANGE] = this;
    proxyRes.on('error', onRelayError);
    proxyRes.on('data', onSmallBodyData);
    proxyRes.on('end', onSmallBodyEnd);
    // The head's clock now times the body: silence between chunks (or before the first).
    this.upstreamTimer?.refresh();
  }

  /** The whole small answer is here: one scrub pass, its new length, one write. */
  private sendSmallBody(): void {
    const chunks = this.smallBody!;
    this.smallBody = null;
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    // Its new length is written by res.end (the upstream's was left out in relay).
    this.finishRelay(scrubBuffer(this.scrubber!, body));
  }

  /**
   * Streams the body into the response: through the decoder, if any (a pipe), then the
   * exchange's own 'data' handler, which scrubs each chunk with `cursor` and writes it; the
   * head goes out with the first byte. No Transform for the scrubbing: a stage buffers each
   * chunk on both of its sides and, with its 16 KiB high-water mark, pauses the upstream after
   * every 64 KiB read; here only the client's backpressure does. Every failure reaches
   * `onRelayError`, which stops it all (stream.pipeline would also destroy the response, and
   * costs an AbortController per answer).
   */
  private startBody(proxyRes: IncomingMessage, decoder: Transform | null, cursor: ScrubCursor | null): void {
    let source: Readable = proxyRes;
    (proxyRes as Carrier)[EXCHANGE] = this;
    proxyRes.on('error', onRelayError);
    if (decoder !== null) {
      (decoder as Carrier)[EXCHANGE] = this;
      decoder.on('error', onRelayError);
      source.pipe(decoder);
      source = decoder;
    }
    this.relayDecoder = decoder;
    this.relaySource = source;
    this.relayCursor = cursor;
    (this.res as Carrier)[EXCHANGE] = this;
    source.on('end', onRelayEnd); // emitted once per stream
    // The same bound then applies to silence between body bytes (nginx's proxy_read_timeout).
    watchBodyIdle(proxyRes, this.route!.relay.timeoutMs, () => this.onBodyIdle());
    releaseParsedReads(proxyRes);
    source.on('data', onRelayData);
  }

  /** The answer is complete: end the response (with `last`, the whole of a small answer). */
  private finishRelay(last?: Buffer): void {
    this.phase = 'done';
    this.clearUpstreamTimer();
    if (last === undefined) this.res.end();
    else this.res.end(last);
    const upstreamReq = this.upstreamReq;
    if (upstreamReq !== null && !upstreamReq.writableFinished) {
      // The upstream answered before it had the whole request body: stop sending it, and read
      // the rest of the client's body so the connection can carry its next request.
      this.req.unpipe(upstreamReq);
      this.req.resume();
      upstreamReq.destroy();
    }
  }

  // ---- endings -------------------------------------------------------------------------------

  /** The request body broke a limit (BODY_TOO_LARGE, REQUEST_TIMEOUT). */
  private bodyStopped(error: ProxyError): void {
    if (this.phase === 'done') {
      // Answered already and the client keeps sending past the limits: cut the connection.
      this.req.socket?.destroy();
      return;
    }
    this.fail(error, true);
  }

  /**
   * The one abort path: stops the upstream request and answer and every timer, records the
   * error, and answers with the contract error, or cuts the connection when part of the
   * answer has gone out. `close` asks for `Connection: close` (a request body left unread).
   */
  fail(error: ProxyError, close = false): void {
    if (this.phase === 'done') return;
    const clientGone = this.res.destroyed;
    const forwarding = this.phase !== 'stages';
    this.stop();
    // The client left first: nobody to answer, and nothing for the audit line to blame on anyone else.
    if (clientGone) return;
    recordError(this.ctx, error);
    const res = this.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A body that was being streamed upstream will not be read to its end: the connection cannot carry another request.
    if (close || (forwarding && !this.req.complete)) res.setHeader('connection', 'close');
    sendProxyError(res, error, this.ctx.requestId);
  }

  /** The client's side failed under the exchange: stop everything, answer nothing (the listener did, or cannot). */
  private abandon(): void {
    this.stop();
    if (!this.res.destroyed) this.res.destroy();
  }

  private stop(): void {
    this.phase = 'done';
    this.smallBody = null;
    this.clearUpstreamTimer();
    this.relaySource?.off('data', onRelayData);
    this.upstreamRes?.destroy();
    this.relayDecoder?.destroy();
    this.upstreamReq?.destroy();
  }

  private clearUpstreamTimer(): void {
    if (this.upstreamTimer !== null) {
      clearTimeout(this.upstreamTimer);
      this.upstreamTimer = null;
    }
  }

  /** An exception nothing expected: this request ends with INTERNAL_ERROR (or a cut), the process serves on. */
  private crash(err: unknown): void {
    this.report(err);
    try {
      if (this.phase === 'done') this.abandon();
      else this.fail(new ProxyError('INTERNAL_ERROR', 'Unexpected error inside the proxy; search the audit log for the request id.', { cause: err }));
    } catch (second) {
      // Even the contract error could not be written: cut the connection, which cannot throw.
      this.report(second);
      this.phase = 'done';
      this.res.destroy();
    }
  }

  private report(err: unknown): void {
    try {
      this.deps.onUnexpected?.(err, this.ctx.requestId);
    } catch (reportError) {
      const name = reportError instanceof Error ? reportError.name : typeof reportError;
      process.emitWarning(`reporting an unexpected error of request ${this.ctx.requestId} failed (${name})`, { code: 'SECURE_PROXY_FORWARD' });
    }
  }
}
