/** Which relayed chunks may have their memory released once written, and what releasing does. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { releasedBytesDuring } from '../../support/released-bytes';
import { isReleasable, releaseChunk, releaseParsedReads, releaseWrittenBodyChunks } from '../../../proxy/src/forward/release-chunk';

const KIB = 1024;

describe('isReleasable', () => {
  it('accepts a chunk that is the whole of its own memory', () => {
    expect(isReleasable(Buffer.allocUnsafeSlow(64 * KIB))).toBe(true);
    expect(isReleasable(Buffer.from(new ArrayBuffer(8 * KIB)))).toBe(true);
  });

  it.each([
    ['smaller than 8 KiB', () => Buffer.allocUnsafeSlow(8 * KIB - 1)],
    ['a view from an offset', () => Buffer.allocUnsafeSlow(64 * KIB).subarray(1)],
    ['a view of the first part', () => Buffer.allocUnsafeSlow(64 * KIB).subarray(0, 32 * KIB)],
    ['from the small-buffer pool', () => Buffer.from('pooled')],
    ['on shared memory', () => Buffer.from(new SharedArrayBuffer(64 * KIB))],
    [
      'released already',
      () => {
        const chunk = Buffer.allocUnsafeSlow(64 * KIB);
        releaseChunk(chunk);
        return chunk;
      },
    ],
  ])('refuses a chunk %s', (_what, make) => {
    expect(isReleasable(make())).toBe(false);
  });
});

describe('releaseChunk', () => {
  it('frees the memory: the chunk reads as empty, and a second release is a no-op', () => {
    const chunk = Buffer.allocUnsafeSlow(64 * KIB).fill(7);
    const memory = chunk.buffer;
    releaseChunk(chunk);
    expect(memory.detached).toBe(true);
    expect(chunk.length).toBe(0);
    expect(() => releaseChunk(chunk)).not.toThrow();
  });
});

describe('releaseWrittenBodyChunks', () => {
  let server: http.Server;
  let received: Buffer;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      // Read late, so the writes queue and their callbacks come after the socket took the bytes.
      req.pause();
      setTimeout(() => req.resume(), 100);
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        received = Buffer.concat(parts);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('releases each large chunk once written, and only then; the upstream gets every byte', async () => {
    const chunks = [
      Buffer.allocUnsafeSlow(64 * KIB).fill(1),
      Buffer.allocUnsafeSlow(1 * KIB).fill(2),
      Buffer.allocUnsafeSlow(64 * KIB).fill(3),
      Buffer.from('tail'),
    ];
    const expected = Buffer.concat(chunks);
    const req = http.request({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      method: 'POST',
      headers: { 'content-length': String(expected.length) },
    });
    releaseWrittenBodyChunks(req);
    const callbacks: string[] = [];
    // The first chunk as httpxy's pipe writes it; the third with a callback of its own (never released).
    req.write(chunks[0]);
    expect(chunks[0].length).toBe(64 * KIB); // not released before it was written
    req.write(chunks[1]);
    req.write(chunks[2], () => callbacks.push('own callback'));
    req.end(chunks[3]);
    const status = await new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
    expect(received.equals(expected)).toBe(true);
    expect(chunks.map((chunk) => chunk.length)).toEqual([0, 1 * KIB, 64 * KIB, 4]);
    expect(callbacks).toEqual(['own callback']);
  });
});

describe('releaseParsedReads', () => {
  const BODY = randomBytes(1024 * KIB + 3);
  let server: http.Server;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      // Declared length or chunked, written in pieces: reads carry parts of several pieces.
      if (req.url === '/chunked') res.writeHead(200);
      else res.writeHead(200, { 'content-length': String(BODY.length) });
      for (let at = 0; at < BODY.length; at += 100 * KIB) res.write(BODY.subarray(at, at + 100 * KIB));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** GETs `path` on the shared connection; `release` applies releaseParsedReads to the answer. */
  function get(path: string, release: boolean): Promise<{ body: Buffer; reused: boolean; dataListenersAfter: number }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path, agent }, (res) => {
        if (release) releaseParsedReads(res);
        const socket = res.socket;
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          // What stays on the connection once the answer ended (Node's own listeners are gone too).
          const dataListenersAfter = socket.listenerCount('data');
          resolve({ body: Buffer.concat(parts), reused: req.reusedSocket, dataListenersAfter });
        });
      });
      req.on('error', reject);
    });
  }

  it.each(['/declared', '/chunked'])(
    '%s: releases the reads of a streamed answer once parsed, every byte arrives, and the pooled connection is left as it was',
    async (path) => {
      const first = await releasedBytesDuring(() => get(path, true));
      expect(first.result.body.equals(BODY)).toBe(true);
      // Most of the answer came in reads of 8 KiB or more (the head's read may carry body too).
      expect(first.released).toBeGreaterThan(BODY.length / 2);
      expect(first.result.dataListenersAfter).toBe(0);

      // The next request on the same connection: nothing of the first answer's release is left on it.
      const second = await releasedBytesDuring(() => get(path, false));
      expect(second.result.reused).toBe(true);
      expect(second.result.body.equals(BODY)).toBe(true);
      expect(second.released).toBe(0);
    },
  );

  it('adds nothing to a connection whose answer is complete already', async () => {
    const small = http.createServer((_req, res) => res.end('all of it'));
    await new Promise<void>((resolve) => small.listen(0, '127.0.0.1', resolve));
    try {
      const dataListeners = await new Promise<{ before: number; after: number }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: (small.address() as AddressInfo).port, agent: false }, (res) => {
            res.resume();
            res.on('end', () => {
              const before = res.socket.listenerCount('data');
              releaseParsedReads(res);
              resolve({ before, after: res.socket.listenerCount('data') });
            });
          })
          .on('error', reject);
      });
      expect(dataListeners.after).toBe(dataListeners.before);
    } finally {
      small.closeAllConnections();
      await new Promise((resolve) => small.close(resolve));
    }
  });
});
