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
 * Stopping is reported to the request's exchange, which aborts the upstream request (so no
 * partial body is completed) and answers 413/408 with `Connection: close`, or cuts the
 * connection once the upstream's answer has started.
 */
import type { Request } from 'express';
import { ProxyError } from '../contract/proxy-error';
import { idleWatchdog, type IdleWatchdog } from './idle-watchdog';

/** Limits of one request's body. */
export interface BodyLimits {
  service: string;
  maxBytes: number;
  /** Longest gap between two chunks while the proxy is reading. */
  idleTimeoutMs: number;
}

/** BODY_TOO_LARGE naming the service and its limit; `size` says what was seen. */
export function tooLarge(limits: BodyLimits, size: string): ProxyError {
  return new ProxyError(
    'BODY_TOO_LARGE',
    `The request body (${size}) is larger than service '${limits.service}' accepts (${limits.maxBytes} bytes, services.${limits.service}.maxBodyBytes).`,
  );
}

/** BODY_TOO_LARGE when the declared Content-Length exceeds the limit, else null. */
export function checkDeclaredLength(req: Request, limits: BodyLimits): ProxyError | null {
  const declared = req.headers['content-length'];
  // Node's parser has already refused malformed, negative and conflicting values.
  if (declared === undefined || Number(declared) <= limits.maxBytes) return null;
  return tooLarge(limits, `${declared} bytes declared`);
}

/**
 * Watches a request body from now until it ended or the connection closed. Must be called
 * right before the body is handed to the forwarding stage. Returns false when there is no body
 * left to watch; otherwise `onStop` is called at most once, with BODY_TOO_LARGE or
 * REQUEST_TIMEOUT.
 */
export function watchRequestBody(req: Request, limits: BodyLimits, onStop: (error: ProxyError) => void): boolean {
  // Parsed to the end with nothing buffered (GET, HEAD, an empty body): no byte can come.
  if (req.complete && req.readableLength === 0) return false;
  let received = 0;
  let watchdog: IdleWatchdog | null = null;

  const unwatch = (): void => {
    watchdog?.stop();
    watchdog = null;
    req.off('data', onData);
    req.off('end', unwatch);
    req.off('close', unwatch);
  };
  const stop = (error: ProxyError): void => {
    unwatch();
    onStop(error);
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
  // Watched until the body ended, even after the answer went out: a client that keeps sending
  // into a finished exchange is still bounded by the same limits.
  req.once('end', unwatch);
  req.once('close', unwatch);
  if (!req.complete) {
    watchdog = idleWatchdog(
      limits.idleTimeoutMs,
      // Paused: the upstream is not taking data (or not connected yet); that wait is not the client's.
      () => req.readableFlowing !== true,
      () => stop(new ProxyError('REQUEST_TIMEOUT', `The request body stalled: no data arrived for ${limits.idleTimeoutMs} ms (listen.bodyTimeoutMs).`)),
      { unref: false },
    );
  }
  return true;
}
