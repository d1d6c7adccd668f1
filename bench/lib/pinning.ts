/**
 * CPU placement of the bench's processes. On a machine with two CPUs the scheduler puts the
 * server under test next to the load generator or next to the upstream, and moves it; the CPU
 * per request of one build measured in two processes differed by up to a tenth that way,
 * more than most of what the bench is meant to tell apart. So the servers under test (the
 * baseline and the proxy, one measured at a time) get the first CPU to themselves, and the
 * load generator, the Vault emulator and the upstream share the others.
 *
 * `taskset` (util-linux) sets the affinity of every thread of a running process. Without it,
 * or with a single CPU, nothing is pinned and the report says so.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** `anywhere` undoes a pin (the n8n case: n8n, started by the runner, would inherit the load side's CPUs). */
export type Placement = 'server under test' | 'load side' | 'anywhere';

/** Pins `pid` (every thread) to its side's CPUs; false when pinning is not possible here. */
export function pin(pid: number, placement: Placement): boolean {
  const cpus = availableParallelism();
  if (cpus < 2) return false;
  const list = placement === 'server under test' ? '0' : placement === 'load side' ? `1-${cpus - 1}` : `0-${cpus - 1}`;
  try {
    execFileSync('taskset', ['-a', '-pc', list, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
