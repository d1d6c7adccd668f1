/**
 * The idle clock both body timeouts share: the request body's (`listen.bodyTimeoutMs`) and the
 * upstream answer's (the service's `timeoutMs` between body bytes). Each watcher owns its
 * listeners and what stopping means; this owns when silence counts as idle: only while the
 * stream is not paused (a paused stream waits on the other side, not on the one being timed),
 * and only once bytes that may already be waiting have been read.
 */

/** A running idle clock: `touch()` on every read, `stop()` once the stream ended or closed. */
export interface IdleWatchdog {
  touch(): void;
  stop(): void;
}

/**
 * Calls `onIdle` once after `ms` without a `touch()` while `isPaused()` is false; time spent
 * paused restarts the clock. `unref` lets the process exit while only this clock is running.
 */
export function idleWatchdog(ms: number, isPaused: () => boolean, onIdle: () => void, options: { unref: boolean }): IdleWatchdog {
  let reads = 0;
  let stopped = false;
  const decide = (readsBefore: number): void => {
    if (stopped) return;
    if (reads !== readsBefore || isPaused()) {
      timer.refresh();
      return;
    }
    stopped = true;
    onIdle();
  };
  // Timers run before pending socket reads: after a stalled event loop (GC, a busy CPU) bytes
  // may be waiting. Decide after the next poll phase, once they have been read.
  const timer = setTimeout(() => setImmediate(decide, reads), ms);
  if (options.unref) timer.unref();
  return {
    touch() {
      if (stopped) return;
      reads += 1;
      timer.refresh();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
