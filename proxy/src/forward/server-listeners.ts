/**
 * Takes back the listener http-proxy-middleware leaves on the listening server.
 *
 * Each middleware instance adds one 'close' listener to the server of the first request it
 * proxies (to close its proxy when the server closes) and never removes it. The proxy makes new
 * forwarders on every configuration reload, so without this every reload would leave its
 * forwarders (their agents, their closures) reachable from the server for the life of the
 * process, and Node would warn of a leak after ten.
 *
 * The middleware registers the listener in its own async continuation, so the forwarder whose
 * request is running is the one in whose async context the registration happens: a forwarder
 * runs its first request on a server inside that context, and a 'newListener' hook on the
 * server (one per server) hands each 'close' listener added in a forwarder's context to it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => void;

const registering = new AsyncLocalStorage<ServerListeners>();
const hookedServers = new WeakSet<EventEmitter>();

/** The 'close' listeners one forwarder's middleware added to servers, removed by {@link ServerListeners.release}. */
export class ServerListeners {
  private readonly added: Array<{ server: EventEmitter; listener: Listener }> = [];
  /** Servers on which this forwarder's listener has been seen: later requests run without the async context. */
  private readonly recorded = new WeakSet<EventEmitter>();
  private released = false;

  /** Runs `send` (which starts the middleware) so that a 'close' listener it adds to `server` is recorded. */
  run<T>(server: EventEmitter | undefined, send: () => T): T {
    if (server === undefined || this.recorded.has(server)) return send();
    hook(server);
    return registering.run(this, send);
  }

  /** Removes every recorded listener; one added later (by a request still in flight) is removed as it is added. */
  release(): void {
    this.released = true;
    for (const { server, listener } of this.added.splice(0)) server.removeListener('close', listener);
  }

  /** Called by the server's 'newListener' hook, before the listener is added. */
  record(server: EventEmitter, listener: Listener): void {
    this.recorded.add(server);
    if (this.released) {
      // 'newListener' fires before the listener is in place: remove it once it is.
      queueMicrotask(() => server.removeListener('close', listener));
      return;
    }
    this.added.push({ server, listener });
  }
}

function hook(server: EventEmitter): void {
  if (hookedServers.has(server)) return;
  hookedServers.add(server);
  server.on('newListener', (event: string | symbol, listener: Listener) => {
    if (event === 'close') registering.getStore()?.record(server, listener);
  });
}
