/**
 * The brute-force throttle on its own: the counting key per address, the Retry-After value,
 * and the gate in front of a stage whose every request fails authentication, over a real
 * loopback listener.
 */
import type { Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { createAuthThrottle, retryAfterSeconds, throttleKeyOf, type AuthThrottle } from '../../../proxy/src/auth/throttle';
import { ProxyError, refuse } from '../../../proxy/src/contract/proxy-error';
import { ProxyEvents, type AuthThrottledEvent } from '../../../proxy/src/observability/events';
import { expectProxyError } from '../../support/proxy-assertions';

describe('throttleKeyOf', () => {
  it.each([
    ['an IPv4 address', '127.0.0.2', '127.0.0.2'],
    ['an IPv4-mapped IPv6 address (dual-stack listener)', '::ffff:127.0.0.2', '127.0.0.2'],
    ['an IPv6 address, by its /64', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['IPv6 loopback', '::1', '::/64'],
    ['a missing address', undefined, 'unknown'],
    ['an empty address', '', 'unknown'],
  ])('keys %s', (_name, address, key) => {
    expect(throttleKeyOf(address)).toBe(key);
  });

  it('puts two addresses of one /64 together and neighbouring /64s apart', () => {
    expect(throttleKeyOf('2001:db8:0:7::1')).toBe(throttleKeyOf('2001:db8:0:7:ffff:ffff:ffff:fffe'));
    expect(throttleKeyOf('2001:db8:0:7::1')).not.toBe(throttleKeyOf('2001:db8:0:8::1'));
  });
});

describe('retryAfterSeconds', () => {
  const now = 1_000_000;
  it.each([
    ['rounds a partial second up', now + 1_200, 2],
    ['is the whole seconds left', now + 60_000, 60],
    ['is at least 1 when the window is about to free up', now + 10, 1],
    ['is at least 1 when the window has just passed', now - 5, 1],
  ])('%s', (_name, reset, expected) => {
    expect(retryAfterSeconds(new Date(reset), 60, now)).toBe(expected);
  });

  it('falls back to the whole window when the store knows no reset time', () => {
    expect(retryAfterSeconds(undefined, 45, now)).toBe(45);
  });
});

describe('createAuthThrottle', () => {
  it('is off when maxFailures is 0', () => {
    expect(createAuthThrottle({ maxFailures: 0, windowSeconds: 60 }, new ProxyEvents())).toBeNull();
  });

  describe('in front of a stage that refuses every token', () => {
    let throttle: AuthThrottle;
    let server: Server;
    const throttled: AuthThrottledEvent[] = [];

    beforeAll(async () => {
      const events = new ProxyEvents();
      events.on('auth:throttled', (event) => throttled.push(event));
      throttle = createAuthThrottle({ maxFailures: 3, windowSeconds: 60 }, events)!;
      const app = express();
      app.use((req, res, next) => {
        void throttle.onFailure(req, res, (err?: unknown) =>
          err === undefined ? refuse(res, new ProxyError('PROXY_TOKEN_INVALID', 'The proxy token is not known to this proxy.')) : next(err),
        );
      });
      server = await new Promise<Server>((resolve) => {
        const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
      });
    });

    afterAll(async () => {
      throttle.close();
      await new Promise((resolve) => server.close(resolve));
    });

    it('lets maxFailures refusals through, then answers 429 with Retry-After, and reports the address once', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await request(server).get('/v1/whoami');
        expectProxyError(res, 401, 'PROXY_TOKEN_INVALID', 'proxy');
        expect(res.headers['retry-after']).toBeUndefined();
        expect(res.headers['ratelimit']).toBeUndefined();
        expect(res.headers['x-ratelimit-remaining']).toBeUndefined();
      }
      for (let i = 0; i < 3; i++) {
        const res = await request(server).get('/v1/whoami');
        expectProxyError(res, 429, 'PROXY_TOKEN_THROTTLED', 'proxy');
        const retryAfter = Number(res.headers['retry-after']);
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      expect(throttled).toEqual([{ address: '127.0.0.1', failures: 3, windowSeconds: 60, retryAfterSeconds: expect.any(Number) }]);
    });
  });
});
