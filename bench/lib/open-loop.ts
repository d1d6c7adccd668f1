/**
 * Open-loop load at a fixed rate, for the added-latency target: request n leaves at
 * start + n / rate whether or not earlier answers came back (a closed loop would send less
 * while the server is slow and hide exactly the latency being measured). Latency is timed per
 * request with microsecond resolution, from the moment it was handed to the socket pool to the
 * last byte of its answer; autocannon's histogram counts whole milliseconds, too coarse for a
 * 1 ms target.
 */
import http from 'node:http';
import type { LoadSpec, RunResult } from './load.ts';

const REQUEST_TIMEOUT_MS = 10_000;
/** How often the scheduler wakes up to send what is due (timers are not exact). */
const TICK_MS = 1;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sends `rate` requests per second of `spec` for `seconds`, then waits for the last answer. */
export async function driveAtRate(spec: LoadSpec, rate: number, seconds: number): Promise<RunResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  const badStatuses: Record<string, number> = {};
  let errors = 0;
  let non2xx = 0;
  let bytes = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let settled = 0;
    const settle = (): void => {
      settled += 1;
      if (settled === total) resolve();
    };
    const send = (): void => {
      const at = performance.now();
      const req = http.request(spec.url, { method: spec.method, headers: spec.headers, agent }, (res) => {
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) latencies.push(performance.now() - at);
          else {
            non2xx += 1;
            badStatuses[status] = (badStatuses[status] ?? 0) + 1;
          }
          settle();
        });
        res.on('error', () => {
          errors += 1;
          settle();
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors += 1;
        settle();
      });
      req.end(spec.body);
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      while (sent < due) {
        sent += 1;
        send();
      }
      if (sent < total) setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: (total - errors) / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    bytesPerSecond: bytes / elapsed,
    requests: total - errors,
    errors,
    non2xx,
    badStatuses,
  };
}
