/**
 * Does a server pass bodies through as they flow, or hold them until they are complete?
 * Peak memory under load only hints at it (garbage buffers come and go); this asks directly:
 * - upload: the client sends half of a declared body and stops; the half must reach the
 *   upstream while the rest has not even been sent;
 * - download: the upstream sends half of its body and holds the rest; the half must reach
 *   the client before the upstream lets go.
 */
import http from 'node:http';

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
