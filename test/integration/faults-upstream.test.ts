/**
 * Upstream faults as the n8n user sees them: a whole proxy app listening on loopback (real
 * Vault emulator behind it) in front of an API that refuses, hangs, cuts, floods or fails, and
 * clients that walk away. Each test asserts what reaches the client (status, error code,
 * source, or a cut connection) and what reaches the API (its connection closed by the proxy).
 *
 * Covered at the module level elsewhere (not repeated here):
 * - forward.test.ts: upstream down, reset before answering, header timeout, a cut after the
 *   answer started (content-length body), client disconnect aborting a slow upstream, 4 MiB
 *   streamed bodies, keep-alive reuse, Expect: 100-continue.
 * - proxy-app.test.ts: UPSTREAM_UNREACHABLE / UPSTREAM_TIMEOUT sources, a relayed 404.
 * - scrub.test.ts: scrubbing of headers and text bodies, encodings that fail closed.
 * - lifecycle.test.ts: SIGTERM with requests in flight, and under a steady concurrent load.
 */
import http from 'node:http';
import { ERROR_HEADER } from '../../proxy/src/contract/contract';
import {
  bigChunk,
  startFaultUpstream,
  API_RETRY_AFTER,
  DRIP_SMALL_CHUNKS,
  BIG_CHUNK_SIZE,
  type BigProgress,
  type FaultRecord,
  type FaultUpstream,
} from '../support/fault-upstream';
import { canary, listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';
import { expectNothingHidden, expectProxyError } from '../support/proxy-assertions';
import { deadPort, waitFor } from '../support/secrets-harness';
import { firstMismatch } from '../support/byte-pattern';

const SECRET = canary('upstream-faults');
/**
 * timeoutMs of the services whose tests wait for it to pass (`brief`, `briefRaw`): long enough
 * that a busy machine still gets an answer's headers and bytes through in time, short enough
 * to wait for. The other services wait 10 s, which no CPU stall reaches.
 */
const HEADER_TIMEOUT_MS = 1500;
const REDACTED = '[REDACTED]';

let harness: ProxyHarness;
let fault: FaultUpstream;
let t: TestProxy;
let listener: ProxyListener;
let port: number;
/** Every answer the tests read, for the final leak check. */
const seen: string[] = [];

/** How a client's read of one answer ended. */
interface ClientOutcome {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** 'end': complete; 'aborted' / 'error': the connection was cut under the answer. */
  ending: 'end' | 'aborted' | 'error';
}

/** One request on a fresh connection; the answer is read to its end or to its cut. */
function send(
  path: string,
  options: { method?: string; requestId?: string; keepBody?: boolean; onChunk?: (chunk: Buffer) => void } = {},
): Promise<ClientOutcome> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${t.tokens.n8n.token}` };
    if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      let settled = false;
      const finish = (ending: ClientOutcome['ending']): void => {
        if (settled) return;
        settled = true;
        const body = Buffer.concat(parts);
        if (options.keepBody !== false) seen.push(body.toString('latin1'), JSON.stringify(res.headers));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ending });
      };
      res.on('data', (chunk: Buffer) => {
        options.onChunk?.(chunk);
        if (options.keepBody !== false) parts.push(chunk);
      });
      res.on('end', () => finish('end'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', () => finish('error'));
    });
    // A connection cut before any answer is an outcome too, not a test failure.
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), ending: 'error' }));
    req.end();
  });
}

function asAnswer(outcome: ClientOutcome) {
  return { status: outcome.status, headers: outcome.headers as Record<string, string>, text: outcome.body.toString('utf8') };
}

/** The record of the first request the API received whose path contains `route`. */
async function arrival(route: string): Promise<FaultRecord> {
  await waitFor(`the API to receive ${route}`, () => fault.received.some((r) => r.url.includes(route)));
  return fault.received.find((r) => r.url.includes(route)) as FaultRecord;
}

function auditLines(requestId: string): Array<Record<string, unknown>> {
  return t.logs.entries().filter((e) => e.msg === 'request' && e.requestId === requestId);
}

/** Deadline for a step that should take well under a second: generous for a loaded machine. */
const LONG_WAIT_MS = 20_000;
/** The API counts as blocked once it has written nothing for this long while the client reads nothing. */
const STALL_MS = 500;

interface PacedOutcome {
  status: number;
  errorHeader: string | string[] | undefined;
  ending: 'end' | 'aborted' | 'error';
  received: number;
  /** Offset of the first byte that differs from the repeated expected chunk, or null. */
  mismatchAt: number | null;
}

/**
 * A download whose reading the test controls (pause/resume). Each arriving byte is compared
 * with `expectedChunk` repeated, so a secret split across network chunks, a lost or a doubled
 * byte all show up as `mismatchAt`; the body itself is not kept.
 */
function pacedDownload(path: string, expectedChunk: Buffer) {
  let response: http.IncomingMessage | null = null;
  let paused = false;
  let received = 0;
  let mismatchAt: number | null = null;
  let outcome: PacedOutcome | null = null;
  const done = new Promise<PacedOutcome>((resolve) => {
    const finish = (status: number, headers: http.IncomingHttpHeaders, ending: PacedOutcome['ending']): void => {
      outcome ??= { status, errorHeader: headers[ERROR_HEADER], ending, received, mismatchAt };
      resolve(outcome);
    };
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${t.tokens.n8n.token}` } }, (res) => {
      response = res;
      if (paused) res.pause();
      res.on('data', (chunk: Buffer) => {
        if (mismatchAt === null) {
          const at = firstMismatch(chunk, expectedChunk, received);
          if (at !== null) mismatchAt = received + at;
        }
        received += chunk.length;
      });
      res.on('end', () => finish(res.statusCode ?? 0, res.headers, 'end'));
      res.on('aborted', () => finish(res.statusCode ?? 0, res.headers, 'aborted'));
      res.on('error', () => finish(res.statusCode ?? 0, res.headers, 'error'));
    });
    req.on('error', () => finish(0, {}, 'error'));
  });
  return {
    /** Body bytes read so far. */
    received: () => received,
    /** Whether the answer is over (complete or cut). */
    finished: () => outcome !== null,
    pause(): void {
      paused = true;
      response?.pause();
    },
    resume(): void {
      paused = false;
      response?.resume();
    },
    done,
  };
}

/**
 * Resolves once the API has written nothing for STALL_MS (blocked by backpressure) or has
 * ended its answer. A busy machine can only make the stall come sooner, with fewer bytes
 * written, never make a blocked API look like it wrote the whole body.
 */
async function untilStalled(big: BigProgress): Promise<void> {
  const deadline = Date.now() + LONG_WAIT_MS;
  let last = big.sent;
  let since = Date.now();
  while (!big.ended && Date.now() - since < STALL_MS) {
    if (Date.now() > deadline) throw new Error(`the API neither stalled nor ended within ${LONG_WAIT_MS} ms (sent ${big.sent} bytes)`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (big.sent !== last) {
      last = big.sent;
      since = Date.now();
    }
  }
}

beforeAll(async () => {
  harness = await startHarness({ 'svc/api': { token: SECRET } });
  fault = await startFaultUpstream();
  const down = `http://127.0.0.1:${await deadPort()}`;
  const inject = { type: 'bearer' as const, field: 'token' };
  t = await startProxy(harness, (_base, token) => ({
    clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['down', 'api', 'raw', 'brief', 'briefRaw', 'bulk', 'pooled'] } },
    services: {
      down: { target: down, secret: 'svc/api', inject },
      api: { target: fault.url, secret: 'svc/api', inject, timeoutMs: 10_000 },
      raw: { target: fault.url, secret: 'svc/api', inject, timeoutMs: 10_000, scrub: false },
      brief: { target: fault.url, secret: 'svc/api', inject, timeoutMs: HEADER_TIMEOUT_MS },
      briefRaw: { target: fault.url, secret: 'svc/api', inject, timeoutMs: HEADER_TIMEOUT_MS, scrub: false },
      // Binary downloads opted out of scrubbing: relayed byte for byte.
      bulk: { target: fault.url, secret: 'svc/api', inject, timeoutMs: 10_000, scrubSkipContentTypes: ['application/octet-stream'] },
      // Its own connection pool (one per service): the pooled-connection tests count its connections.
      pooled: { target: fault.url, secret: 'svc/api', inject, timeoutMs: 10_000 },
    },
  }));
  listener = await listenProxy(t);
  port = listener.port;
});

afterEach(() => {
  fault.received.length = 0;
});

afterAll(async () => {
  await listener?.close();
  await t?.proxy.stop();
  await fault?.close();
  await harness?.close();
  expectNothingHidden([...seen, t.logs.text()], [SECRET, t.tokens.n8n.token, harness.appRole.secretId]);
});

describe('upstream faults through the whole proxy', () => {
  it('connection refused: 502 UPSTREAM_UNREACHABLE, source upstream', async () => {
    const error = expectProxyError(asAnswer(await send('/forward/down/x')), 502, 'UPSTREAM_UNREACHABLE', 'upstream');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('a pooled connection the API had closed: an idempotent request goes out once more, on another connection, and gets its 200', async () => {
    const first = await send('/forward/pooled/closed-when-reused');
    const before = fault.received.length;
    const second = await send('/forward/pooled/closed-when-reused', { requestId: 'pooled-resent' });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(JSON.parse(second.body.toString())).toEqual({ ok: true });
    // The second request met the first one's connection closed, then went out on a new one.
    expect(fault.received.slice(before).map((r) => r.onConnection)).toEqual([2, 1]);
    expect(auditLines('pooled-resent')).toEqual([expect.objectContaining({ status: 200, errorCode: null })]);
  });

  it('a pooled connection the API had closed, under a request that may not be sent twice (POST): 502 UPSTREAM_UNREACHABLE, not sent again', async () => {
    expect((await send('/forward/pooled/closed-when-reused')).status).toBe(200);
    const before = fault.received.length;
    const error = expectProxyError(asAnswer(await send('/forward/pooled/closed-when-reused', { method: 'POST' })), 502, 'UPSTREAM_UNREACHABLE', 'upstream');
    expect(error.message).toContain('ECONNRESET');
    // One attempt, on the pooled connection.
    expect(fault.received.slice(before).map((r) => r.onConnection)).toEqual([2]);
  });

  it.each([
    ['a scrubbed text body', 'api', 'text/plain'],
    ['a relayed binary body', 'raw', 'application/octet-stream'],
  ])('reset mid-response (%s): the client connection is cut, never a complete-looking 200', async (_name, service, type) => {
    const outcome = await send(`/forward/${service}/cut-body?type=${encodeURIComponent(type)}`);
    expect(outcome.ending).not.toBe('end');
    // Binary bytes are relayed as they come; the scrubber may still hold the first ones back.
    if (outcome.status !== 0)
      expect({ status: outcome.status, body: outcome.body.toString() }).toEqual({ status: 200, body: 'first part, then the connection is cut' });
    else expect(service).toBe('api');
  });

  it('a small answer with a declared length that goes silent mid-body past timeoutMs: 504 UPSTREAM_TIMEOUT (nothing had gone out), the upstream connection closed', async () => {
    const requestId = 'hang-small-body';
    const outcome = await send('/forward/brief/hang-body?type=text%2Fplain&length=1000', { requestId });
    expect(expectProxyError(asAnswer(outcome), 504, 'UPSTREAM_TIMEOUT', 'upstream').message).toContain('went silent mid-body');
    const record = await arrival('hang-body');
    await record.closed;
    expect(record.closedEarly).toBe(true);
    await waitFor('the audit line', () => auditLines(requestId).length === 1);
    expect(auditLines(requestId)[0]).toMatchObject({ errorCode: 'UPSTREAM_TIMEOUT', errorSource: 'upstream', errorDetail: 'body' });
  });

  it('a small answer whose chunks each come within timeoutMs, though all of them take longer: 200 with the whole body', async () => {
    const outcome = await send('/forward/brief/drip-small');
    expect(outcome.status).toBe(200);
    expect(outcome.body.toString()).toBe('d'.repeat(DRIP_SMALL_CHUNKS * 1024));
    expect(outcome.headers['content-length']).toBe(String(DRIP_SMALL_CHUNKS * 1024));
  });

  it('hangs before its headers past timeoutMs: 504 UPSTREAM_TIMEOUT, and the proxy closes the upstream connection', async () => {
    const outcome = await send('/forward/brief/hang-headers');
    expect(expectProxyError(asAnswer(outcome), 504, 'UPSTREAM_TIMEOUT', 'upstream').message).toContain(`${HEADER_TIMEOUT_MS} ms`);
    const record = await arrival('hang-headers');
    await record.closed;
    expect(record.closedEarly).toBe(true);
  });

  it.each([
    ['a scrubbed text body', 'brief', 'text/plain'],
    ['a relayed binary body', 'briefRaw', 'application/octet-stream'],
  ])('hangs mid-body (%s) past timeoutMs: the client connection is cut, the upstream one closed, and the audit line says why', async (_name, service, type) => {
    const requestId = `hang-body-${service}`;
    const outcome = await send(`/forward/${service}/hang-body?type=${encodeURIComponent(type)}`, { requestId });
    if (outcome.status === 200 || outcome.status === 0) {
      expect(outcome.ending).not.toBe('end');
    } else {
      // Nothing had reached the client yet (the scrubber held the first bytes back): a clean error.
      expect(service).toBe('brief');
      expect(expectProxyError(asAnswer(outcome), 504, 'UPSTREAM_TIMEOUT', 'upstream').message).toContain('went silent mid-body');
    }
    const record = await arrival('hang-body');
    await record.closed;
    expect(record.closedEarly).toBe(true);
    await waitFor('the audit line', () => auditLines(requestId).length === 1);
    expect(auditLines(requestId)[0]).toMatchObject({ errorCode: 'UPSTREAM_TIMEOUT', errorSource: 'upstream' });
  });

  it.each([
    ['a scrubbed text body', 'brief', 'text/plain'],
    ['a relayed binary body', 'briefRaw', 'application/octet-stream'],
  ])(
    'a client that stops reading (%s) for longer than timeoutMs still gets the whole body: its own slowness is not upstream silence',
    async (_name, service, type) => {
      const total = 8 * 1024 * 1024;
      const outcome = await new Promise<{ received: number; ending: string }>((resolve) => {
        const req = http.get(
          {
            host: '127.0.0.1',
            port,
            path: `/forward/${service}/big/${total}?type=${encodeURIComponent(type)}`,
            agent: false,
            headers: { authorization: `Bearer ${t.tokens.n8n.token}` },
          },
          (res) => {
            let received = 0;
            res.on('data', (chunk: Buffer) => (received += chunk.length));
            res.pause();
            setTimeout(() => res.resume(), HEADER_TIMEOUT_MS * 2);
            res.on('end', () => resolve({ received, ending: 'end' }));
            res.on('aborted', () => resolve({ received, ending: 'aborted' }));
          },
        );
        req.on('error', () => resolve({ received: 0, ending: 'error' }));
      });
      const chunks = total / BIG_CHUNK_SIZE;
      const expected = type.startsWith('text/') ? total - chunks * (SECRET.length - REDACTED.length) : total;
      expect(outcome).toEqual({ received: expected, ending: 'end' });
    },
  );

  it.each([
    ['binary, opted out of scrubbing and relayed untouched', 'application/octet-stream'],
    ['text, scrubbed while streaming', 'text/plain'],
  ])(
    'a 64 MiB body (%s) streams: the client reads its start while the API holds the rest, a client that stops reading stops the API, and all of it arrives intact',
    async (_name, type) => {
      const total = 64 * 1024 * 1024;
      const holdAfter = 4 * BIG_CHUNK_SIZE;
      // What each of the API's chunks must look like at the client: a text chunk with its secret scrubbed, a binary one untouched.
      const sentChunk = bigChunk(type, SECRET);
      const expectedChunk = type.startsWith('text/')
        ? Buffer.concat([sentChunk.subarray(0, BIG_CHUNK_SIZE - SECRET.length), Buffer.from(REDACTED)])
        : sentChunk;
      const client = pacedDownload(`/forward/bulk/big/${total}?type=${encodeURIComponent(type)}&holdAfter=${holdAfter}`, expectedChunk);
      const big = (await arrival('/big/')).big as BigProgress;

      // Streamed, not buffered: a whole chunk reaches the client while the API holds all but its first holdAfter bytes.
      await waitFor(
        'a first chunk at the client while the API holds the rest',
        () => client.received() >= expectedChunk.length || client.finished(),
        LONG_WAIT_MS,
      );
      expect({ received: client.received() >= expectedChunk.length, big: { sent: big.sent, held: big.held, ended: big.ended } }).toEqual({
        received: true,
        big: { sent: holdAfter, held: true, ended: false },
      });

      // Backpressure: the client stops reading; released, the API can write only until the buffers on the way are full
      // (the sockets' kernel buffers hold about 12 MiB here), never the whole body. Memory use is measured by the bench.
      client.pause();
      big.release();
      await untilStalled(big);
      expect(big.ended).toBe(false);
      expect(big.sent - client.received()).toBeLessThan(total / 2);

      // Read on, everything arrives: every byte as expected (scrubbed across chunk boundaries for text), nothing else.
      client.resume();
      const outcome = await client.done;
      expect(outcome).toEqual({
        status: 200,
        errorHeader: undefined,
        ending: 'end',
        received: (total / BIG_CHUNK_SIZE) * expectedChunk.length,
        mismatchAt: null,
      });
      expect(big.ended).toBe(true);
    },
    60_000,
  );

  it.each([500, 502, 503])("the API's own %d is relayed unchanged, with Retry-After and without x-secure-proxy-error", async (status) => {
    const outcome = await send(`/forward/api/api-status/${status}`);
    expect(outcome.status).toBe(status);
    expect(outcome.headers[ERROR_HEADER]).toBeUndefined();
    expect(outcome.headers['retry-after']).toBe(API_RETRY_AFTER);
    expect(outcome.headers['x-api']).toBe('own');
    expect(JSON.parse(outcome.body.toString())).toEqual({ apiError: `the API itself answered ${status}` });
  });

  it('a client that disconnects mid-response: the upstream request is aborted, one audit line, the proxy keeps serving', async () => {
    const requestId = 'client-left-mid-response';
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: '/forward/api/drip',
          agent: false,
          headers: { authorization: `Bearer ${t.tokens.n8n.token}`, 'x-request-id': requestId },
        },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    });
    const record = await arrival('drip');
    await record.closed;
    expect(record.closedEarly).toBe(true);
    await waitFor('the audit line', () => auditLines(requestId).length === 1);
    expect(auditLines(requestId)[0]).toMatchObject({ aborted: true, service: 'api' });
    expect((await send('/forward/api/api-status/500')).status).toBe(500);
  });

  it('a client that disconnects mid-request body: the upstream request is aborted, one audit line, the proxy keeps serving', async () => {
    const requestId = 'client-left-mid-request';
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/forward/api/upload',
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${t.tokens.n8n.token}`,
        'x-request-id': requestId,
        'content-length': 1024 * 1024,
        'content-type': 'application/octet-stream',
      },
    });
    req.on('error', () => undefined); // the cut below is the point of the test
    req.write(Buffer.alloc(64 * 1024, 7));
    const record = await arrival('upload');
    req.destroy();
    await record.closed;
    expect(record).toMatchObject({ bodyComplete: false, closedEarly: true });
    await waitFor('the audit line', () => auditLines(requestId).length === 1);
    expect(auditLines(requestId)[0]).toMatchObject({ aborted: true, status: 499 });
    expect((await send('/forward/api/api-status/502')).status).toBe(502);
  });
});
