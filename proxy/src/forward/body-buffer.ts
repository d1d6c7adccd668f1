/**
 * Reads a request body whole, for a signature that covers it (AWS SigV4 with a signed
 * payload, HMAC) and must go out in a header before the body. The same limits as a streamed
 * body apply while it is read: the service's `maxBodyBytes` (a declared Content-Length above
 * it was refused earlier) and the listener's `bodyTimeoutMs` between chunks.
 *
 * Memory: the body is held until it is sent, at most `maxBodyBytes` per request in flight
 * (10 MiB by default), plus the chunk list while reading. Services that sign bodies should
 * set a `maxBodyBytes` that fits the replica's memory times the concurrent uploads expected.
 */
import type { Request } from 'express';
import { ProxyError } from '../contract/proxy-error';
import { tooLarge, type BodyLimits } from './body-limit';
import { idleWatchdog } from './idle-watchdog';

/** A request without body bytes still to come. */
function bodyless(req: Request): boolean {
  return req.complete && req.readableLength === 0;
}

/**
 * The whole request body (an empty buffer for a request without one). Rejects with
 * BODY_TOO_LARGE or REQUEST_TIMEOUT (the caller answers with `Connection: close`: the rest
 * of the body stays unread), or with the request's own error when the client broke it off.
 */
export function bufferRequestBody(req: Request, limits: BodyLimits): Promise<Buffer> {
  if (bodyless(req)) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: Error | null): void => {
      watchdog.stop();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error !== null) {
        req.pause();
        reject(error);
      } else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    function onData(chunk: Buffer): void {
      received += chunk.length;
      if (received > limits.maxBytes) {
        finish(tooLarge(limits, `more than ${limits.maxBytes} bytes sent`));
        return;
      }
      chunks.push(chunk);
      watchdog.touch();
    }
    const onEnd = (): void => finish(null);
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => {
      if (!req.complete) finish(new Error('the client closed the connection before the request body was complete'));
    };
    const watchdog = idleWatchdog(
      limits.idleTimeoutMs,
      () => false,
      () => finish(new ProxyError('REQUEST_TIMEOUT', `The request body stalled: no data arrived for ${limits.idleTimeoutMs} ms (listen.bodyTimeoutMs).`)),
      { unref: false },
    );
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}
