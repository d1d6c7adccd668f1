/**
 * The load generator: autocannon in the runner's process, reduced to the figures the
 * bench reports. autocannon ships no types; the shapes below are the parts we read.
 */
import { createRequire } from 'node:module';
import { driveAtRate } from './open-loop.ts';

interface AutocannonOptions {
  url: string;
  connections: number;
  /** Seconds; fractions allowed. */
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Per-request timeout in seconds. */
  timeout?: number;
  /** Sampling interval in ms; autocannon only notices the end of `duration` at a sample tick. */
  sampleInt?: number;
}

interface AutocannonResult {
  /** Seconds actually run. */
  duration: number;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number };
  requests: { total: number };
  throughput: { total: number };
}

const autocannon = createRequire(import.meta.url)('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

/** One request shape driven against one server. */
export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Buffer;
  connections: number;
  /**
   * A fixed offered load in requests per second, sent open-loop (on schedule, whether or not
   * earlier answers came back; `connections` is then the socket pool's size): see lib/open-loop.ts.
   */
  rate?: number;
}

/** What one measured run produced. */
export interface RunResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Bytes of 2xx responses per second received by the load generator. */
  bytesPerSecond: number;
  requests: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Status codes other than 2xx, with counts, for the failure message. */
  badStatuses: Record<string, number>;
}

const REQUEST_TIMEOUT_S = 10;
const SAMPLE_INTERVAL_MS = 100;

/** Drives `spec` for `seconds` and summarizes the run. */
export async function drive(spec: LoadSpec, seconds: number): Promise<RunResult> {
  if (spec.rate !== undefined) return driveAtRate(spec, spec.rate, seconds);
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: seconds,
    timeout: REQUEST_TIMEOUT_S,
    // The default 1 s tick would round every run up to whole seconds (a 0.5 s run lasts 1 s).
    sampleInt: SAMPLE_INTERVAL_MS,
  });
  const badStatuses: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    if (!status.startsWith('2')) badStatuses[status] = count;
  }
  const duration = result.duration > 0 ? result.duration : seconds;
  return {
    requestsPerSecond: result.requests.total / duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    bytesPerSecond: result.throughput.total / duration,
    requests: result.requests.total,
    errors: result.errors,
    non2xx: result.non2xx,
    badStatuses,
  };
}
