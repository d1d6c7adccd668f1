/**
 * Pooled keep-alive connections (to an upstream, a token endpoint or Vault) and the servers
 * that close them when they idle.
 */

/**
 * How long an idle pooled connection is kept. Node shortens it to the server's
 * `Keep-Alive: timeout=N` hint minus a second, but only when an agent timeout is set at all.
 * Servers that close idle connections without a hint (uvicorn 5 s, gunicorn 2 s) would race a
 * longer value; under load connections never idle this long, so the pools stay warm.
 */
export const FREE_SOCKET_TIMEOUT_MS = 4_000;

/**
 * True when a request failed because it went out on a pooled connection the server had
 * already closed: the connection was reset or hung up (`code`) before any answer, and the
 * request had reused it. A server closes connections idle past its timeout; a request that
 * takes one in the instant the close is under way, or before a busy event loop has read the
 * close, meets this even with the timeout above. The server closed the connection rather than
 * read the request, so it may go out once more on another connection (the agent discards the
 * reset one), as Node's documentation of `request.reusedSocket` advises. A reset on a fresh
 * connection, or one after an answer began, is the server's failure and is not this.
 */
export function metClosedPooledConnection(request: { reusedSocket?: boolean } | null | undefined, code: string | undefined): boolean {
  return request?.reusedSocket === true && (code === 'ECONNRESET' || code === 'EPIPE');
}
