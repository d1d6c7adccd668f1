/**
 * Bytes on a bare TCP connection, for what no HTTP client will send: CR or LF inside a header
 * value, duplicate Content-Length, Content-Length with Transfer-Encoding, oversized or slow
 * headers, stalled bodies, CONNECT. The connection is driven step by step (write, wait for a
 * condition, write more, or cut it) and the first answer read back is split into status,
 * headers and body.
 */
import net from 'node:net';
import { waitFor } from './secrets-harness';

export interface RawAnswer {
  /** 0 when the server closed the connection without answering. */
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
  /** Everything received, for "never contains" assertions. */
  transcript: string;
}

/** One step of a conversation: bytes to write, or a wait for a condition before the next step. */
export type RawStep = string | Buffer | { until: () => boolean } | { cut: true };

// A step waits for what the server just did (a timeout firing, bytes read): poll finely.
const STEP_POLL_MS = 5;

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    if (lineEnd === -1) return out;
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 4 + size);
  }
}

/** Splits the first HTTP/1.1 answer in `transcript`. */
function parseAnswer(transcript: string): RawAnswer {
  const headEnd = transcript.indexOf('\r\n\r\n');
  if (!transcript.startsWith('HTTP/') || headEnd === -1) return { status: 0, headers: {}, body: '', transcript };
  const [statusLine, ...lines] = transcript.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rawBody = transcript.slice(headEnd + 4);
  const length = headers['content-length'];
  const body = headers['transfer-encoding'] === 'chunked' ? dechunk(rawBody) : length === undefined ? rawBody : rawBody.slice(0, Number(length));
  return { status: Number(statusLine.split(' ')[1]), headers, body, transcript };
}

/**
 * Connects to 127.0.0.1:`port`, runs the steps in order, then waits for the server to close
 * the connection (send `Connection: close` on requests the server would keep open). A `cut`
 * step destroys the connection from the client side and ends the exchange.
 */
export function rawExchange(port: number, steps: readonly RawStep[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after (or instead of) the answer is part of what is tested: 'close' follows and resolves.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'))));
    socket.once('connect', () => {
      void (async () => {
        for (const step of steps) {
          if (socket.destroyed) return;
          if (typeof step === 'string' || Buffer.isBuffer(step)) socket.write(step);
          else if ('until' in step) await waitFor('a raw exchange step', step.until, 5_000, STEP_POLL_MS);
          else {
            socket.destroy();
            return;
          }
        }
      })().catch((err: unknown) => {
        socket.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  });
}
