/**
 * The proxy's performance targets, each measured in the same run as its yardstick and printed
 * as PASS or MISS (never failed on: a shared machine moves ratios, see README.md).
 */
import { median, pairedRatio, table, type CaseRuns } from './report.ts';
import type { Measurement } from './measure.ts';

export type Verdict = 'PASS' | 'MISS' | 'NOT RUN';

export interface TargetRow {
  target: string;
  goal: string;
  measured: string;
  verdict: Verdict;
}

function medianOf(c: CaseRuns, pick: (m: Measurement) => number): number {
  return median(c.runs.map(pick));
}

const perSecond = (m: Measurement): number => m.requestsPerSecond;
const cpu = (m: Measurement): number => m.serverCpuUs;

/** At least `goal` times the baseline's req/s. */
export function throughputTarget(target: string, proxy: CaseRuns, baseline: CaseRuns, goal: number): TargetRow {
  const ratio = pairedRatio(proxy.runs, baseline.runs, perSecond);
  return { target, goal: `>= ${goal.toFixed(2)}x req/s`, measured: `${ratio.toFixed(2)}x`, verdict: ratio >= goal ? 'PASS' : 'MISS' };
}

/** At most `goal` times the baseline's CPU time per request. */
export function cpuTarget(target: string, proxy: CaseRuns, baseline: CaseRuns, goal: number): TargetRow {
  const ratio = pairedRatio(proxy.runs, baseline.runs, cpu);
  const us = `${medianOf(proxy, cpu).toFixed(0)} us vs ${medianOf(baseline, cpu).toFixed(0)} us`;
  return { target, goal: `<= ${goal.toFixed(2)}x CPU/req`, measured: `${ratio.toFixed(2)}x (${us})`, verdict: ratio <= goal ? 'PASS' : 'MISS' };
}

/** Added latency at a fixed rate: the proxy's percentile minus the direct call's, medians over rounds. */
export function addedLatencyTarget(percentile: 'p50' | 'p99', proxy: CaseRuns, direct: CaseRuns, goalMs: number, rate: number): TargetRow {
  const pick = (m: Measurement): number => (percentile === 'p50' ? m.p50Ms : m.p99Ms);
  const added = medianOf(proxy, pick) - medianOf(direct, pick);
  return {
    target: `added latency ${percentile} at ${rate} req/s (open loop)`,
    goal: `<= ${goalMs} ms over direct`,
    measured: `${added.toFixed(2)} ms (${medianOf(proxy, pick).toFixed(2)} vs ${medianOf(direct, pick).toFixed(2)} ms)`,
    verdict: added <= goalMs ? 'PASS' : 'MISS',
  };
}

/** Lays the targets out as a table. */
export function targetsTable(rows: readonly TargetRow[]): string {
  return table(
    ['target', 'goal', 'measured', 'verdict'],
    rows.map((r) => [r.target, r.goal, r.measured, r.verdict]),
  );
}
