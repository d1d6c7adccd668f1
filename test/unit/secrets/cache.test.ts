import { ProxyError } from '../../../proxy/src/contract/proxy-error';
import { ProxyEvents, type CacheEvent } from '../../../proxy/src/observability/events';
import { SecretCache } from '../../../proxy/src/secrets/cache';
import { LoginRefusedError } from '../../../proxy/src/secrets/login-refused';
import type { SecretData, SecretReader } from '../../../proxy/src/secrets/types';

const TTL = 10_000;
const MAX_STALE = 5_000;
const RETRY = 1_000;
const PATH = 'team/github';

type Outcome = SecretData | ProxyError;

/** A reader answering from a queue; each call takes the next outcome (or a deferred one). */
class FakeReader implements SecretReader {
  calls = 0;
  private readonly queue: Outcome[] = [];
  private readonly deferred: Array<{ resolve: (v: SecretData) => void; reject: (e: unknown) => void }> = [];
  manual = false;

  answer(...outcomes: Outcome[]): this {
    this.queue.push(...outcomes);
    return this;
  }

  read(): Promise<SecretData> {
    this.calls += 1;
    if (this.manual) return new Promise((resolve, reject) => this.deferred.push({ resolve, reject }));
    const next = this.queue.shift();
    if (next === undefined) return Promise.reject(new Error('FakeReader: no answer queued'));
    return next instanceof ProxyError ? Promise.reject(next) : Promise.resolve(next);
  }

  settle(outcome: Outcome): void {
    const d = this.deferred.shift();
    if (d === undefined) throw new Error('FakeReader: nothing pending');
    if (outcome instanceof ProxyError) d.reject(outcome);
    else d.resolve(outcome);
  }
}

const v = (token: string): SecretData => ({ token });
const unavailable = () => new ProxyError('VAULT_UNAVAILABLE', 'Vault is sealed', { headers: { 'Retry-After': '7' } });
const notFound = () => new ProxyError('SECRET_NOT_FOUND', `secret secret/${PATH} does not exist in Vault`);
const forbidden = () => new ProxyError('VAULT_FORBIDDEN', 'denied');
const loginRefused = () => new LoginRefusedError("Vault refused the proxy's login: Vault refused the approle login (400)");

function setup(reader: FakeReader) {
  let now = 0;
  const events = new ProxyEvents();
  const seen: CacheEvent['result'][] = [];
  events.on('secret:cache', (e) => seen.push(e.result));
  const cache = new SecretCache(reader, { ttlMs: TTL, maxStaleMs: MAX_STALE, retryMs: RETRY, events, now: () => now });
  return {
    cache,
    seen,
    at(t: number) {
      now = t;
    },
  };
}

/** Lets background promise chains run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

async function outcomeOf(p: Promise<SecretData>): Promise<string> {
  try {
    return `value:${(await p).token}`;
  } catch (err) {
    return err instanceof ProxyError ? `error:${err.code}` : `throw:${String(err)}`;
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
afterEach(async () => {
  await flush();
  expect(unhandled).toEqual([]);
});

interface Step {
  at: number;
  /** Outcome queued for the reader before this get (when the get is expected to read). */
  reader?: Outcome;
  expect: string;
  /** Total reader calls after this step. */
  reads: number;
  /** Cache event of this get, when it matters. */
  event?: CacheEvent['result'];
}

const scenarios: Array<{ name: string; steps: Step[] }> = [
  {
    name: 'miss reads once, then fresh hits never touch the reader',
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1, event: 'miss' },
      { at: 1, expect: 'value:a', reads: 1, event: 'hit' },
      { at: TTL * 0.8, expect: 'value:a', reads: 1, event: 'hit' },
    ],
  },
  {
    name: 'after the TTL the secret is read again',
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1 },
      { at: TTL, reader: v('b'), expect: 'value:b', reads: 2, event: 'expired' },
      { at: TTL + 1, expect: 'value:b', reads: 2, event: 'hit' },
    ],
  },
  {
    name: 'Vault unavailable after the TTL: the stale value serves within the bound',
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1 },
      { at: TTL + 1, reader: unavailable(), expect: 'value:a', reads: 2 },
      // Within retryMs the stale value answers without another Vault call.
      { at: TTL + 1 + RETRY - 1, expect: 'value:a', reads: 2, event: 'stale' },
      { at: TTL + 1 + RETRY, reader: unavailable(), expect: 'value:a', reads: 3 },
      { at: TTL + MAX_STALE - 1, reader: v('b'), expect: 'value:b', reads: 4 },
    ],
  },
  {
    name: 'Vault unavailable past TTL + maxStale: fail closed',
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1 },
      { at: TTL + MAX_STALE, reader: unavailable(), expect: 'error:VAULT_UNAVAILABLE', reads: 2 },
      // The too-old value is gone: the next failure is the reader's own.
      { at: TTL + MAX_STALE + 1, reader: unavailable(), expect: 'error:VAULT_UNAVAILABLE', reads: 3, event: 'miss' },
    ],
  },
  {
    name: 'secret deleted in Vault: the cached value is dropped at the refresh',
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1 },
      { at: TTL, reader: notFound(), expect: 'error:SECRET_NOT_FOUND', reads: 2 },
      // Dropped: a later outage has no stale value to fall back on.
      { at: TTL + 1, reader: unavailable(), expect: 'error:VAULT_UNAVAILABLE', reads: 3, event: 'miss' },
    ],
  },
  {
    name: 'access revoked: the cached value is dropped at the refresh',
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1 },
      { at: TTL, reader: forbidden(), expect: 'error:VAULT_FORBIDDEN', reads: 2 },
      { at: TTL + 1, reader: unavailable(), expect: 'error:VAULT_UNAVAILABLE', reads: 3, event: 'miss' },
    ],
  },
  {
    name: "Vault refused the proxy's login after the TTL: no stale value, dropped at once",
    steps: [
      { at: 0, reader: v('a'), expect: 'value:a', reads: 1 },
      // Well within TTL + maxStale, where an outage would still serve 'a'.
      { at: TTL + 1, reader: loginRefused(), expect: 'error:VAULT_UNAVAILABLE', reads: 2 },
      // Dropped: an outage right after the refusal has nothing stale to hand out either.
      { at: TTL + 2, reader: unavailable(), expect: 'error:VAULT_UNAVAILABLE', reads: 3, event: 'miss' },
    ],
  },
  {
    name: 'failures are not cached: the next get reads again',
    steps: [
      { at: 0, reader: unavailable(), expect: 'error:VAULT_UNAVAILABLE', reads: 1 },
      { at: 1, reader: notFound(), expect: 'error:SECRET_NOT_FOUND', reads: 2 },
      { at: 2, reader: v('a'), expect: 'value:a', reads: 3 },
    ],
  },
];

describe('SecretCache', () => {
  it.each(scenarios)('$name', async ({ steps }) => {
    const reader = new FakeReader();
    const { cache, seen, at } = setup(reader);
    for (const [i, step] of steps.entries()) {
      at(step.at);
      if (step.reader !== undefined) reader.answer(step.reader);
      const before = seen.length;
      expect({ i, outcome: await outcomeOf(cache.get(PATH)) }).toEqual({ i, outcome: step.expect });
      expect({ i, reads: reader.calls }).toEqual({ i, reads: step.reads });
      if (step.event !== undefined) expect({ i, event: seen[before] }).toEqual({ i, event: step.event });
    }
  });

  it('fail-closed error names the path and keeps Retry-After', async () => {
    const reader = new FakeReader().answer(v('a'), unavailable());
    const { cache, at } = setup(reader);
    await cache.get(PATH);
    at(TTL + MAX_STALE + 1);
    const err = await cache.get(PATH).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).message).toBe(`Vault is sealed; the cached secret for ${PATH} is older than the allowed staleness (cache.maxStaleSeconds)`);
    expect((err as ProxyError).headers).toEqual({ 'Retry-After': '7' });
  });

  it('single-flight: N concurrent misses share one read', async () => {
    const reader = new FakeReader();
    reader.manual = true;
    const { cache } = setup(reader);
    const gets = Array.from({ length: 25 }, () => cache.get(PATH));
    expect(reader.calls).toBe(1);
    reader.settle(v('a'));
    expect((await Promise.all(gets)).map((d) => d.token)).toEqual(Array(25).fill('a'));
    expect(reader.calls).toBe(1);
  });

  it('single-flight: a failed shared read rejects every waiter, and is not remembered', async () => {
    const reader = new FakeReader();
    reader.manual = true;
    const { cache } = setup(reader);
    const gets = Array.from({ length: 5 }, () => outcomeOf(cache.get(PATH)));
    reader.settle(unavailable());
    expect(await Promise.all(gets)).toEqual(Array(5).fill('error:VAULT_UNAVAILABLE'));
    const again = cache.get(PATH);
    expect(reader.calls).toBe(2);
    reader.settle(v('b'));
    expect((await again).token).toBe('b');
  });

  it('paths are cached independently', async () => {
    const reader = new FakeReader().answer(v('a'), v('b'));
    const { cache } = setup(reader);
    expect((await cache.get('one')).token).toBe('a');
    expect((await cache.get('two')).token).toBe('b');
    expect((await cache.get('one')).token).toBe('a');
    expect(reader.calls).toBe(2);
  });

  it('refresh-ahead: a hit near the end of the TTL answers from cache and refreshes once in the background', async () => {
    const reader = new FakeReader().answer(v('a'));
    const { cache, seen, at } = setup(reader);
    await cache.get(PATH);
    reader.manual = true;
    at(TTL * 0.9);
    expect((await cache.get(PATH)).token).toBe('a');
    expect(seen).toEqual(['miss', 'refresh', 'hit']);
    expect(reader.calls).toBe(2);
    // More hits while the refresh runs start no second one.
    await cache.get(PATH);
    await cache.get(PATH);
    expect(reader.calls).toBe(2);
    reader.settle(v('b'));
    await flush();
    at(TTL * 0.95);
    expect((await cache.get(PATH)).token).toBe('b');
    // The refreshed value has a new TTL: still a hit past the old expiry.
    at(TTL * 1.5);
    expect((await cache.get(PATH)).token).toBe('b');
    expect(reader.calls).toBe(2);
  });

  it('a get after the TTL joins a background refresh already in flight', async () => {
    const reader = new FakeReader().answer(v('a'));
    const { cache, at } = setup(reader);
    await cache.get(PATH);
    reader.manual = true;
    at(TTL * 0.9);
    await cache.get(PATH);
    at(TTL + 1);
    const joined = cache.get(PATH);
    expect(reader.calls).toBe(2);
    reader.settle(v('b'));
    expect((await joined).token).toBe('b');
  });

  it('background refresh failing with Vault unavailable keeps the fresh value and does not retry on every hit', async () => {
    const reader = new FakeReader().answer(v('a'), unavailable());
    const { cache, at } = setup(reader);
    await cache.get(PATH);
    at(TTL * 0.9);
    expect((await cache.get(PATH)).token).toBe('a');
    await flush();
    expect(reader.calls).toBe(2);
    for (let i = 0; i < 10; i += 1) expect((await cache.get(PATH)).token).toBe('a');
    expect(reader.calls).toBe(2);
    // After retryMs the next hit tries again.
    reader.answer(v('b'));
    at(TTL * 0.9 + RETRY);
    await cache.get(PATH);
    await flush();
    expect(reader.calls).toBe(3);
    expect((await cache.get(PATH)).token).toBe('b');
  });

  it.each([
    ['finding the secret deleted', notFound, 'error:SECRET_NOT_FOUND'],
    ["refused (the proxy's own login)", loginRefused, 'error:VAULT_UNAVAILABLE'],
  ])('background refresh %s drops the value before its TTL ends, without an unhandled rejection', async (_name, failure, expected) => {
    const reader = new FakeReader().answer(v('a'), failure());
    const { cache, at } = setup(reader);
    await cache.get(PATH);
    at(TTL * 0.9);
    expect((await cache.get(PATH)).token).toBe('a');
    await flush();
    expect(cache.backgroundFailures).toBe(1);
    // Still within the TTL, yet read again: the value is gone.
    reader.answer(failure());
    expect(await outcomeOf(cache.get(PATH))).toBe(expected);
    expect(reader.calls).toBe(3);
  });

  it('clear() drops values, and a read in flight during clear() is not stored', async () => {
    const reader = new FakeReader().answer(v('a'));
    const { cache } = setup(reader);
    await cache.get(PATH);
    reader.manual = true;
    cache.clear();
    const pending = cache.get(PATH);
    expect(reader.calls).toBe(2);
    cache.clear();
    reader.settle(v('old'));
    expect((await pending).token).toBe('old');
    const next = cache.get(PATH);
    expect(reader.calls).toBe(3);
    reader.settle(v('new'));
    expect((await next).token).toBe('new');
  });

  it('a fresh hit returns the same resolved promise (no per-hit allocation, no reader call)', async () => {
    const reader = new FakeReader().answer(v('a'));
    const { cache } = setup(reader);
    await cache.get(PATH);
    const first = cache.get(PATH);
    expect(cache.get(PATH)).toBe(first);
  });

  it('a reader that throws synchronously still yields a rejected promise', async () => {
    const reader: SecretReader = {
      read() {
        throw new ProxyError('VAULT_UNAVAILABLE', 'boom');
      },
    };
    const cache = new SecretCache(reader, { ttlMs: TTL, maxStaleMs: MAX_STALE, events: new ProxyEvents() });
    await expect(cache.get(PATH)).rejects.toMatchObject({ code: 'VAULT_UNAVAILABLE' });
  });
});

describe('SecretCache.peek (the hot path without a promise)', () => {
  it('answers nothing before the first read, and counts no event for it', () => {
    const { cache, seen } = setup(new FakeReader().answer(v('a')));
    expect(cache.peek(PATH)).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('answers what get would, counted as a hit, while the value is fresh', async () => {
    const reader = new FakeReader().answer(v('a'));
    const { cache, seen, at } = setup(reader);
    await cache.get(PATH);
    at(1000);
    expect(cache.peek(PATH)).toEqual(v('a'));
    expect(cache.peek(PATH)).toBe(await cache.get(PATH));
    expect(seen).toEqual(['miss', 'hit', 'hit', 'hit']);
    expect(reader.calls).toBe(1);
  });

  it('starts the refresh ahead of expiry like get, and answers the new value once it is in', async () => {
    const reader = new FakeReader().answer(v('a'), v('b'));
    const { cache, seen, at } = setup(reader);
    await cache.get(PATH);
    at(TTL - 1);
    expect(cache.peek(PATH)).toEqual(v('a'));
    expect(reader.calls).toBe(2);
    await flush();
    expect(cache.peek(PATH)).toEqual(v('b'));
    expect(seen).toEqual(['miss', 'refresh', 'hit', 'hit']);
  });

  it('answers nothing once the value expired, so the caller reads it', async () => {
    const reader = new FakeReader().answer(v('a'), v('b'));
    const { cache, at } = setup(reader);
    await cache.get(PATH);
    at(TTL + 1);
    expect(cache.peek(PATH)).toBeUndefined();
    expect(reader.calls).toBe(1);
    expect(await outcomeOf(cache.get(PATH))).toBe('value:b');
  });

  it('serves the stale value within bound after a failed refresh, like get, and nothing past it', async () => {
    const reader = new FakeReader().answer(v('a'), unavailable());
    const { cache, at } = setup(reader);
    await cache.get(PATH);
    at(TTL + 1);
    expect(await outcomeOf(cache.get(PATH))).toBe('value:a');
    at(TTL + 2);
    expect(cache.peek(PATH)).toEqual(v('a'));
    at(TTL + MAX_STALE + 1);
    expect(cache.peek(PATH)).toBeUndefined();
  });

  it('answers nothing after clear()', async () => {
    const { cache } = setup(new FakeReader().answer(v('a')));
    await cache.get(PATH);
    cache.clear();
    expect(cache.peek(PATH)).toBeUndefined();
  });
});
