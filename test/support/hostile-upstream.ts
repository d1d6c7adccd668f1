/**
 * A hostile API on 127.0.0.1 that answers with raw bytes, so it can send what no HTTP server
 * library would: control characters in the status line, status codes below 100, interim and
 * protocol-switch answers, conflicting framing, invalid chunks, oversized or malformed headers,
 * answers that stop early, hang or keep talking after they are done.
 *
 * Each request's path names its scene (the last segment, `/base/<scene>`); a scene is a list
 * of steps run on the connection once the request head has arrived. A connection whose scene
 * neither ended nor hung takes the next request (keep-alive), as an API's would. In written bytes,
 * `{{secret}}` becomes the credential the request carried (the bearer token, else `x-api-key`),
 * byte for byte as it arrived, so an answer can echo the injected secret anywhere.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** One step of a scene: bytes to write, a pause, or how the connection ends. */
export type HostileStep =
  | string
  | Buffer
  | { wait: number }
  /** Half-close: FIN after what was written (the socket stays readable). */
  | { end: true }
  /** Destroy the socket at once (no FIN for what is still queued). */
  | { destroy: true }
  /** Stop here and keep the connection open until the other side closes it. */
  | { hang: true }
  /** Bytes computed from the request head (raw, latin1) and its credential. */
  | { compute: (head: string, secret: Buffer) => string | Buffer };

/** A scene's steps, or a function of the request head (raw, latin1) choosing them. */
export type Scene = readonly HostileStep[] | ((head: string) => readonly HostileStep[]);

export interface HostileConnection {
  scene: string;
  /** The raw request head (latin1). */
  head: string;
  /** The peer (the proxy) closed the connection, or it was reset. */
  closed: boolean;
}

export interface HostileUpstream {
  url: string;
  connections: HostileConnection[];
  close(): Promise<void>;
}

const HEAD_END = '\r\n\r\n';
/** A request head longer than this is not waited for: the scene runs on what arrived. */
const MAX_HEAD = 64 * 1024;

/** The credential a request carried, as raw bytes. */
function credentialOf(head: string): Buffer {
  const bearer = /\r\nauthorization: *Bearer ([^\r\n]*)/i.exec(head);
  const key = /\r\nx-api-key: *([^\r\n]*)/i.exec(head);
  return Buffer.from(bearer?.[1] ?? key?.[1] ?? '', 'latin1');
}

/** Replaces `{{secret}}` in `text` (a latin1 string of bytes) with the credential's bytes. */
export function withSecret(text: string | Buffer, secret: Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const marker = Buffer.from('{{secret}}');
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(marker); at !== -1; at = bytes.indexOf(marker, from)) {
    parts.push(bytes.subarray(from, at), secret);
    from = at + marker.length;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

function sceneName(head: string): string {
  const target = head.slice(0, head.indexOf('\r\n')).split(' ')[1] ?? '/';
  const path = target.split('?', 1)[0];
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Plays the steps; resolves true when the connection may carry another request (it was neither ended, destroyed nor left hanging). */
async function play(socket: net.Socket, steps: readonly HostileStep[], head: string, timers: Set<NodeJS.Timeout>): Promise<boolean> {
  const secret = credentialOf(head);
  for (const step of steps) {
    if (socket.destroyed) return false;
    if (typeof step === 'string' || Buffer.isBuffer(step)) socket.write(withSecret(step, secret));
    else if ('compute' in step) socket.write(withSecret(step.compute(head, secret), secret));
    else if ('wait' in step) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, step.wait);
        timers.add(timer);
      });
    } else if ('end' in step) {
      socket.end();
      return false;
    } else if ('destroy' in step) {
      socket.destroy();
      return false;
    } else return false; // hang
  }
  return !socket.destroyed;
}

/** Starts the hostile API with its scenes; an unknown scene answers 404. */
export async function startHostileUpstream(scenes: Readonly<Record<string, Scene>>): Promise<HostileUpstream> {
  const connections: HostileConnection[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    let record: HostileConnection | null = null;
    /** A scene is playing, or left the connection hanging: bytes that arrive now are not a new request. */
    let busy = false;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (record !== null) record.closed = true;
    });
    const next = (): void => {
      if (busy) return;
      const end = buffered.indexOf(HEAD_END);
      if (end === -1 && buffered.length < MAX_HEAD) return;
      const head = end === -1 ? buffered : buffered.slice(0, end);
      // Requests carry no body here (GET): what follows the head is the next request, if any.
      buffered = end === -1 ? '' : buffered.slice(end + HEAD_END.length);
      const name = sceneName(head);
      record = { scene: name, head, closed: false };
      connections.push(record);
      const scene = Object.hasOwn(scenes, name) ? scenes[name] : ['HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'];
      busy = true;
      void play(socket, typeof scene === 'function' ? scene(head) : scene, head, timers).then((reusable) => {
        if (!reusable) return;
        busy = false;
        next();
      });
    };
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    close() {
      for (const timer of timers) clearTimeout(timer);
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
