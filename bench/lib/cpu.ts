/**
 * CPU accounting that does not depend on how busy the machine is: CPU time per request of
 * each process, and how much CPU everything outside the bench used meanwhile (other jobs on
 * a shared VM are the main source of noise in req/s and latency).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every mainstream build. */
const MICROS_PER_TICK = 10_000;

/** CPU time the whole machine spent busy (not idle, not waiting for I/O), or null off Linux. */
export function machineBusyMicros(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null; // no procfs (macOS, Windows): the "other load" figure is simply left out
  }
  const fields = text.slice(0, text.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) * MICROS_PER_TICK;
}

/**
 * CPU time of this process's V8 helper threads ("V8Worker": concurrent and parallel garbage
 * collection, background compiles), or null off Linux. process.cpuUsage() counts them with
 * the main thread; on large bodies they are much of a server's cost, since Node's read
 * buffers bring on a full collection every few dozen megabytes, and its marking scales with the
 * live heap.
 */
export function v8HelperMicros(): number | null {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  let ticks = 0;
  for (const task of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    // "pid (comm) state ...": the name is in parentheses, utime and stime are the 12th and 13th fields after it.
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'V8Worker') continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * MICROS_PER_TICK;
}

/** The runner's own CPU time in microseconds. */
export function ownCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
