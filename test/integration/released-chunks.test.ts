/**
 * Relayed body chunks give their memory back once written (forward/release-chunk.ts), both
 * ways: answers to the client and uploads to the upstream, and so do the reads of the
 * upstream connection an answer streams from. A chunk released while anything
 * still needed it would read as empty, so every byte must arrive, with both sides holding
 * back (writes queue, and their callbacks come late), and the released bytes must add up to
 * most of what was relayed.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { releasedBytesDuring } from '../support/released-bytes';
import { canary, listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';

const MIB = 1024 * 1024;
const DOWNLOAD = randomBytes(4 * MIB + 77);
const UPLOAD = randomBytes(4 * MIB + 55);
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('relayed body chunks are released once written', () => {
  let harness: ProxyHarness;
  let upstream: http.Server;
  let t: TestProxy;
  let listener: ProxyListener;
  const client = new http.Agent({ keepAlive: true });

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(DOWNLOAD.length) });
        res.end(DOWNLOAD);
        return;
      }
      // An upload: read late, so the proxy's writes queue behind the upstream.
      const hash = createHash('sha256');
      let bytes = 0;
      req.pause();
      setTimeout(() => req.resume(), 150);
      req.on('data', (part: Buffer) => {
        hash.update(part);
        bytes += part.length;
      });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    harness = await startHarness({ 'svc/api': { token: canary('released') } });
    t = await startProxy(harness, (_base, token) => ({
      logging: { level: 'info' },
      clients: { n8n: { tokenHashes: [token('n8n').hash], services: ['api'] } },
      services: {
        api: { target: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/base`, secret: 'svc/api', inject: { type: 'bearer' } },
      },
    }));
    listener = await listenProxy(t);
  });

  afterAll(async () => {
    client.destroy();
    await listener?.close();
    await t?.proxy.stop();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
    await harness?.close();
  });

  const auth = () => ({ authorization: `Bearer ${t.tokens.n8n.token}` });

  function download(holdMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      http
        .get(`${listener.url}/forward/api/file`, { agent: client, headers: auth() }, (res) => {
          const parts: Buffer[] = [];
          res.pause();
          setTimeout(() => res.resume(), holdMs);
          res.on('data', (part: Buffer) => parts.push(part));
          res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`status ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  }

  /** Uploads UPLOAD in pieces, with a declared length or chunked; resolves with what the upstream counted. */
  function upload(chunked: boolean): Promise<{ bytes: number; sha256: string }> {
    return new Promise((resolve, reject) => {
      const headers = { ...auth(), 'content-type': 'application/octet-stream', ...(chunked ? {} : { 'content-length': String(UPLOAD.length) }) };
      const req = http.request(`${listener.url}/forward/api/upload`, { method: 'POST', agent: client, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => (text += part));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(text) as { bytes: number; sha256: string }) : reject(new Error(`status ${res.statusCode}: ${text}`)),
        );
      });
      req.on('error', reject);
      const write = async (): Promise<void> => {
        for (let at = 0; at < UPLOAD.length; at += 300_000) {
          if (!req.write(UPLOAD.subarray(at, at + 300_000))) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      };
      void write();
    });
  }

  it('answers: every byte reaches readers that hold back, and most of the bytes were released', async () => {
    const { result: bodies, released } = await releasedBytesDuring(() => Promise.all([download(50), download(300), download(0)]));
    for (const body of bodies) expect({ length: body.length, sha256: sha256(body) }).toEqual({ length: DOWNLOAD.length, sha256: sha256(DOWNLOAD) });
    // Per answer, the proxy's reads of the upstream connection and the parser's copies of the
    // body: up to six times DOWNLOAD in all (the client's own reads are not released).
    expect(released).toBeGreaterThan(4 * DOWNLOAD.length);
  });

  it('uploads, with a length and chunked: every byte reaches an upstream that holds back, and most were released', async () => {
    const { result: counted, released } = await releasedBytesDuring(() => Promise.all([upload(false), upload(true)]));
    for (const answer of counted) expect(answer).toEqual({ bytes: UPLOAD.length, sha256: sha256(UPLOAD) });
    expect(released).toBeGreaterThan(UPLOAD.length);
  });
});
