/**
 * Per-service limits, with a clock the test moves: the token bucket's burst, refill and
 * Retry-After, the in-flight cap released when a response closes, and what a reload (a new
 * limiter over the same counters) keeps.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { compileServiceLimiter, ServiceLimitStates } from '../../../proxy/src/forward/service-limits';

/** A response as the limiter sees it: an emitter with `destroyed`. */
function response(): ServerResponse & { close(): void } {
  const res = new EventEmitter() as unknown as ServerResponse & { close(): void; destroyed: boolean };
  res.destroyed = false;
  res.close = () => {
    res.destroyed = true;
    res.emit('close');
  };
  return res;
}

function clock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('service limits: token bucket', () => {
  it('admits a burst, then refuses with SERVICE_RATE_LIMITED and a Retry-After, then refills at the rate', () => {
    const time = clock();
    const limiter = compileServiceLimiter('payments', { requestsPerSecond: 2, burst: 3 }, new ServiceLimitStates(), time.now)!;
    const outcomes = Array.from({ length: 5 }, () => limiter.admit(response()));
    expect(outcomes.filter((o) => o === null)).toHaveLength(3);
    const refused = outcomes[3]!;
    expect(refused.code).toBe('SERVICE_RATE_LIMITED');
    expect(refused.status).toBe(429);
    expect(refused.source).toBe('proxy');
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.detail).toBe('rate');
    expect(refused.message).toBe("Service 'payments' allows 2 requests per second (burst 3) on this proxy replica; retry after 1 s.");

    time.advance(500); // one token back
    expect(limiter.admit(response())).toBeNull();
    expect(limiter.admit(response())).not.toBeNull();
    time.advance(10_000); // refills to the burst, not beyond
    expect(Array.from({ length: 4 }, () => limiter.admit(response())).filter((o) => o === null)).toHaveLength(3);
  });

  it('says how long until the next token for a slow rate, and defaults the burst to the rate rounded up', () => {
    const time = clock();
    const limiter = compileServiceLimiter('slow', { requestsPerSecond: 0.1 }, new ServiceLimitStates(), time.now)!;
    expect(limiter.admit(response())).toBeNull();
    const refused = limiter.admit(response())!;
    expect(refused.headers['retry-after']).toBe('10');
    time.advance(4_000);
    expect(limiter.admit(response())!.headers['retry-after']).toBe('6');
  });

  it('has no limiter for a service without limits', () => {
    expect(compileServiceLimiter('free', undefined, new ServiceLimitStates())).toBeNull();
  });
});

describe('service limits: requests in flight', () => {
  it('refuses beyond maxConcurrent until a response closes, and takes no token for a refused request', () => {
    const states = new ServiceLimitStates();
    const time = clock();
    const limiter = compileServiceLimiter('api', { maxConcurrent: 2, requestsPerSecond: 100, burst: 3 }, states, time.now)!;
    const first = response();
    const second = response();
    expect(limiter.admit(first)).toBeNull();
    expect(limiter.admit(second)).toBeNull();
    for (let i = 0; i < 5; i++) {
      const refused = limiter.admit(response())!;
      expect(refused.code).toBe('SERVICE_RATE_LIMITED');
      expect(refused.detail).toBe('concurrency');
      expect(refused.headers['retry-after']).toBe('1');
    }
    expect(states.inFlight('api')).toBe(2);
    first.close();
    expect(states.inFlight('api')).toBe(1);
    // The five refusals took no token: the third of the burst is still there.
    expect(limiter.admit(response())).toBeNull();
  });

  it('gives a slot back exactly once per response, and takes none for a response already destroyed', () => {
    const states = new ServiceLimitStates();
    const limiter = compileServiceLimiter('api', { maxConcurrent: 1 }, states)!;
    const res = response();
    expect(limiter.admit(res)).toBeNull();
    res.close();
    res.emit('close');
    expect(states.inFlight('api')).toBe(0);
    const gone = response();
    gone.destroyed = true;
    expect(limiter.admit(gone)).toBeNull();
    expect(states.inFlight('api')).toBe(0);
  });
});

describe('service limits across a reload (a new limiter over the same counters)', () => {
  it('keeps the requests in flight of the old configuration and their slots come back to the new one', () => {
    const states = new ServiceLimitStates();
    const before = compileServiceLimiter('api', { maxConcurrent: 2 }, states)!;
    const running = [response(), response()];
    for (const res of running) expect(before.admit(res)).toBeNull();

    const after = compileServiceLimiter('api', { maxConcurrent: 3 }, states)!;
    expect(after.admit(response())).toBeNull(); // 3 in flight now
    expect(after.admit(response())?.detail).toBe('concurrency');
    running[0].close();
    expect(after.admit(response())).toBeNull();
  });

  it('lowering maxConcurrent below what is in flight refuses new requests until enough finished', () => {
    const states = new ServiceLimitStates();
    const before = compileServiceLimiter('api', { maxConcurrent: 3 }, states)!;
    const running = [response(), response(), response()];
    for (const res of running) before.admit(res);
    const after = compileServiceLimiter('api', { maxConcurrent: 1 }, states)!;
    expect(after.admit(response())?.detail).toBe('concurrency');
    running[0].close();
    running[1].close();
    expect(after.admit(response())?.detail).toBe('concurrency');
    running[2].close();
    expect(after.admit(response())).toBeNull();
  });

  it('does not refill the bucket, and caps it at a smaller new burst', () => {
    const states = new ServiceLimitStates();
    const time = clock();
    const before = compileServiceLimiter('api', { requestsPerSecond: 1, burst: 5 }, states, time.now)!;
    for (let i = 0; i < 5; i++) expect(before.admit(response())).toBeNull();
    const reloaded = compileServiceLimiter('api', { requestsPerSecond: 1, burst: 5 }, states, time.now)!;
    expect(reloaded.admit(response())?.detail).toBe('rate');

    time.advance(60_000);
    const smaller = compileServiceLimiter('api', { requestsPerSecond: 1, burst: 2 }, states, time.now)!;
    expect(Array.from({ length: 4 }, () => smaller.admit(response())).filter((o) => o === null)).toHaveLength(2);
  });

  it('keeps services apart', () => {
    const states = new ServiceLimitStates();
    const a = compileServiceLimiter('a', { maxConcurrent: 1 }, states)!;
    const b = compileServiceLimiter('b', { maxConcurrent: 1 }, states)!;
    expect(a.admit(response())).toBeNull();
    expect(b.admit(response())).toBeNull();
    expect(a.admit(response())).not.toBeNull();
  });
});
