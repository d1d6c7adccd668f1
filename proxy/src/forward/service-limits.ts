/**
 * Per-service limits (`services.<name>.limits`): a token bucket for the request rate
 * (`requestsPerSecond` refills it, `burst` is its size) and a cap on requests in flight
 * (`maxConcurrent`). A request over either gets SERVICE_RATE_LIMITED (429) with Retry-After
 * before anything is forwarded or read from Vault. It protects an API quota shared by many
 * workflows from one that runs away.
 *
 * Per proxy replica, in memory: N replicas let through up to N times the limit, and a
 * restart starts from a full bucket (DESIGN: per-replica state must be safe to lose).
 *
 * The state (tokens, requests in flight) lives in a {@link ServiceLimitStates} that outlives
 * the app: a config reload builds new limiters with the new numbers over the same state,
 * so a reload neither refills the bucket nor forgets the requests still in flight on the
 * previous app, whose slots are given back when they finish.
 *
 * A small module rather than a library: the check runs synchronously inside the exchange,
 * per request, and must carry its state across reloads while the numbers change. The
 * maintained in-memory limiters (rate-limiter-flexible, bottleneck, limiter) answer through
 * promises or queues, keep their state inside an instance built with fixed numbers, and none
 * counts requests in flight until a response closes.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ServiceLimitsConfig } from '../config/service-limits';
import { ProxyError } from '../contract/proxy-error';

/** One service's counters; shared by every limiter built for that service name. */
class LimitState {
  /** Tokens in the bucket; NaN until a rate first applies (then the bucket starts full). */
  tokens = Number.NaN;
  refilledAt = 0;
  inFlight = 0;
  /** Given to a response's 'close' (which fires exactly once), so a slot costs no closure. */
  readonly release = (): void => {
    if (this.inFlight > 0) this.inFlight--;
  };
}

/** The process-wide counters of every limited service, by name: shared by the apps a reload replaces. */
export class ServiceLimitStates {
  private readonly states = new Map<string, LimitState>();

  stateOf(service: string): LimitState {
    let state = this.states.get(service);
    if (state === undefined) {
      state = new LimitState();
      this.states.set(service, state);
    }
    return state;
  }

  /** Requests in flight for a service now (tests and diagnostics). */
  inFlight(service: string): number {
    return this.states.get(service)?.inFlight ?? 0;
  }
}

/** A compiled limit for one service. */
export interface ServiceLimiter {
  /**
   * Admits a request or refuses it with SERVICE_RATE_LIMITED. An admitted request holds one
   * in-flight slot (when `maxConcurrent` is set) until `res` closes.
   */
  admit(res: ServerResponse): ProxyError | null;
}

/** Builds the limiter of a service; null when it has no limits. `now` in milliseconds (tests). */
export function compileServiceLimiter(
  service: string,
  limits: ServiceLimitsConfig | undefined,
  states: ServiceLimitStates,
  now: () => number = () => performance.now(),
): ServiceLimiter | null {
  if (limits === undefined) return null;
  const state = states.stateOf(service);
  const rate = limits.requestsPerSecond ?? null;
  const burst = rate === null ? 0 : (limits.burst ?? Math.max(1, Math.ceil(rate)));
  const maxConcurrent = limits.maxConcurrent ?? null;
  const rateText = rate === null ? '' : `${rate} request${rate === 1 ? '' : 's'} per second (burst ${burst})`;

  const rateRefusal = (): ProxyError | null => {
    const at = now();
    const refilled = Number.isNaN(state.tokens) ? burst : state.tokens + ((at - state.refilledAt) / 1000) * rate!;
    state.tokens = Math.min(burst, refilled);
    state.refilledAt = at;
    if (state.tokens >= 1) {
      state.tokens -= 1;
      return null;
    }
    const retryAfter = Math.max(1, Math.ceil((1 - state.tokens) / rate!));
    return new ProxyError('SERVICE_RATE_LIMITED', `Service '${service}' allows ${rateText} on this proxy replica; retry after ${retryAfter} s.`, {
      headers: { 'retry-after': String(retryAfter) },
      detail: 'rate',
    });
  };

  return {
    admit(res) {
      // In flight first: a request refused for concurrency takes no token from the bucket.
      if (maxConcurrent !== null && state.inFlight >= maxConcurrent) {
        return new ProxyError(
          'SERVICE_RATE_LIMITED',
          `Service '${service}' allows at most ${maxConcurrent} request${maxConcurrent === 1 ? '' : 's'} in flight on this proxy replica; retry in a moment.`,
          { headers: { 'retry-after': '1' }, detail: 'concurrency' },
        );
      }
      if (rate !== null) {
        const refused = rateRefusal();
        if (refused !== null) return refused;
      }
      // A response already destroyed (the client left) may have closed already: its slot would never come back.
      if (maxConcurrent !== null && !res.destroyed) {
        state.inFlight++;
        res.once('close', state.release);
      }
      return null;
    },
  };
}
