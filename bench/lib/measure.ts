/**
 * One measured run: autocannon against the server under test, bracketed by snapshots of
 * every bench process's CPU time, the proxy's log line count, the Vault emulator's request
 * count and the machine's busy time.
 */
import type { ServerProcess } from './children.ts';
import { machineBusyMicros, ownCpuMicros } from './cpu.ts';
import { drive, type LoadSpec, type RunResult } from './load.ts';
import type { ProcessStats } from './protocol.ts';

/** A run's load figures plus what it cost. */
export interface Measurement extends RunResult {
  /** CPU time of the server under test per completed request, in microseconds. */
  serverCpuUs: number;
  /** The part of serverCpuUs spent by V8's helper threads (mostly garbage collection); null off Linux. */
  serverV8HelperUs: number | null;
  /** Minor page faults of the server under test per completed request (see malloc.ts). */
  serverPageFaults: number;
  /** CPU time used outside the bench's processes during the run, in % of one CPU; null off Linux. */
  otherLoadPct: number | null;
  /** Lines the proxy's logger wrote during the run (0 for other servers). */
  logLines: number;
  /** Requests the Vault emulator received during the run. */
  vaultCalls: number;
}

export interface MeasureContext {
  /** Every bench server; all are sampled so the rest of the machine's load can be told apart. */
  servers: readonly ServerProcess[];
  /** Requests the Vault emulator has received so far. */
  vaultRequests(): number;
}

interface Snapshot {
  at: number;
  stats: ProcessStats[];
  ownCpu: number;
  machine: number | null;
  vault: number;
}

async function snapshot(context: MeasureContext): Promise<Snapshot> {
  const stats = await Promise.all(context.servers.map((s) => s.stats()));
  return { at: performance.now(), stats, ownCpu: ownCpuMicros(), machine: machineBusyMicros(), vault: context.vaultRequests() };
}

function benchCpu(s: Snapshot): number {
  return s.stats.reduce((sum, st) => sum + st.cpuMicros, s.ownCpu);
}

/** Drives `spec` for `seconds` against `server` and attributes the CPU it cost. */
export async function measure(context: MeasureContext, server: ServerProcess, spec: LoadSpec, seconds: number): Promise<Measurement> {
  const index = context.servers.indexOf(server);
  const before = await snapshot(context);
  const result = await drive(spec, seconds);
  const after = await snapshot(context);
  const elapsedMicros = (after.at - before.at) * 1000;
  const requests = Math.max(1, result.requests);
  const helpersBefore = before.stats[index].v8HelperMicros;
  const helpersAfter = after.stats[index].v8HelperMicros;
  const otherMicros = before.machine === null || after.machine === null ? null : after.machine - before.machine - (benchCpu(after) - benchCpu(before));
  return {
    ...result,
    serverCpuUs: (after.stats[index].cpuMicros - before.stats[index].cpuMicros) / requests,
    serverV8HelperUs: helpersBefore === null || helpersAfter === null ? null : (helpersAfter - helpersBefore) / requests,
    serverPageFaults: (after.stats[index].minorPageFaults - before.stats[index].minorPageFaults) / requests,
    otherLoadPct: otherMicros === null ? null : Math.max(0, (otherMicros / elapsedMicros) * 100),
    logLines: after.stats[index].logLines - before.stats[index].logLines,
    vaultCalls: after.vault - before.vault,
  };
}
