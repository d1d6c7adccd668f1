/**
 * CPU accounting that does not depend on how busy the machine is: CPU time per request of
 * each process, and how much CPU everything outside the bench used meanwhile (other jobs on
 * a shared VM are the main source of noise in req/s and latency).
 */
import { readFileSync } from 'node:fs';

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

/** The runner's own CPU time in microseconds. */
export function ownCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
