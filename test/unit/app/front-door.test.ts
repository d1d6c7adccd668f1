import { IncomingMessage } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import supertest from 'supertest';
import { ProxyEvents, type RequestRecord } from '../../../proxy/src/observability/events';
import { requestTracking } from '../../../proxy/src/observability/request-log';
import { contextOf } from '../../../proxy/src/app/request-context';
import { mountEntry } from '../../../proxy/src/app/front-door';
import { expectationProblem } from '../../../proxy/src/listener/expect-guard';
import { unsafeTargetProblem } from '../../../proxy/src/forward';
import { hostCheck } from '../../../proxy/src/listener/host-guard';
import { refuse, toProxyError } from '../../../proxy/src/contract/proxy-error';
import { ERROR_HEADER, FORWARD_PREFIX, WORKFLOW_ID_HEADER } from '../../../proxy/src/contract/contract';
import { listen } from '../../../proxy/src/listener/server';
import { rawRequest, type RawResponse } from '../../support/raw-http';
import { waitFor } from '../../support/secrets-harness';

/** What the data-plane handler saw of one request. */
interface Seen {
  url: string;
  originalUrl: string;
  /** True when express had swapped the request's prototype for its own (the router's way in). */
  viaExpress: boolean;
  clientId: string | null;
  workflowId: string | null;
}

interface Harness {
  app: Express;
  seen: Seen[];
  records: RequestRecord[];
  authCalls: number;
}

type ForwardBehaviour = 'answer' | 'throw' | 'decline' | 'next-error';

function harness(behaviour: ForwardBehaviour = 'answer'): Harness {
  const events = new ProxyEvents();
  const records: RequestRecord[] = [];
  events.on('request:finish', (record) => records.push(record));
  const seen: Seen[] = [];
  const h: Harness = { app: express(), seen, records, authCalls: 0 };
  const authenticate: RequestHandler = (req, res, next) => {
    h.authCalls++;
    if (req.headers.authorization !== 'Bearer good') {
      res.statusCode = 401;
      res.end('no');
      return;
    }
    contextOf(res).client = { id: 'client-a', tokenId: null, expiresAt: null, services: new Set(['api']) };
    next();
  };
  const forward: RequestHandler = (req, res, next) => {
    const ctx = contextOf(res);
    seen.push({
      url: req.url,
      originalUrl: req.originalUrl,
      viaExpress: Object.getPrototypeOf(req) !== IncomingMessage.prototype,
      clientId: ctx.client?.id ?? null,
      workflowId: ctx.attribution?.workflowId ?? null,
    });
    if (behaviour === 'throw') throw new Error('forward broke');
    if (behaviour === 'decline') return next();
    if (behaviour === 'next-error') return next(new Error('forward passed an error'));
    res.setHeader('content-type', 'text/plain');
    res.end(`served ${req.url}`);
  };
  const onError: ErrorRequestHandler = (err, _req, res, _next) => refuse(res, toProxyError(err));
  const tracking = requestTracking(events, { route: (path) => (path.startsWith(`${FORWARD_PREFIX}/`) ? 'forward' : 'other') });
  mountEntry(h.app, {
    tracking,
    checks: [expectationProblem, unsafeTargetProblem, hostCheck(['proxy.internal'])],
    authenticate,
    forward,
    onError,
  });
  h.app.use(FORWARD_PREFIX, authenticate, forward);
  h.app.use((_req, res) => {
    res.statusCode = 404;
    res.end('no route');
  });
  h.app.use(onError);
  return h;
}

const GOOD = { authorization: 'Bearer good', host: 'proxy.internal' };

describe('the front door', () => {
  it('serves /forward/... without express, with the steps the router would give it', async () => {
    const h = harness();
    const res = await supertest(h.app).get('/forward/api/users?page=2').set(GOOD).set(WORKFLOW_ID_HEADER, 'wf-1');
    expect(res.status).toBe(200);
    expect(res.text).toBe('served /api/users?page=2');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.seen).toEqual([
      { url: '/api/users?page=2', originalUrl: '/forward/api/users?page=2', viaExpress: false, clientId: 'client-a', workflowId: 'wf-1' },
    ]);
    await waitFor('the audit record', () => h.records.length === 1);
    expect(h.records[0]).toMatchObject({ path: '/forward/api/users?page=', route: 'forward', status: 200, clientId: 'client-a', workflowId: 'wf-1' });
    expect(h.records[0].remoteAddress).toMatch(/127\.0\.0\.1|::1/);
  });

  it.each(['/forward', '/forward?x=1', '/FORWARD/api/users', '/Forward/api/users'])('hands %s to express, which reaches the same handlers', async (path) => {
    const h = harness();
    const res = await supertest(h.app).get(path).set(GOOD);
    expect(res.status).toBe(200);
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0].viaExpress).toBe(true);
    expect(h.seen[0].clientId).toBe('client-a');
    await waitFor('the audit record', () => h.records.length === 1);
  });

  it.each([
    ['an Expect other than 100-continue', { expect: 'something-else' }, 417, 'EXPECTATION_UNSUPPORTED'],
    ['a Host outside listen.allowedHosts', { host: 'evil.example' }, 421, 'HOST_NOT_ALLOWED'],
  ])('refuses %s before authentication, with the contract and an audit record', async (_name, headers, status, code) => {
    const h = harness();
    // The production listener: Node's own server would answer an unusual Expect with a bare 417 itself.
    const { server, url } = await listen(h.app, '127.0.0.1', 0);
    let res: RawResponse;
    try {
      res = await rawRequest(url, { path: '/forward/api/x', headers: Object.entries({ ...GOOD, ...headers }) });
    } finally {
      server.close();
    }
    expect(res.status).toBe(status);
    expect(res.headers[ERROR_HEADER]).toBe(code);
    expect(h.authCalls).toBe(0);
    expect(h.seen).toEqual([]);
    await waitFor('the audit record', () => h.records.length === 1);
    expect(h.records[0]).toMatchObject({ status, errorCode: code });
    if (code === 'EXPECTATION_UNSUPPORTED') expect(res.headers.connection).toBe('close');
  });

  it('refuses TRACE on the data plane before authentication', async () => {
    const h = harness();
    const res = await supertest(h.app).trace('/forward/api/x').set(GOOD);
    expect(res.status).toBe(405);
    expect(res.headers[ERROR_HEADER]).toBe('METHOD_NOT_ALLOWED');
    expect(h.authCalls).toBe(0);
  });

  it('lets authentication answer a request it refuses; nothing is forwarded', async () => {
    const h = harness();
    const res = await supertest(h.app).get('/forward/api/x').set({ host: 'proxy.internal', authorization: 'Bearer bad' });
    expect(res.status).toBe(401);
    expect(h.seen).toEqual([]);
  });

  it.each<[ForwardBehaviour]>([['throw'], ['decline'], ['next-error']])(
    'answers once with INTERNAL_ERROR when the data-plane handler fails (%s)',
    async (behaviour) => {
      const h = harness(behaviour);
      const res = await supertest(h.app).get('/forward/api/x').set(GOOD);
      expect(res.status).toBe(500);
      expect(res.headers[ERROR_HEADER]).toBe('INTERNAL_ERROR');
      expect(JSON.stringify(res.body)).not.toContain('forward');
      await waitFor('the audit record', () => h.records.length === 1);
      expect(h.records[0]).toMatchObject({ status: 500, errorCode: 'INTERNAL_ERROR' });
    },
  );
});
