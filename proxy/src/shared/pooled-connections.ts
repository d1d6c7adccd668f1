/**
 * How long an idle pooled connection (to an upstream, a token endpoint or Vault) is kept.
 * Node shortens it to the server's `Keep-Alive: timeout=N` hint minus a second, but only when
 * an agent timeout is set at all. Servers that close idle connections without a hint (uvicorn
 * 5 s, gunicorn 2 s) would race a longer value; under load connections never idle this long,
 * so the pools stay warm.
 */
export const FREE_SOCKET_TIMEOUT_MS = 4_000;
