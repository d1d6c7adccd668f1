/**
 * Where the bytes of upstream connections are read into: one buffer, reused by every read.
 *
 * By default each socket read gets a buffer of its own (up to 64 KiB), which V8 counts as
 * external memory. Relaying a large answer then allocates its size twice, once in read buffers
 * and once in the copies Node's HTTP parser makes of the body, and it is that external
 * memory's growth, more than the heap's, that starts the full garbage collections of a proxy
 * relaying large answers (bench/README.md, "The 1 MiB cases"). The parser copies every body
 * chunk out of what it is given and saves any unfinished head before it returns, so the bytes
 * of one read are dead once its 'data' event has been delivered; reads run one at a time on
 * the event loop, so a single buffer serves every upstream connection.
 *
 * This is Node's `onread` socket option (net.connect and tls.connect both take it, and an
 * agent passes its options on to them). A socket given `onread` hands its reads to the
 * callback instead of emitting them, so the callback emits them: the HTTP client reads its
 * socket through 'data' events. Pausing, the free-socket guard of Node's agent and the socket
 * timeouts work as without it: they act on the handle, not on the emitted chunks.
 */
import type { OnReadOpts, Socket } from 'node:net';

/** A socket read brings at most this much, the size Node's own read buffers have. */
const READ_BUFFER_BYTES = 64 * 1024;

const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/**
 * Delivers one read (`this` is the socket: Node calls the callback as its method). Returns
 * true whatever the listeners: false would pause the socket, and a socket with no 'data'
 * listener (idle in the pool) is the agent's to watch.
 */
function emitRead(this: Socket, bytes: number, buffer: Uint8Array): boolean {
  this.emit('data', Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
  return true;
}

/** The `onread` option of every upstream connection. */
export const UPSTREAM_READS: OnReadOpts = Object.freeze({ buffer: sharedReadBuffer, callback: emitRead });
