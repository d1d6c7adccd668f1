/**
 * Gives a relayed body chunk's memory back as soon as its bytes are written, and a read of the
 * upstream connection's as soon as Node's HTTP parser copied the body out of it, instead of at
 * the next full garbage collection.
 *
 * Body chunks live outside V8's heap (ArrayBuffer memory, which V8 counts as external), and V8
 * starts a full collection, which marks the whole heap, each time external memory has grown
 * by 64 MiB since the last one. Chunks die young, but a relay allocates almost nothing else,
 * so the young-generation collections that would free them rarely run: relaying large bodies
 * set off a full collection every few dozen requests (bench/README.md, "The 1 MiB cases").
 * Detaching a chunk's ArrayBuffer once it is written frees its memory at once and takes it off
 * that count.
 *
 * Only for a chunk that is the whole of its own memory, created for it and held by no one else:
 * what Node's HTTP parser hands out for each piece of a body (a copy, made per 'data' event),
 * or a decoder's output that filled its output buffer (zlib then allocates the next one). A
 * view into a larger or pooled buffer (part of a decoder's output buffer, Node's small-buffer
 * pool) is left to the collector.
 */

import { ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** Smaller chunks are not worth the call: they add little to the count. */
const MIN_RELEASED_BYTES = 8 * 1024;

/** True when `chunk` may be released once written (see above). */
export function isReleasable(chunk: Buffer): boolean {
  const memory = chunk.buffer;
  return (
    chunk.byteLength >= MIN_RELEASED_BYTES &&
    chunk.byteOffset === 0 &&
    memory instanceof ArrayBuffer &&
    !memory.detached &&
    memory.byteLength === chunk.byteLength
  );
}

/**
 * Frees the memory of `chunk`, which must pass {@link isReleasable} and whose bytes nothing
 * will read again (written, or dropped): afterwards it reads as empty.
 */
export function releaseChunk(chunk: Buffer): void {
  const memory = chunk.buffer as ArrayBuffer;
  // A detached buffer would throw: the chunk was released already.
  if (!memory.detached) memory.transfer(0);
}

type Write = (this: ClientRequest, ...args: unknown[]) => boolean;
// Always called with the upstream request as `this` (below).
// eslint-disable-next-line @typescript-eslint/unbound-method
const clientRequestWrite = ClientRequest.prototype.write as Write;

/**
 * Makes `upstreamReq` release each request-body chunk once it is written to the upstream.
 * httpxy pipes the client's body into the upstream request with `write(chunk)`; this request's
 * own `write` adds the callback that releases the chunk (Node calls it once the socket took the
 * bytes, or the write failed). Chunks are the parser's copies, seen before only by the body
 * limit's counter; a body read whole (for a signature) is sent with `end`, never released.
 */
export function releaseWrittenBodyChunks(upstreamReq: ClientRequest): void {
  upstreamReq.write = writeThenRelease as ClientRequest['write'];
}

function writeThenRelease(this: ClientRequest, chunk: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0 && Buffer.isBuffer(chunk) && isReleasable(chunk)) return clientRequestWrite.call(this, chunk, () => releaseChunk(chunk));
  return clientRequestWrite.call(this, chunk, ...rest);
}

/**
 * Makes the connection of `proxyRes`, a streamed answer, release each read once Node's HTTP
 * parser took the answer's bytes out of it, until the answer ended or closed.
 *
 * Each read of a socket is a new buffer. The client's parser is the socket's first 'data'
 * listener (Node adds it when the request gets its socket; the answer's head came through it)
 * and copies every piece of body out of the read, keeping nothing of the read itself; a
 * listener added after it is the read's last user. Released only while the connection is
 * sound: with a parse error Node keeps the read on the error (`rawPacket`) and destroys the
 * socket first. The listener goes before the connection can carry another request: Node
 * pools it only after the answer's 'end' listeners ran.
 */
export function releaseParsedReads(proxyRes: IncomingMessage): void {
  const socket = proxyRes.socket;
  // Complete: the parser has let go of the connection, and later reads are not the answer's.
  if (socket === null || proxyRes.complete) return;
  socket.on('data', releaseParsedRead);
  const stop = (): void => {
    socket.off('data', releaseParsedRead);
  };
  proxyRes.once('end', stop);
  proxyRes.once('close', stop);
}

function releaseParsedRead(this: Socket, read: Buffer): void {
  if (!this.destroyed && isReleasable(read)) releaseChunk(read);
}
