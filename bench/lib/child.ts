/**
 * The server side of the bench's process protocol: reads the settings, starts a server,
 * answers the runner's commands, and makes sure the process always ends by itself
 * (runner gone, stop command, or a hard lifetime cap).
 */
import { v8HelperMicros } from './cpu.ts';
import { MEMORY_WATCH_INTERVAL_MS, SETTINGS_ENV, type Command, type MemorySample, type MemoryWatch, type ProcessStats, type Report } from './protocol.ts';

/** What a bench server hands back once it listens. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
  setLogLevel?(level: string): void;
  logLines?(): number;
}

const MIB = 1024 * 1024;
/** Exit no matter what after this long: the runner's own deadline is shorter. */
const DEFAULT_LIFETIME_MS = 15 * 60_000;

function send(report: Report): void {
  process.send?.(report);
}

function stats(server: RunningServer): ProcessStats {
  const cpu = process.cpuUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    v8HelperMicros: v8HelperMicros(),
    minorPageFaults: process.resourceUsage().minorPageFault,
    logLines: server.logLines?.() ?? 0,
  };
}

function memory(): MemorySample {
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  return {
    rss: usage.rss / MIB,
    maxRss: (process.resourceUsage().maxRSS * 1024) / MIB,
    heapUsed: usage.heapUsed / MIB,
    external: usage.external / MIB,
    arrayBuffers: usage.arrayBuffers / MIB,
  };
}

/** Samples memory (each after a full GC) until stopped, keeping the start and the peaks. */
class MemoryWatcher {
  private readonly watch: MemoryWatch;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    const start = memory();
    this.watch = { startRss: start.rss, startLive: live(start), peakRss: start.rss, peakLive: live(start), samples: 1 };
    this.timer = setInterval(() => this.sample(), MEMORY_WATCH_INTERVAL_MS);
  }

  private sample(): void {
    const m = memory();
    this.watch.peakRss = Math.max(this.watch.peakRss, m.rss);
    this.watch.peakLive = Math.max(this.watch.peakLive, live(m));
    this.watch.samples += 1;
  }

  stop(): MemoryWatch {
    clearInterval(this.timer);
    this.sample();
    return this.watch;
  }
}

/** JS heap plus Buffer memory: what a body held in the process would show up in. */
function live(m: MemorySample): number {
  return m.heapUsed + m.arrayBuffers;
}

/** Settings passed by the runner, as JSON in the environment. */
export function settings<T>(): T {
  const raw = process.env[SETTINGS_ENV];
  if (raw === undefined) throw new Error(`${SETTINGS_ENV} is not set: bench servers are started by bench/run.ts`);
  return JSON.parse(raw) as T;
}

/** Starts the server and serves the runner's commands until told to stop. */
export async function runChild(start: () => Promise<RunningServer>): Promise<void> {
  const lifetime = Number(process.env.BENCH_LIFETIME_MS ?? DEFAULT_LIFETIME_MS);
  setTimeout(() => process.exit(3), lifetime).unref();
  // The runner died or closed the channel: nothing will ever stop us otherwise.
  process.once('disconnect', () => process.exit(0));

  let server: RunningServer;
  try {
    server = await start();
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  }
  let watcher: MemoryWatcher | null = null;
  process.on('message', (command: Command) => {
    switch (command.type) {
      case 'stats':
        send({ type: 'stats', stats: stats(server) });
        break;
      case 'memory':
        send({ type: 'memory', memory: memory() });
        break;
      case 'memory-watch-start':
        watcher = new MemoryWatcher();
        send({ type: 'ack' });
        break;
      case 'memory-watch-stop':
        if (watcher === null) send({ type: 'failed', message: 'memory-watch-stop without a watch' });
        else send({ type: 'memory-watch', watch: watcher.stop() });
        watcher = null;
        break;
      case 'log-level':
        server.setLogLevel?.(command.level);
        send({ type: 'ack' });
        break;
      case 'stop':
        void server.close().finally(() => process.exit(0));
        break;
    }
  });
  send({ type: 'ready', url: server.url });
}
