/**
 * The read timeout between body bytes of an upstream answer. The header timeout ends when the
 * headers arrive; without this, an upstream that goes silent mid-body would hold the client
 * (and a socket) forever, since the listener has no request timeout for streamed answers.
 * Like nginx's proxy_read_timeout it counts only silence that is the upstream's: while the
 * client reads slower than the upstream sends, the relay is paused and the clock waits.
 */
import type { IncomingMessage } from 'node:http';
import { idleWatchdog } from './idle-watchdog';

/** The upstream sent no body byte for the service's `timeoutMs` while the proxy was ready to read. */
export class UpstreamBodyIdleError extends Error {
  readonly code = 'ERR_UPSTREAM_BODY_IDLE';
  constructor(idleMs: number) {
    super(`no response body bytes for ${idleMs} ms`);
    this.name = 'UpstreamBodyIdleError';
  }
}

/**
 * Watches an upstream answer until its body ended; after `idleMs` of upstream silence it calls
 * `onIdle` (to record why) and destroys the answer, which closes the upstream socket and makes
 * the relay cut the client connection.
 */
export function watchBodyIdle(proxyRes: IncomingMessage, idleMs: number, onIdle: () => void): void {
  const socket = proxyRes.socket;
  if (socket === null || proxyRes.complete) return;
  const watchdog = idleWatchdog(
    idleMs,
    // Paused: the client (or the scrubber) is behind and the relay holds the upstream back.
    () => proxyRes.isPaused() || socket.isPaused(),
    () => {
      onIdle();
      proxyRes.destroy(new UpstreamBodyIdleError(idleMs));
    },
    { unref: true },
  );
  // The socket is already flowing into the HTTP parser: one more listener does not change that.
  const onData = (): void => watchdog.touch();
  socket.on('data', onData);
  const stop = (): void => {
    watchdog.stop();
    socket.off('data', onData);
  };
  proxyRes.once('end', stop);
  proxyRes.once('close', stop);
}
