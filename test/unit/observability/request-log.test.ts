import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import supertest from 'supertest';
import { NO_ATTRIBUTION, ProxyEvents, type RequestRecord } from '../../../proxy/src/observability/events';
import { CLIENT_CLOSED_STATUS, RecordBatch, requestTracking, stripQueryValues } from '../../../proxy/src/observability/request-log';
import { contextOf } from '../../../proxy/src/app/request-context';
import { waitFor } from '../../support/secrets-harness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Harness {
  app: Express;
  records: RequestRecord[];
  routedPaths: string[];
  /** Resolves once `n` records have been emitted. */
  waitFor(n: number): Promise<void>;
  /** Resolves when a /hang request reached its handler. */
  hanging: Promise<void>;
  /** Finishes pending /hang responses (after the client left). */
  release(): void;
}

function harness(): Harness {
  const events = new ProxyEvents();
  const records: RequestRecord[] = [];
  const routedPaths: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  events.on('request:finish', (r) => {
    records.push(r);
    for (const w of waiters.filter((x) => records.length >= x.n)) w.resolve();
  });
  let reached!: () => void;
  const hanging = new Promise<void>((resolve) => (reached = resolve));
  const pending: Array<() => void> = [];

  const app = express();
  app.use(
    requestTracking(events, {
      route: (path) => {
        routedPaths.push(path);
        return path.startsWith('/forward/') ? 'forward' : path === '/healthz' ? 'ops' : 'other';
      },
    }),
  );
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.all('/forward/:service/*rest', (req, res) => {
    const ctx = contextOf(res);
    ctx.client = { id: 'n8n-prod', tokenId: 'abc123', expiresAt: null, services: new Set(['github']) };
    ctx.service = req.params.service;
    ctx.upstreamMs = 5;
    res.status(201).send('created');
  });
  app.get('/refuse', (_req, res) => {
    const ctx = contextOf(res);
    ctx.errorCode = 'PATH_NOT_ALLOWED';
    ctx.errorSource = 'proxy';
    res.status(403).json({});
  });
  app.get('/hang', (_req, res) => {
    pending.push(() => res.end('late'));
    reached();
  });
  app.get('/partial', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
    pending.push(() => res.end('late'));
    reached();
  });

  return {
    app,
    records,
    routedPaths,
    hanging,
    waitFor: (n) => (records.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    release: () => pending.splice(0).forEach((finish) => finish()),
  };
}

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

describe('requestTracking', () => {
  it('emits exactly one record per request with the context fields', async () => {
    const h = harness();
    const res = await supertest(h.app).post('/forward/github/repos?x=1').send({ a: 1 });
    expect(res.status).toBe(201);
    await h.waitFor(1);
    await settle();
    expect(h.records).toHaveLength(1);
    expect(h.records[0]).toEqual({
      requestId: res.headers['x-request-id'],
      method: 'POST',
      path: '/forward/github/repos?x=',
      route: 'forward',
      status: 201,
      clientId: 'n8n-prod',
      tokenId: 'abc123',
      service: 'github',
      errorCode: null,
      errorSource: null,
      errorDetail: null,
      durationMs: expect.any(Number),
      secretMs: null,
      upstreamMs: 5,
      ...NO_ATTRIBUTION,
      remoteAddress: expect.stringMatching(/127\.0\.0\.1$/),
      aborted: false,
    });
    expect(h.records[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('records one line per request across many requests, including 404s and refusals', async () => {
    const h = harness();
    const agent = supertest(h.app);
    await agent.get('/healthz').expect(200);
    await agent.get('/refuse').expect(403);
    await agent.get('/nowhere').expect(404);
    await h.waitFor(3);
    await settle();
    expect(h.records.map((r) => [r.route, r.status, r.errorCode])).toEqual([
      ['ops', 200, null],
      ['other', 403, 'PATH_NOT_ALLOWED'],
      ['other', 404, null],
    ]);
  });

  it('strips query values but keeps keys, and classifies by the path without query', async () => {
    const h = harness();
    await supertest(h.app).get('/forward/x/users?page=2&token=s3cr3t-value&flag&api_key=k%3Dv').expect(201);
    await h.waitFor(1);
    expect(h.records[0].path).toBe('/forward/x/users?page=&token=&flag&api_key=');
    expect(JSON.stringify(h.records[0])).not.toContain('s3cr3t-value');
    expect(h.routedPaths).toEqual(['/forward/x/users']);
  });

  it('reuses a well-formed client request id', async () => {
    const h = harness();
    const res = await supertest(h.app).get('/healthz').set('x-request-id', 'n8n-exec.42_abc');
    expect(res.headers['x-request-id']).toBe('n8n-exec.42_abc');
    await h.waitFor(1);
    expect(h.records[0].requestId).toBe('n8n-exec.42_abc');
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['spaces', 'has space'],
    ['header injection attempt', 'abc\tdef'],
    ['json', '{"x":1}'],
    ['non-ascii', 'réq'],
  ])('replaces a client request id that is %s with a UUID', async (_name, value) => {
    const h = harness();
    const res = await supertest(h.app).get('/healthz').set('x-request-id', value);
    expect(res.headers['x-request-id']).toMatch(UUID);
    await h.waitFor(1);
    expect(h.records[0].requestId).toBe(res.headers['x-request-id']);
  });

  it('generates a fresh UUID per request when the client sends none', async () => {
    const h = harness();
    const a = await supertest(h.app).get('/healthz');
    const b = await supertest(h.app).get('/nowhere');
    expect(a.headers['x-request-id']).toMatch(UUID);
    expect(b.headers['x-request-id']).toMatch(UUID);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  describe('when the client aborts', () => {
    let server: Server;
    let h: Harness;

    beforeEach(async () => {
      h = harness();
      server = h.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    async function abortAfterHandler(path: string): Promise<void> {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, path, headers: { 'x-request-id': 'aborting-1' } });
      req.on('error', () => undefined); // the abort we cause below surfaces here as ECONNRESET
      req.end();
      await h.hanging;
      req.destroy();
    }

    it('emits one record marked aborted with status 499 before any response', async () => {
      await abortAfterHandler('/hang?token=abc');
      await h.waitFor(1);
      // The handler finishing after the client left must not produce a second record.
      h.release();
      await settle(100);
      expect(h.records).toHaveLength(1);
      expect(h.records[0]).toMatchObject({ requestId: 'aborting-1', aborted: true, status: CLIENT_CLOSED_STATUS, path: '/hang?token=' });
    });

    it('keeps the real status when the response had started', async () => {
      await abortAfterHandler('/partial');
      await h.waitFor(1);
      h.release();
      await settle(100);
      expect(h.records).toHaveLength(1);
      expect(h.records[0]).toMatchObject({ aborted: true, status: 200 });
    });
  });

  it('survives a listener that throws, and warns instead', async () => {
    const events = new ProxyEvents();
    events.on('request:finish', () => {
      throw new Error('listener bug');
    });
    const app = express();
    app.use(requestTracking(events, { route: () => 'other' }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await supertest(app).get('/').expect(200);
      await waitFor('the warning', () => warn.mock.calls.length > 0);
      await settle();
      expect(warn).toHaveBeenCalledTimes(1);
      const message = String(warn.mock.calls[0][0]);
      expect(message).toContain('request:finish listener threw (Error)');
      expect(message).not.toContain('listener bug');
    } finally {
      warn.mockRestore();
    }
  });
});

describe('stripQueryValues', () => {
  it.each([
    ['/a/b', '/a/b'],
    ['/a?', '/a?'],
    ['/a?x=1', '/a?x='],
    ['/a?x=1&y=2', '/a?x=&y='],
    ['/a?x=1=2&&z', '/a?x=&&z'],
    ['/a?flag', '/a?flag'],
    ['/a?x=&y', '/a?x=&y'],
    ['/a?token=abc%26def&k=v', '/a?token=&k='],
  ])('%s → %s', (input, expected) => {
    expect(stripQueryValues(input)).toBe(expected);
  });

  it('bounds very long paths', () => {
    expect(stripQueryValues(`/${'a'.repeat(10_000)}`).length).toBeLessThanOrEqual(2049);
  });

  // One pass whatever the shape: a quadratic scan of these 8 MiB targets would run for minutes
  // (a 1 MiB query of '&' used to block the event loop for seconds), not within the test timeout.
  it.each([
    ['&', (n: number) => `/a?${'&'.repeat(n)}`],
    ['=', (n: number) => `/a?${'='.repeat(n)}`],
    ['&=', (n: number) => `/a?${'&='.repeat(n / 2)}`],
    ['k&', (n: number) => `/a?${'k&'.repeat(n / 2)}`],
    ['one key, a huge value', (n: number) => `/a?k=${'v'.repeat(n)}`],
    ['a huge key, then a value', (n: number) => `/a?${'k'.repeat(n)}=v`],
  ])('stays linear for 8 MiB of %s', (_shape, build) => {
    const out = stripQueryValues(build(8 * 1024 * 1024));
    expect(out.length).toBeLessThanOrEqual(2049);
    expect(out.startsWith('/a?')).toBe(true);
  });
});

describe('RecordBatch', () => {
  const record = (requestId: string): RequestRecord => ({ requestId, method: 'GET', path: '/', route: 'other', status: 200 }) as unknown as RequestRecord;

  it('emits the records of one turn together after it, in order, and flush() at once', async () => {
    const events = new ProxyEvents();
    const seen: string[] = [];
    events.on('request:finish', (r) => seen.push(r.requestId));
    const batch = new RecordBatch(events);
    batch.add(record('a'));
    batch.add(record('b'));
    expect(seen).toEqual([]);
    await new Promise(setImmediate);
    expect(seen).toEqual(['a', 'b']);

    batch.add(record('c'));
    batch.flush();
    expect(seen).toEqual(['a', 'b', 'c']);
    // Nothing is emitted twice when the scheduled turn comes after a flush.
    await new Promise(setImmediate);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('a throwing listener loses only its own record: the rest of the batch still goes out', async () => {
    const events = new ProxyEvents();
    const seen: string[] = [];
    events.on('request:finish', (r) => {
      if (r.requestId === 'bad') throw new Error('listener bug');
      seen.push(r.requestId);
    });
    const batch = new RecordBatch(events);
    for (const id of ['a', 'bad', 'c']) batch.add(record(id));
    await new Promise(setImmediate);
    expect(seen).toEqual(['a', 'c']);
  });
});
