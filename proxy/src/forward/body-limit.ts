/**
 * The request-body stage of the data plane: a service's `maxBodyBytes` and the listener's
 * `bodyTimeoutMs`, enforced while the body streams to the upstream (never buffered).
 *
 * - A declared Content-Length over the limit is refused before the secret is read and before
 *   anything is forwarded.
 * - A chunked body is counted as it flows; the chunk that crosses the limit stops it.
 * - A body that stops flowing for `bodyTimeoutMs` while the proxy is ready to take more is
 *   stopped. Time spent waiting on the upstream (not connected yet, or not reading: the
 *   stream is paused then) never counts against the client.
 *
 * Stopping aborts the upstream request first (through the AbortSignal handed to the forwarding
 * stage), so no partial body is completed and no upstream answer can race the refusal; then
 * the client gets 413/408 with `Connection: close`, or a cut connection when the upstream's
 * answer had already started.
 */
import type { Request, Response } from 'express';
import { ProxyError, refuse } from '../contract/proxy-error';
import { idleWatchdog, type IdleWatchdog } from './idle-watchdog';

/** Limits of one request's body. */
export interface BodyLimits {
  service: string;
  maxBytes: number;
  /** Longest gap between two chunks while the proxy is reading. */
  idleTimeoutMs: number;
}

function tooLarge(limits: BodyLimits, size: string): ProxyError {
  return new ProxyError(
    'BODY_TOO_LARGE',
    `The request body (${size}) is larger than service '${limits.service}' accepts (${limits.maxBytes} bytes, services.${limits.service}.maxBodyBytes).`,
  );
}

/**
 * Refuses with `Connection: close`: the rest of the body will not be read, so the connection
 * cannot carry another request.
 */
export function refuseAndClose(res: Response, error: ProxyError): void {
  res.setHeader('connection', 'close');
  refuse(res, error);
}

/** BODY_TOO_LARGE when the declared Content-Length exceeds the limit, else null. */
export function checkDeclaredLength(req: Request, limits: BodyLimits): ProxyError | null {
  const declared = req.headers['content-length'];
  // Node's parser has already refused malformed, negative and conflicting values.
  if (declared === undefined || Number(declared) <= limits.maxBytes) return null;
  return tooLarge(limits, `${declared} bytes declared`);
}

/**
 * Watches a request body from now until it ends or the exchange closes. Must be called right
 * before the body is handed to the forwarding stage; returns the signal that aborts the
 * upstream request when the body is stopped, or undefined when there is no body left to watch.
 */
export function watchRequestBody(req: Request, res: Response, limits: BodyLimits): AbortSignal | undefined {
  // Parsed to the end with nothing buffered (GET, HEAD, an empty body): no byte can come.
  if (req.complete && req.readableLength === 0) return undefined;
  const controller = new AbortController();
  let received = 0;
  let watchdog: IdleWatchdog | null = null;

  const unwatch = (): void => {
    watchdog?.stop();
    watchdog = null;
    req.off('data', onData);
    req.off('end', unwatch);
    req.off('close', unwatch);
    res.off('close', unwatch);
  };
  const stop = (error: ProxyError): void => {
    unwatch();
    controller.abort(error);
    if (res.headersSent) res.destroy();
    else refuseAndClose(res, error);
  };
  function onData(chunk: Buffer): void {
    received += chunk.length;
    if (received > limits.maxBytes) stop(tooLarge(limits, `more than ${limits.maxBytes} bytes sent`));
    else watchdog?.touch();
  }

  req.on('data', onData);
  // Adding a 'data' listener starts the flow; pausing right away leaves the first read to the
  // forwarding pipe (which resumes the stream), so no chunk is consumed before it is attached.
  req.pause();
  req.once('end', unwatch);
  req.once('close', unwatch);
  res.once('close', unwatch);
  if (!req.complete) {
    watchdog = idleWatchdog(
      limits.idleTimeoutMs,
      // Paused: the upstream is not taking data (or not connected yet); that wait is not the client's.
      () => req.readableFlowing !== true,
      () => stop(new ProxyError('REQUEST_TIMEOUT', `The request body stalled: no data arrived for ${limits.idleTimeoutMs} ms (listen.bodyTimeoutMs).`)),
      { unref: false },
    );
  }
  return controller.signal;
}
