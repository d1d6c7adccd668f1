/**
 * The listener's request handler, pointing at one proxy app at a time. A config reload
 * builds a new app and switches to it here: requests that arrive after the switch go to the
 * new app, requests already running finish in the app that accepted them. Keep-alive
 * connections stay open across the switch, so a reload drops nothing.
 *
 * In-flight requests are counted per app, so the old app is stopped only once it has
 * answered everything it accepted (or a bounded wait ran out).
 */
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ProxyApp } from '../app/app';

/** What a drain wait ended with. */
export interface DrainResult {
  /** True when every request of the app finished; false when the wait ran out first. */
  drained: boolean;
  /** Requests still running when the wait ended. */
  inFlight: number;
}

/** The handler for the listener, and the switch between apps. */
export interface AppSwitch {
  /** Give this to the listener once; it dispatches to whichever app is current. */
  readonly handler: RequestListener;
  /** The app new requests go to. */
  current(): ProxyApp;
  /** Requests the given app is answering right now. */
  inFlight(app: ProxyApp): number;
  /** Sends every request from now on to `next`; returns the app that was current. */
  switchTo(next: ProxyApp): ProxyApp;
  /** Resolves when `app` has no request in flight, or after `timeoutMs`, whichever is first. */
  drain(app: ProxyApp, timeoutMs: number): Promise<DrainResult>;
}

const COUNTED_BY = Symbol('secure-proxy.counted-by');
type Counted = ServerResponse & { [COUNTED_BY]?: InFlight };

/** Counts one app's running requests and says when it reaches zero. */
class InFlight extends EventEmitter<{ idle: [] }> {
  count = 0;

  enter(res: ServerResponse): void {
    this.count++;
    // 'close' fires once per response, when it was sent or when the connection went away.
    // One shared listener; the response carries its counter, so counting allocates no closure.
    (res as Counted)[COUNTED_BY] = this;
    res.on('close', leave);
  }

  leave(): void {
    this.count--;
    if (this.count === 0) this.emit('idle');
  }
}

function leave(this: Counted): void {
  const counter = this[COUNTED_BY];
  if (counter === undefined) return;
  this[COUNTED_BY] = undefined;
  counter.leave();
}

/** Creates the switch with the app that serves first. */
export function createAppSwitch(initial: ProxyApp): AppSwitch {
  let current = initial;
  const counters = new WeakMap<ProxyApp, InFlight>();
  const counterOf = (app: ProxyApp): InFlight => {
    let counter = counters.get(app);
    if (counter === undefined) {
      counter = new InFlight();
      counters.set(app, counter);
    }
    return counter;
  };

  const handler: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
    // Read once: the request stays with this app even if a switch happens while it runs.
    const app = current;
    counterOf(app).enter(res);
    app.app(req, res);
  };

  return {
    handler,
    current: () => current,
    inFlight: (app) => counterOf(app).count,
    switchTo(next) {
      const previous = current;
      current = next;
      return previous;
    },
    async drain(app, timeoutMs) {
      const counter = counterOf(app);
      if (counter.count === 0) return { drained: true, inFlight: 0 };
      try {
        await once(counter, 'idle', { signal: AbortSignal.timeout(timeoutMs) });
        return { drained: true, inFlight: 0 };
      } catch (err) {
        if ((err as { name?: unknown }).name !== 'AbortError') throw err;
        return { drained: false, inFlight: counter.count };
      }
    },
  };
}
