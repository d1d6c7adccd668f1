/**
 * The IPC messages between the bench runner and its server processes, and the memory
 * figures a server reports about itself.
 */

/** Runner → server. */
export type Command =
  | { type: 'stats' }
  | { type: 'memory' }
  | { type: 'memory-watch-start' }
  | { type: 'memory-watch-stop' }
  | { type: 'log-level'; level: string }
  | { type: 'stop' };

/** Server → runner. */
export type Report =
  | { type: 'ready'; url: string }
  | { type: 'stats'; stats: ProcessStats }
  | { type: 'memory'; memory: MemorySample }
  | { type: 'memory-watch'; watch: MemoryWatch }
  | { type: 'ack' }
  | { type: 'failed'; message: string };

/** One process's memory, in MiB. Heap figures are taken right after a full GC. */
export interface MemorySample {
  rss: number;
  /** Peak resident set size since the process started. */
  maxRss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/**
 * Memory over one stretch of work (a large body passing through), in MiB: sampled every
 * MEMORY_WATCH_INTERVAL_MS, each sample right after a full GC, so "live" is what the process
 * holds (JS heap plus Buffer memory), not garbage waiting for a collection.
 */
export interface MemoryWatch {
  startRss: number;
  startLive: number;
  peakRss: number;
  peakLive: number;
  samples: number;
}

/** How often a watched process samples its memory. */
export const MEMORY_WATCH_INTERVAL_MS = 50;

/** Counters read between runs (no GC, so nothing lands in the next measured window). */
export interface ProcessStats {
  /** User + system CPU time since the process started, in microseconds. */
  cpuMicros: number;
  /** The part of cpuMicros spent by V8's helper threads (see cpu.ts); null off Linux. */
  v8HelperMicros: number | null;
  /** Minor page faults since the process started (memory the kernel had to map in). */
  minorPageFaults: number;
  /** Lines the server's logger wrote so far (proxy only; 0 elsewhere). */
  logLines: number;
}

/** Environment variable that carries a server's JSON settings. */
export const SETTINGS_ENV = 'BENCH_SERVER_SETTINGS';
