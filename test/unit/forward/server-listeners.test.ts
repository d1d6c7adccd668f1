import { EventEmitter } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { ServerListeners } from '../../../proxy/src/forward/server-listeners';

/** What the middleware does: adds its 'close' listener after an await, in its own continuation. */
async function middlewareLike(server: EventEmitter, listener: () => void): Promise<void> {
  await tick();
  server.on('close', listener);
}

describe('taking back the listeners a forwarder left on the server', () => {
  it("removes the forwarder's listener on release and leaves everyone else's", async () => {
    const server = new EventEmitter();
    const other = (): void => undefined;
    server.on('close', other);
    const mine = new ServerListeners();
    const theirs = new ServerListeners();
    const myListener = (): void => undefined;
    const theirListener = (): void => undefined;
    await Promise.all([mine.run(server, () => middlewareLike(server, myListener)), theirs.run(server, () => middlewareLike(server, theirListener))]);
    expect(server.listeners('close')).toEqual([other, myListener, theirListener]);

    mine.release();
    expect(server.listeners('close')).toEqual([other, theirListener]);
    theirs.release();
    expect(server.listeners('close')).toEqual([other]);
  });

  it('removes a listener added by a request still in flight when the forwarder was released', async () => {
    const server = new EventEmitter();
    const forwarder = new ServerListeners();
    const late = (): void => undefined;
    const inFlight = forwarder.run(server, () => middlewareLike(server, late));
    forwarder.release();
    await inFlight;
    await tick();
    expect(server.listenerCount('close')).toBe(0);
  });

  it('records each server once and ignores listeners added outside a forwarder', async () => {
    const server = new EventEmitter();
    const forwarder = new ServerListeners();
    await forwarder.run(server, () => middlewareLike(server, () => undefined));
    const outside = (): void => undefined;
    server.on('close', outside);
    // A later request on the same server runs outside the context: what it adds is not the forwarder's.
    const later = (): void => undefined;
    await forwarder.run(server, () => middlewareLike(server, later));
    forwarder.release();
    expect(server.listeners('close')).toEqual([outside, later]);
    expect(server.listenerCount('newListener')).toBe(1);
  });

  it('runs a request without a server as it is', () => {
    expect(new ServerListeners().run(undefined, () => 42)).toBe(42);
  });
});
