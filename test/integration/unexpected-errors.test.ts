/**
 * A bug in one request's path ends that request, not the process: an exception thrown while
 * the answer is prepared, or inside the streamed scrub, becomes INTERNAL_ERROR (or a cut
 * connection once the answer started), is reported once, and the next request is served.
 * The bugs are simulated by making the proxy's own functions throw; the process-level net
 * (safety-net.ts) is tested on an emitter of its own.
 */
import { EventEmitter } from 'node:events';
import request from 'supertest';
import * as responseHead from '../../proxy/src/forward/response-head';
import * as matcher from '../../proxy/src/forward/scrub/matcher';
import { keepServingOnUncaught } from '../../proxy/src/app/safety-net';
import { startEchoUpstream, type EchoUpstream } from '../support/echo-upstream';
import { fixedSecrets, forwardApp, serviceConfig, type ForwardApp } from '../support/forward-app';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { canary } from '../support/proxy-harness';

const SECRET = canary('unexpected');

describe('an unexpected exception in a request path', () => {
  let upstream: EchoUpstream;
  let forward: ForwardApp;
  const reported: Array<{ requestId: string; error: unknown }> = [];

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    forward = forwardApp({
      services: { echo: serviceConfig({ target: upstream.url, inject: { type: 'bearer', field: 'token' } }) },
      secrets: fixedSecrets({}, { token: SECRET }),
      onUnexpected: (error, requestId) => reported.push({ requestId, error }),
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
    reported.length = 0;
  });

  afterAll(async () => {
    await forward?.close();
    await upstream?.close();
  });

  async function expectServedNormally(): Promise<void> {
    const res = await request(forward.app).get('/forward/echo/after');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(SECRET);
  }

  it('while the answer head is prepared: 500 INTERNAL_ERROR, reported once, the next request is served', async () => {
    jest.spyOn(responseHead, 'prepareHead').mockImplementationOnce(() => {
      throw new TypeError(`a bug holding ${SECRET}`);
    });
    const res = await request(forward.app).get('/forward/echo/x').set('x-request-id', 'bug-head');
    expectProxyError(res, 500, 'INTERNAL_ERROR', 'proxy');
    expectNothingHidden([res.text, JSON.stringify(res.headers)], [SECRET]);
    expect(reported).toEqual([{ requestId: 'bug-head', error: expect.objectContaining({ name: 'TypeError' }) }]);
    expect(forward.contexts.get('bug-head')).toMatchObject({ errorCode: 'INTERNAL_ERROR', errorSource: 'proxy' });
    await expectServedNormally();
  });

  it('inside the streamed scrub: 500 INTERNAL_ERROR (never the unscrubbed body), reported once, the next request is served', async () => {
    jest.spyOn(matcher, 'scrubInto').mockImplementation(() => {
      throw new RangeError('a scrubber bug');
    });
    // No declared length: the answer streams, scrubbed chunk by chunk in the relay.
    const res = await request(forward.app).get('/forward/echo/stream/2').set('x-request-id', 'bug-scrub');
    jest.restoreAllMocks();
    expectProxyError(res, 500, 'INTERNAL_ERROR', 'proxy');
    expect(res.text).not.toContain(SECRET);
    expect(reported).toEqual([{ requestId: 'bug-scrub', error: expect.objectContaining({ name: 'RangeError' }) }]);
    await expectServedNormally();
  });

  it('inside the one-pass scrub of a small answer: 500 INTERNAL_ERROR (never the unscrubbed body), reported once, the next request is served', async () => {
    const scrubBuffer = matcher.scrubBuffer;
    // Header values still scrub; the body (the echo, longer than any header value here, quoting the secret) does not.
    jest.spyOn(matcher, 'scrubBuffer').mockImplementation((scrubber, data) => {
      if (data.length > 256) throw new RangeError('a scrubber bug');
      return scrubBuffer(scrubber, data);
    });
    const res = await request(forward.app).get('/forward/echo/z').set('x-request-id', 'bug-small');
    jest.restoreAllMocks();
    expectProxyError(res, 500, 'INTERNAL_ERROR', 'proxy');
    expect(res.text).not.toContain(SECRET);
    expect(reported).toEqual([{ requestId: 'bug-small', error: expect.objectContaining({ name: 'RangeError' }) }]);
    await expectServedNormally();
  });
});

describe('the process-level net', () => {
  it('reports what nothing caught, with its origin, and removes itself', () => {
    const target = new EventEmitter();
    const seen: Array<[string, unknown]> = [];
    const remove = keepServingOnUncaught((origin, error) => seen.push([origin, error]), target);
    const boom = new Error('boom');
    target.emit('uncaughtException', boom, 'uncaughtException');
    target.emit('unhandledRejection', 'a reason', Promise.resolve());
    expect(seen).toEqual([
      ['uncaughtException', boom],
      ['unhandledRejection', 'a reason'],
    ]);
    remove();
    expect(target.listenerCount('uncaughtException') + target.listenerCount('unhandledRejection')).toBe(0);
  });

  it('survives a reporter that throws', () => {
    const target = new EventEmitter();
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    keepServingOnUncaught(() => {
      throw new Error('the log is broken');
    }, target);
    expect(() => target.emit('uncaughtException', new Error('x'), 'uncaughtException')).not.toThrow();
    expect(write).toHaveBeenCalledWith(expect.stringContaining('could not be logged'));
    write.mockRestore();
  });
});
