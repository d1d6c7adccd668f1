/**
 * Does a server pass bodies through as they flow, or hold them until they are complete?
 * Peak memory under load only hints at it (garbage buffers come and go); the streaming check
 * asks directly:
 * - upload: the client sends half of a declared body and stops; the half must reach the
 *   upstream while the rest has not even been sent;
 * - download: the upstream sends half of its body and holds the rest; the half must reach
 *   the client before the upstream lets go.
 * The large-body check (checkLargeBodies) then measures what one 64 MiB body costs the server
 * in memory, each way, against targets that a buffered body would miss.
 */
import http from 'node:http';
import type { MemoryWatch } from './protocol.ts';
import { firstMismatch } from '../../test/support/byte-pattern.ts';

/** Bytes of each half of a probe body (both directions). */
export const PROBE_HALF_BYTES = 64 * 1024;
/** How long the upstream holds back the second half of a download probe. */
export const PROBE_HOLD_MS = 1500;
const UPLOAD_WAIT_MS = 3000;
const POLL_MS = 20;

export interface StreamingResult {
  upload: { streamed: boolean; upstreamHadBytes: number };
  download: { streamed: boolean; firstByteMs: number };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function receivedByUpstream(upstreamUrl: string, upstreamAuthorization: string): Promise<number> {
  const response = await fetch(`${upstreamUrl}/base/probe/received`, { headers: { authorization: upstreamAuthorization } });
  return ((await response.json()) as { received: number }).received;
}

async function uploadProbe(
  serverUrl: string,
  headers: Record<string, string>,
  upstreamUrl: string,
  upstreamAuthorization: string,
): Promise<StreamingResult['upload']> {
  const half = Buffer.alloc(PROBE_HALF_BYTES, 'u');
  const req = http.request(`${serverUrl}/forward/api/upload`, {
    method: 'POST',
    agent: false,
    headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(2 * half.length) },
  });
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  req.write(half);
  let seen = 0;
  const deadline = performance.now() + UPLOAD_WAIT_MS;
  while (seen < half.length && performance.now() < deadline) {
    await sleep(POLL_MS);
    seen = await receivedByUpstream(upstreamUrl, upstreamAuthorization);
  }
  req.end(half);
  const status = await answered;
  if (status !== 200) throw new Error(`upload probe through ${serverUrl} answered ${status}`);
  return { streamed: seen >= half.length, upstreamHadBytes: seen };
}

function downloadProbe(serverUrl: string, headers: Record<string, string>): Promise<StreamingResult['download']> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(`${serverUrl}/forward/api/probe/held`, { headers, agent: false }, (res) => {
        let firstByteMs = Number.POSITIVE_INFINITY;
        res.once('data', () => {
          firstByteMs = performance.now() - started;
        });
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`download probe through ${serverUrl} answered ${res.statusCode}`));
          // Buffered, the first byte could only come after the upstream's hold.
          else resolve({ streamed: firstByteMs < PROBE_HOLD_MS / 2, firstByteMs });
        });
      })
      .on('error', reject);
  });
}

/** Runs both probes through the server at `serverUrl` (one at a time, nothing else running). */
export async function checkStreaming(
  serverUrl: string,
  clientHeaders: Record<string, string>,
  upstreamUrl: string,
  upstreamAuthorization: string,
): Promise<StreamingResult> {
  return {
    upload: await uploadProbe(serverUrl, clientHeaders, upstreamUrl, upstreamAuthorization),
    download: await downloadProbe(serverUrl, clientHeaders),
  };
}

/** One line for the report. */
export function describeStreaming(name: string, result: StreamingResult): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
  const upload = result.upload.streamed
    ? `streams (upstream had ${kib(result.upload.upstreamHadBytes)} while the client held back the second half)`
    : `BUFFERED (upstream had ${kib(result.upload.upstreamHadBytes)} of the first ${kib(PROBE_HALF_BYTES)} after ${UPLOAD_WAIT_MS} ms)`;
  const download = result.download.streamed
    ? `streams (first byte after ${result.download.firstByteMs.toFixed(0)} ms; upstream held the rest ${PROBE_HOLD_MS} ms)`
    : `BUFFERED (first byte after ${result.download.firstByteMs.toFixed(0)} ms; upstream held the rest ${PROBE_HOLD_MS} ms)`;
  return `${name}: upload ${upload}; download ${download}.`;
}

/**
 * The large-body memory check: one LARGE_PROBE_BYTES body through a server in each direction,
 * nothing else running, while the server samples its own memory (lib/child.ts). A server that
 * streams holds a few socket buffers' worth of it at a time; one that buffers holds all of it.
 * The download is text that echoes the upstream's credential at the end of every chunk, so the
 * proxy scrubs it all the way (and the check verifies every byte that arrives).
 */
/** MiB of the large bodies: 1 GiB (64 MiB in the smoke run), or `BENCH_LARGE_MIB`; every bench process reads the same environment. */
export const LARGE_PROBE_MIB = largeProbeMib(process.env.BENCH_LARGE_MIB);
export const LARGE_PROBE_BYTES = LARGE_PROBE_MIB * 1024 * 1024;
export const LARGE_PROBE_CHUNK_BYTES = 64 * 1024;
/**
 * Targets for the growth over the start of a transfer, in MiB, whatever the body's size.
 * Resident memory: 64 MiB, the product's bound for a body of any size. Live memory (heap plus
 * Buffers, after a full GC) is what a held body would occupy; streaming holds a few socket
 * buffers of it at a time.
 */
export const LIVE_GROWTH_TARGET_MIB = 32;
export const RSS_GROWTH_TARGET_MIB = 64;

function largeProbeMib(raw: string | undefined): number {
  if (raw === undefined || raw === '') return process.env.BENCH_SMOKE === '1' ? 64 : 1024;
  const mib = Number(raw);
  if (!Number.isInteger(mib) || mib < 1) throw new Error(`BENCH_LARGE_MIB must be a whole number of MiB, got "${raw}"`);
  return mib;
}

const REDACTED = Buffer.from('[REDACTED]');

/** One chunk of the large download as the upstream sends it: filler, then `secret`. */
export function largeProbeChunk(secret: string): Buffer {
  const chunk = Buffer.alloc(LARGE_PROBE_CHUNK_BYTES, 'a');
  Buffer.from(secret).copy(chunk, LARGE_PROBE_CHUNK_BYTES - Buffer.byteLength(secret));
  return chunk;
}

/** The same chunk as a scrubbing server relays it. */
function scrubbedProbeChunk(secret: string): Buffer {
  const chunk = largeProbeChunk(secret);
  return Buffer.concat([chunk.subarray(0, LARGE_PROBE_CHUNK_BYTES - Buffer.byteLength(secret)), REDACTED]);
}

export interface LargeBodyResult {
  direction: 'download' | 'upload';
  /** Body bytes the client received (download) or sent (upload). */
  bytes: number;
  seconds: number;
  /** What was wrong with the answer, or null when every byte was as expected. */
  problem: string | null;
  watch: MemoryWatch;
}

/** Starts a memory watch in the server under test; the function it returns stops it. */
type WatchMemory = () => Promise<() => Promise<MemoryWatch>>;

async function largeDownload(url: string, headers: Record<string, string>, expectedChunk: Buffer): Promise<Omit<LargeBodyResult, 'watch' | 'seconds'>> {
  const expectedBytes = (LARGE_PROBE_BYTES / LARGE_PROBE_CHUNK_BYTES) * expectedChunk.length;
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        let bytes = 0;
        let mismatchAt: number | null = null;
        res.on('data', (chunk: Buffer) => {
          if (mismatchAt === null) {
            const at = firstMismatch(chunk, expectedChunk, bytes);
            if (at !== null) mismatchAt = bytes + at;
          }
          bytes += chunk.length;
        });
        res.on('end', () => {
          const problem =
            res.statusCode !== 200
              ? `answered ${res.statusCode}`
              : mismatchAt !== null
                ? `byte ${mismatchAt} differs from what the upstream sent (scrubbed where the server scrubs)`
                : bytes !== expectedBytes
                  ? `received ${bytes} bytes, expected ${expectedBytes}`
                  : null;
          resolve({ direction: 'download', bytes, problem });
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function largeUpload(url: string, headers: Record<string, string>): Promise<Omit<LargeBodyResult, 'watch' | 'seconds'>> {
  const chunk = Buffer.alloc(LARGE_PROBE_CHUNK_BYTES, 'u');
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(LARGE_PROBE_BYTES) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const expected = `{"received":${LARGE_PROBE_BYTES}}`;
        resolve({
          direction: 'upload',
          bytes: LARGE_PROBE_BYTES,
          problem: res.statusCode === 200 && text === expected ? null : `answered ${res.statusCode} ${text}`,
        });
      });
    });
    req.on('error', reject);
    let sent = 0;
    const writeMore = (): void => {
      while (sent < LARGE_PROBE_BYTES) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', writeMore);
          return;
        }
      }
      req.end();
    };
    writeMore();
  });
}

/**
 * Sends one large body each way through `serviceUrl` (`<server>/forward/<service>`) while the
 * server watches its memory. `scrubs`: whether the server replaces `secret` in text answers.
 */
export async function checkLargeBodies(
  serviceUrl: string,
  headers: Record<string, string>,
  watchMemory: WatchMemory,
  secret: string,
  scrubs: boolean,
): Promise<LargeBodyResult[]> {
  const expectedChunk = scrubs ? scrubbedProbeChunk(secret) : largeProbeChunk(secret);
  const transfers = [() => largeDownload(`${serviceUrl}/probe/big`, headers, expectedChunk), () => largeUpload(`${serviceUrl}/upload`, headers)];
  const results: LargeBodyResult[] = [];
  for (const transfer of transfers) {
    const stop = await watchMemory();
    const started = performance.now();
    const result = await transfer();
    const seconds = (performance.now() - started) / 1000;
    results.push({ ...result, seconds, watch: await stop() });
  }
  return results;
}

/** PASS or MISS for each target of one transfer. */
export function largeBodyVerdicts(result: LargeBodyResult): { live: 'PASS' | 'MISS'; rss: 'PASS' | 'MISS' } {
  const { watch } = result;
  return {
    live: watch.peakLive - watch.startLive < LIVE_GROWTH_TARGET_MIB ? 'PASS' : 'MISS',
    rss: watch.peakRss - watch.startRss < RSS_GROWTH_TARGET_MIB ? 'PASS' : 'MISS',
  };
}
