/**
 * Bytes on a bare TCP connection, for what no HTTP client will send: CR or LF inside a header
 * value, duplicate Content-Length, Content-Length with Transfer-Encoding, oversized or slow
 * headers, stalled bodies, CONNECT. The connection is driven step by step (write, wait for a
 * condition, write more, or cut it) and the first answer read back is split into status,
 * headers and body.
 */
import net from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed the connection without answering. */
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
  /** Everything received, for "never contains" assertions. */
  transcript: string;
  /** The socket error the client saw (e.g. ECONNRESET after the answer), if any. */
  socketError: string | null;
}

/** One step of a conversation: bytes to write, or a wait for a condition before the next step. */
export type RawStep = string | Buffer | { until: () => boolean } | { cut: true };

const POLL_MS = 5;
const WAIT_LIMIT_MS = 5_000;

/** Resolves once `condition()` holds; rejects after a generous limit so a broken test ends. */
export async function waitUntil(condition: () => boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${WAIT_LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

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
export function parseAnswer(transcript: string, socketError: string | null): RawAnswer {
  const headEnd = transcript.indexOf('\r\n\r\n');
  if (!transcript.startsWith('HTTP/') || headEnd === -1) return { status: 0, headers: {}, body: '', transcript, socketError };
  const [statusLine, ...lines] = transcript.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rawBody = transcript.slice(headEnd + 4);
  const length = headers['content-length'];
  const body = headers['transfer-encoding'] === 'chunked' ? dechunk(rawBody) : length === undefined ? rawBody : rawBody.slice(0, Number(length));
  return { status: Number(statusLine.split(' ')[1]), headers, body, transcript, socketError };
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
    let socketError: string | null = null;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      socketError = err.code ?? err.name;
    });
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'), socketError)));
    socket.once('connect', () => {
      void (async () => {
        for (const step of steps) {
          if (socket.destroyed) return;
          if (typeof step === 'string' || Buffer.isBuffer(step)) socket.write(step);
          else if ('until' in step) await waitUntil(step.until, 'raw exchange step');
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
