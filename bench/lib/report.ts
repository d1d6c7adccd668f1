/**
 * Turns the measured runs into the printed report: medians per case, the results table,
 * ratios with their per-round spread, and the memory table. Pure functions over numbers.
 */
import type { MemorySample } from './protocol.ts';
import type { Measurement } from './measure.ts';
import { largeBodyVerdicts, LARGE_PROBE_BYTES, type LargeBodyResult } from './streaming.ts';

/** A case's runs, one per round, in round order. */
export interface CaseRuns {
  id: string;
  label: string;
  runs: Measurement[];
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function medianOf(runs: readonly Measurement[], pick: (r: Measurement) => number | null): number {
  const values = runs.map(pick).filter((v): v is number => v !== null);
  return values.length === 0 ? Number.NaN : median(values);
}

/** The results table: medians over rounds, failures summed. */
export function resultsTable(cases: readonly CaseRuns[]): string {
  const rows = cases.map((c) => [
    c.label,
    fixed(
      medianOf(c.runs, (r) => r.requestsPerSecond),
      0,
    ),
    fixed(
      medianOf(c.runs, (r) => r.p50Ms),
      1,
    ),
    fixed(
      medianOf(c.runs, (r) => r.p99Ms),
      1,
    ),
    fixed(
      medianOf(c.runs, (r) => r.serverCpuUs),
      0,
    ),
    fixed(
      medianOf(c.runs, (r) => r.serverV8HelperUs),
      0,
    ),
    fixed(
      medianOf(c.runs, (r) => r.serverPageFaults),
      1,
    ),
    fixed(
      medianOf(c.runs, (r) => r.otherLoadPct),
      0,
    ),
    String(c.runs.reduce((n, r) => n + r.errors, 0)),
    String(c.runs.reduce((n, r) => n + r.non2xx, 0)),
  ]);
  return table(['case', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req', 'V8 helpers', 'faults/req', 'other load %', 'errors', 'non-2xx'], rows);
}

/** One "a relative to b" line. */
export interface RatioSpec {
  label: string;
  numerator: CaseRuns;
  denominator: CaseRuns;
}

function perRound(numerator: readonly Measurement[], denominator: readonly Measurement[], pick: (r: Measurement) => number): number[] {
  return numerator.map((run, i) => pick(run) / pick(denominator[i]));
}

/**
 * The median over rounds of the ratio within each round. The two cases of a round ran one
 * right after the other, so each round's ratio compares them on the same machine state; the
 * host's speed drifts between rounds (the same server's CPU per request moved by a third
 * within minutes), which a ratio of separate medians would mix in.
 */
export function pairedRatio(numerator: readonly Measurement[], denominator: readonly Measurement[], pick: (r: Measurement) => number): number {
  return median(perRound(numerator, denominator, pick));
}

function paired(spec: RatioSpec, pick: (r: Measurement) => number): { median: number; low: number; high: number } {
  const ratios = perRound(spec.numerator.runs, spec.denominator.runs, pick);
  return { median: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios) };
}

/** Paired ratios (see pairedRatio) for req/s, p99 and CPU per request, each with its range over the rounds. */
export function ratioTable(specs: readonly RatioSpec[]): string {
  const cell = (r: { median: number; low: number; high: number }): string[] => [fixed(r.median, 2), `${fixed(r.low, 2)}-${fixed(r.high, 2)}`];
  const rows = specs.map((spec) => [
    spec.label,
    ...cell(paired(spec, (r) => r.requestsPerSecond)),
    ...cell(paired(spec, (r) => r.p99Ms)),
    ...cell(paired(spec, (r) => r.serverCpuUs)),
  ]);
  return table(['ratio', 'req/s', '(rounds)', 'p99', '(rounds)', 'CPU/req', '(rounds)'], rows);
}

/** Memory of each server process: at start (before any load), at the end, and the peak. */
export function memoryTable(rows: ReadonlyArray<{ name: string; start: MemorySample; end: MemorySample }>): string {
  return table(
    ['process (MiB)', 'rss start', 'rss end', 'peak rss', 'heap start', 'heap end', 'external end'],
    rows.map(({ name, start, end }) => [
      name,
      fixed(start.rss, 1),
      fixed(end.rss, 1),
      fixed(end.maxRss, 1),
      fixed(start.heapUsed, 1),
      fixed(end.heapUsed, 1),
      fixed(end.external, 1),
    ]),
  );
}

/** Memory growth of each server while one large body passed through it, with the verdict on each target. */
export function largeBodyTable(rows: ReadonlyArray<{ server: string; scrubs: boolean; result: LargeBodyResult }>): string {
  return table(
    ['server', 'transfer', 'MiB/s', 'live growth', 'target', 'rss growth', 'target', 'samples'],
    rows.map(({ server, scrubs, result }) => {
      const { watch } = result;
      const verdict = largeBodyVerdicts(result);
      const what = result.direction === 'upload' ? 'upload' : scrubs ? 'download, scrubbed' : 'download';
      return [
        server,
        what,
        fixed(LARGE_PROBE_BYTES / (1024 * 1024) / result.seconds, 0),
        fixed(watch.peakLive - watch.startLive, 1),
        verdict.live,
        fixed(watch.peakRss - watch.startRss, 1),
        verdict.rss,
        String(watch.samples),
      ];
    }),
  );
}
