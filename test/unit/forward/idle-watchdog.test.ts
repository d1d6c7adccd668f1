/**
 * The idle clock behind both body timeouts, on real timers. Nothing here measures speed: each
 * test waits for an event (a firing, or the clock consulting `isPaused`), and "did not fire"
 * is proven by a second clock of the same length, started later, firing first.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { idleWatchdog, type IdleWatchdog } from '../../../proxy/src/forward/idle-watchdog';

const MS = 20;

/** A clock whose firings are counted and awaitable. */
function watched(isPaused: () => boolean = () => false): { dog: IdleWatchdog; fired: () => number; idle: Promise<void> } {
  let fired = 0;
  let resolveIdle!: () => void;
  const idle = new Promise<void>((resolve) => (resolveIdle = resolve));
  const dog = idleWatchdog(
    MS,
    isPaused,
    () => {
      fired += 1;
      resolveIdle();
    },
    { unref: false },
  );
  return { dog, fired: () => fired, idle };
}

/** Resolves once a clock of the same length, started now, has fired: every earlier deadline has passed. */
async function oneMorePeriod(): Promise<void> {
  await watched().idle;
}

describe('idleWatchdog', () => {
  it('fires once after ms of silence, asking isPaused first', async () => {
    let asked = 0;
    const clock = watched(() => {
      asked += 1;
      return false;
    });
    await clock.idle;
    expect({ fired: clock.fired(), asked }).toEqual({ fired: 1, asked: 1 });
    // A fired clock is spent: a late read does not arm it again.
    clock.dog.touch();
    await oneMorePeriod();
    await oneMorePeriod();
    expect(clock.fired()).toBe(1);
    clock.dog.stop();
  });

  it('re-arms while the stream is paused, and fires once it is not', async () => {
    let paused = true;
    let asked = 0;
    let thirdAsk!: () => void;
    const askedThrice = new Promise<void>((resolve) => (thirdAsk = resolve));
    const clock = watched(() => {
      asked += 1;
      if (asked === 3) thirdAsk();
      return paused;
    });
    await askedThrice;
    // Three full periods of silence, all spent paused: none counted.
    expect(clock.fired()).toBe(0);
    paused = false;
    await clock.idle;
    expect({ fired: clock.fired(), asked }).toEqual({ fired: 1, asked: 4 });
    clock.dog.stop();
  });

  it('re-arms when touched, and fires after the reads stop', async () => {
    let asked = 0;
    const clock = watched(() => {
      asked += 1;
      return false;
    });
    // A read on every loop turn, for several periods: each deadline finds a newer read.
    let reading = true;
    const read = (): void => {
      if (!reading) return;
      clock.dog.touch();
      setImmediate(read);
    };
    setImmediate(read);
    for (let period = 0; period < 4; period++) await oneMorePeriod();
    reading = false;
    expect({ fired: clock.fired(), asked }).toEqual({ fired: 0, asked: 0 });
    await clock.idle;
    expect(clock.fired()).toBe(1);
    clock.dog.stop();
  });

  it('does not fire when the loop stalled past the deadline while bytes were waiting', async () => {
    // A real socket pair: the bytes are read in the poll phase, after the overdue timer ran.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    let asked = 0;
    const clock = watched(() => {
      asked += 1;
      return false;
    });
    try {
      const arrived = new Promise<void>((resolve) => socket.once('data', resolve));
      socket.on('data', () => clock.dog.touch());
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          client.write('late bytes');
          // A stalled event loop (GC, a busy CPU): the deadline passes with the bytes unread.
          const until = Date.now() + MS * 3;
          while (Date.now() < until);
          resolve();
        }),
      );
      await arrived;
      await oneMorePeriod();
      expect({ fired: clock.fired(), asked }).toEqual({ fired: 0, asked: 0 });
    } finally {
      clock.dog.stop();
      client.destroy();
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never fires once stopped', async () => {
    const clock = watched();
    clock.dog.stop();
    clock.dog.touch();
    await oneMorePeriod();
    await oneMorePeriod();
    expect(clock.fired()).toBe(0);
  });
});
