/**
 * The last net under the request paths. Every request is guarded by its exchange (an exception
 * there ends that request with INTERNAL_ERROR); what still escapes, from a timer or an event
 * of some connection, would make Node exit with code 1 and take every in-flight request and
 * every workflow's outbound calls with it. `serve` reports such an exception (log line at
 * level error, `secure_proxy_unexpected_errors_total{where="process"}`) and keeps serving: the
 * request it belonged to, if any, is then ended by its own timeouts.
 *
 * What still ends the process: V8 running out of heap (fatal, not an exception), an exception
 * thrown while this handler reports one (Node exits with 7), native aborts, startup failures
 * (configuration, a port that cannot be bound) and a failed graceful shutdown.
 */
import type { EventEmitter } from 'node:events';

/** Reports an exception nothing caught; `origin` is Node's (`uncaughtException`, `unhandledRejection`). */
export type UnexpectedReporter = (origin: string, error: unknown) => void;

/** Installs the net on `target` (the process); returns the function that removes it. */
export function keepServingOnUncaught(report: UnexpectedReporter, target: EventEmitter = process): () => void {
  const onException = (error: unknown, origin?: unknown): void => {
    try {
      report(typeof origin === 'string' ? origin : 'uncaughtException', error);
    } catch (reportError) {
      // The log itself is broken: say so where an operator will still see it, and serve on.
      const name = reportError instanceof Error ? reportError.name : typeof reportError;
      process.stderr.write(`secure-proxy: an unexpected error could not be logged (${name})\n`);
    }
  };
  const onRejection = (reason: unknown): void => onException(reason, 'unhandledRejection');
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('uncaughtException', onException);
    target.off('unhandledRejection', onRejection);
  };
}
