/**
 * watchRequestBody on a real loopback listener, fed raw bytes: a request whose body has been
 * parsed to the end with nothing buffered gets no watcher at all, while every request that
 * still carries body bytes is counted and timed, and a stop is reported once (the handler here
 * answers it as the exchange does: the contract error with `Connection: close`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ProxyError, refuse } from '../../../proxy/src/contract/proxy-error';
import { newContext } from '../../../proxy/src/app/request-context';
import { watchRequestBody, type BodyLimits } from '../../../proxy/src/forward/body-limit';
import { expectNothingHidden, expectProxyError } from '../../support/proxy-assertions';
import { canary } from '../../support/proxy-harness';
import { rawExchange, type RawAnswer } from '../../support/raw-socket';

const LIMITS: BodyLimits = { service: 'echo', maxBytes: 64, idleTimeoutMs: 50 };
/** Sent inside request bodies (36 bytes): a refusal must never quote it back. */
const BODY_CANARY = canary('body');

/** What the handler saw right after watchRequestBody returned. */
interface Seen {
  watched: boolean;
  stops: ProxyError[];
  dataListeners: number;
  flowing: boolean | null;
}

describe('watchRequestBody', () => {
  let server: http.Server;
  let port: number;
  let seen: Seen[];

  beforeAll(async () => {
    const app = express();
    app.use(async (req, res) => {
      // The forwarding stage awaits the secret before it watches the body.
      await new Promise(setImmediate);
      res.locals.ctx = newContext('body-test');
      res.setHeader('x-request-id', 'body-test');
      const stops: ProxyError[] = [];
      const watched = watchRequestBody(req, LIMITS, (error) => {
        stops.push(error);
        res.setHeader('connection', 'close');
        refuse(res, error);
      });
      seen.push({ watched, stops, dataListeners: req.listenerCount('data'), flowing: req.readableFlowing });
      // Drains the body as the forwarding pipe would, then answers with its length.
      let length = 0;
      req.on('data', (chunk: Buffer) => (length += chunk.length));
      req.on('end', () => {
        if (!res.headersSent) res.end(`received ${length}`);
      });
      req.resume();
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    seen = [];
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function send(head: string, body = ''): Promise<RawAnswer> {
    return rawExchange(port, [`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n${body}`]);
  }

  function asAnswer(answer: RawAnswer) {
    return { status: answer.status, headers: answer.headers, text: answer.body };
  }

  it.each([
    ['a GET', 'GET /x HTTP/1.1'],
    ['a HEAD', 'HEAD /x HTTP/1.1'],
    ['a DELETE', 'DELETE /x HTTP/1.1'],
    ['a POST with Content-Length: 0', 'POST /x HTTP/1.1\r\nContent-Length: 0'],
    ['a chunked POST with only the last chunk', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked'],
  ])('%s without body bytes gets no watcher', async (_name, head) => {
    const body = head.includes('chunked') ? '0\r\n\r\n' : '';
    const answer = await send(head, body);
    expect(answer.status).toBe(200);
    expect(answer.headers['x-secure-proxy-error']).toBeUndefined();
    // No listener of the watcher's, and the stream was left as it was (not paused).
    expect(seen).toEqual([{ watched: false, stops: [], dataListeners: 0, flowing: null }]);
  });

  it('a body within the limit is watched and forwarded whole', async () => {
    const answer = await send(`POST /x HTTP/1.1\r\nContent-Length: ${BODY_CANARY.length}`, BODY_CANARY);
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: `received ${BODY_CANARY.length}` });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ watched: true, dataListeners: 1, flowing: false });
    expect(seen[0].stops).toEqual([]);
  });

  it('a chunked body that had fully arrived, over the limit, is still stopped: 413 BODY_TOO_LARGE', async () => {
    const body = `${BODY_CANARY}${BODY_CANARY}`;
    const answer = await send('POST /x HTTP/1.1\r\nTransfer-Encoding: chunked', `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const error = expectProxyError(asAnswer(answer), 413, 'BODY_TOO_LARGE', 'proxy');
    expect(error.message).toContain('services.echo.maxBodyBytes');
    expect(answer.headers.connection).toBe('close');
    expect(seen).toHaveLength(1);
    expect(seen[0].stops.map((e) => e.code)).toEqual(['BODY_TOO_LARGE']);
    expectNothingHidden([answer.transcript], [BODY_CANARY]);
  });

  it('a body that stops arriving is stopped after idleTimeoutMs: 408 REQUEST_TIMEOUT', async () => {
    const answer = await send(`POST /x HTTP/1.1\r\nContent-Length: ${LIMITS.maxBytes}`, BODY_CANARY);
    const error = expectProxyError(asAnswer(answer), 408, 'REQUEST_TIMEOUT', 'proxy');
    expect(error.message).toContain('listen.bodyTimeoutMs');
    expect(answer.headers.connection).toBe('close');
    expect(seen).toHaveLength(1);
    expect(seen[0].stops.map((e) => e.code)).toEqual(['REQUEST_TIMEOUT']);
    expectNothingHidden([answer.transcript], [BODY_CANARY]);
  });
});
