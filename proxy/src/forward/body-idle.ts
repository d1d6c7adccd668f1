/**
 * The read timeout between body bytes of an upstream answer. The header timeout ends when the
 * headers arrive; without this, an upstream that goes silent mid-body would hold the client
 * (and a socket) forever, since the listener has no request timeout for streamed answers.
 * Like nginx's proxy_read_timeout it counts only silence that is the upstream's: while the
 * client reads slower than the upstream sends, the relay is paused and the clock waits.
 */
import type { IncomingMessage } from 'node:http';
import { idleWatchdog } from './idle-watchdog';

/**
 * Watches an upstream answer until its body ended; after `idleMs` of upstream silence it calls
 * `onIdle` once (the exchange then answers UPSTREAM_TIMEOUT, or cuts the relayed answer, and
 * destroys the upstream answer).
 */
export function watchBodyIdle(proxyRes: IncomingMessage, idleMs: number, onIdle: () => void): void {
  const socket = proxyRes.socket;
  if (socket === null || proxyRes.complete) return;
  const watchdog = idleWatchdog(
    idleMs,
    // Paused: the client (or the scrubber) is behind and the relay holds the upstream back.
    () => proxyRes.isPaused() || socket.isPaused(),
    onIdle,
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
