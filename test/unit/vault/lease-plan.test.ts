import { planNextAuthAction } from '../../../proxy/src/vault/lease-plan';

describe('planNextAuthAction', () => {
  const base = { renewFraction: 0.5 };
  it.each([
    {
      name: 'renewable login token: renew at the fraction',
      lease: { ttlSeconds: 60, renewable: true },
      canRelogin: true,
      capped: false,
      expected: { action: 'renew', delayMs: 30_000 },
    },
    {
      name: 'capped renewal, AppRole: log in again on the returned TTL',
      lease: { ttlSeconds: 20, renewable: true },
      canRelogin: true,
      capped: true,
      expected: { action: 'relogin', delayMs: 10_000 },
    },
    {
      name: 'capped renewal, static token: keep renewing on the returned TTL',
      lease: { ttlSeconds: 20, renewable: true },
      canRelogin: false,
      capped: true,
      expected: { action: 'renew', delayMs: 10_000 },
    },
    {
      name: 'TTL too short to renew, AppRole: log in again',
      lease: { ttlSeconds: 1, renewable: true },
      canRelogin: true,
      capped: false,
      expected: { action: 'relogin', delayMs: 500 },
    },
    {
      name: 'non-renewable login token: log in again before expiry',
      lease: { ttlSeconds: 10, renewable: false },
      canRelogin: true,
      capped: false,
      expected: { action: 'relogin', delayMs: 5_000 },
    },
    {
      name: 'non-renewable static token: note the expiry',
      lease: { ttlSeconds: 10, renewable: false },
      canRelogin: false,
      capped: false,
      expected: { action: 'expire', delayMs: 10_000 },
    },
    { name: 'token without expiry: nothing to do', lease: { ttlSeconds: 0, renewable: false }, canRelogin: false, capped: false, expected: { action: 'none' } },
  ])('$name', ({ lease, canRelogin, capped, expected }) => {
    expect(planNextAuthAction({ ...lease, incrementSeconds: lease.ttlSeconds }, { ...base, canRelogin, capped })).toEqual(expected);
  });
});
