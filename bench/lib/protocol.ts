/**
 * The IPC messages between the bench runner and its server processes, and the memory
 * figures a server reports about itself.
 */

/** Runner → server. */
export type Command = { type: 'stats' } | { type: 'memory' } | { type: 'log-level'; level: string } | { type: 'stop' };

/** Server → runner. */
export type Report =
  | { type: 'ready'; url: string }
  | { type: 'stats'; stats: ProcessStats }
  | { type: 'memory'; memory: MemorySample }
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

/** Counters read between runs (no GC, so nothing lands in the next measured window). */
export interface ProcessStats {
  /** User + system CPU time since the process started, in microseconds. */
  cpuMicros: number;
  /** Lines the server's logger wrote so far (proxy only; 0 elsewhere). */
  logLines: number;
}

/** Environment variable that carries a server's JSON settings. */
export const SETTINGS_ENV = 'BENCH_SERVER_SETTINGS';
