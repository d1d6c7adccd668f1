/**
 * What a hostile API may answer, as scenes for the hostile upstream (hostile-upstream.ts), each
 * with what the proxy must make of it on a scrubbing service and on one with `scrub: false`:
 *
 * - `{ relay: status }`: relayed whole with that status (the proxy adds no error header);
 * - `{ error: code }`: refused with that contract error (source upstream), nothing relayed;
 * - `'cut'`: refused with a contract error when nothing had gone out yet, else the relayed
 *   answer is cut short (the client can tell: never a complete-looking answer);
 * - `'either'`: relayed whole, or refused with a contract error;
 * - `'any'`: any of the above (for generated answers).
 *
 * Every answer that echoes the credential does so with `{{secret}}`.
 */
import { gzipSync } from 'node:zlib';
import type { ErrorCode } from '../../proxy/src/contract/contract';
import { withSecret, type HostileStep, type Scene } from './hostile-upstream';

export type Expectation = { relay: number } | { error: ErrorCode } | 'cut' | 'either' | 'any';

export interface HostileScene {
  steps: Scene;
  scrubbed: Expectation;
  plain: Expectation;
  /** The client sends these request headers too. */
  requestHeaders?: Record<string, string>;
}

const hang: HostileStep = { hang: true };
const end: HostileStep = { end: true };
const INVALID: Expectation = { error: 'UPSTREAM_RESPONSE_INVALID' };

/** A complete answer whose Content-Length fits its body after `{{secret}}` is filled in. */
function answer(statusLine: string, headers: readonly string[], body: string | Buffer = ''): HostileStep {
  return {
    compute: (_head, secret) => {
      const bytes = withSecret(body, secret);
      return Buffer.concat([Buffer.from(`${statusLine}\r\n${[...headers, `Content-Length: ${bytes.length}`].join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
    },
  };
}

/** The Host the proxy sent (the target's): a Location on it is same-origin, so the proxy rewrites it. */
function hostOf(head: string): string {
  return /\r\nhost: *([^\r\n]*)/i.exec(head)?.[1] ?? '127.0.0.1';
}

const ECHO = '{"echo":"{{secret}}"}';
const same = (e: Expectation): Pick<HostileScene, 'scrubbed' | 'plain'> => ({ scrubbed: e, plain: e });
const relay = (status: number) => same({ relay: status });

/** Every scene by name (the last path segment of the request). */
/**
 * An answer followed, once the connection is idle in the proxy's pool, by a second one nobody
 * asked for. Not in the table: a request sent on that connection in between would get the late
 * answer as its own (HTTP/1.1 cannot tell them apart), so its test waits first.
 */
export const LATE_SECOND_ANSWER: Scene = [
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
  { wait: 100 },
  'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle',
  { wait: 50 },
  end,
];

export const HOSTILE_SCENES: Readonly<Record<string, HostileScene>> = {
  // The yardstick: a well-formed answer echoing the credential.
  normal: { steps: [answer('HTTP/1.1 200 OK', ['Content-Type: application/json'], ECHO)], ...relay(200) },

  // ---- status lines ----
  'reason-control': { steps: [answer('HTTP/1.1 200 O\x01K', [], ECHO)], ...same(INVALID) },
  'reason-del': { steps: [answer('HTTP/1.1 200 O\x7fK', [], ECHO)], ...same(INVALID) },
  'reason-escape': { steps: [answer('HTTP/1.1 200 \x1b[31mred', [], ECHO)], ...same(INVALID) },
  'reason-secret': { steps: [answer('HTTP/1.1 401 Rejected {{secret}}', [], ECHO)], ...relay(401) },
  'reason-utf8': { steps: [answer('HTTP/1.1 200 \xc3\x96kay', [], 'ok')], ...relay(200) },
  'reason-missing': { steps: [answer('HTTP/1.1 200', [], 'ok')], ...relay(200) },
  'status-099': { steps: [answer('HTTP/1.1 099 Low', [], ECHO)], ...same(INVALID) },
  'status-000': { steps: [answer('HTTP/1.1 000 Zero', [], ECHO)], ...same(INVALID) },
  'status-001': { steps: [answer('HTTP/1.1 001 One', [], ECHO)], ...same(INVALID) },
  'status-600': { steps: [answer('HTTP/1.1 600 Beyond', [], ECHO)], ...relay(600) },
  'status-999': { steps: [answer('HTTP/1.1 999 Odd', [], ECHO)], ...relay(999) },
  'status-1000': { steps: [answer('HTTP/1.1 1000 Big', [], ECHO)], ...same(INVALID) },
  'status-letters': { steps: [answer('HTTP/1.1 2x0 What', [], ECHO)], ...same(INVALID) },
  'http-0.9': { steps: ['{"echo":"{{secret}}"}\r\n', end], ...same(INVALID) },
  'http-2-line': { steps: [answer('HTTP/2 200', [], ECHO)], ...same(INVALID) },
  'http-1.2': { steps: [answer('HTTP/1.2 200 OK', [], ECHO)], ...same(INVALID) },
  'http-lowercase': { steps: [answer('http/1.1 200 OK', [], ECHO)], ...same(INVALID) },
  'http-1.0-until-close': { steps: ['HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close {{secret}}', end], ...relay(200) },
  'leading-blank-line': { steps: ['\r\n', answer('HTTP/1.1 200 OK', [], ECHO)], ...same('either') },
  'closed-at-once': { steps: [end], ...same({ error: 'UPSTREAM_UNREACHABLE' }) },
  'reset-at-once': { steps: [{ destroy: true }], ...same({ error: 'UPSTREAM_UNREACHABLE' }) },
  garbage: { steps: [Buffer.from([0, 1, 2, 0xff, 0x80, 0x0d, 0x0a, 0x0d, 0x0a]), end], ...same(INVALID) },
  'partial-head-then-close': { steps: ['HTTP/1.1 200 OK\r\nContent-Le', end], ...same({ error: 'UPSTREAM_UNREACHABLE' }) },
  'partial-head-then-hang': { steps: ['HTTP/1.1 200 OK\r\nX-Echo: {{secret}}\r\n', hang], ...same({ error: 'UPSTREAM_TIMEOUT' }) },

  // ---- interim answers and protocol switches ----
  'switch-with-upgrade': {
    steps: ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n{{secret}}', hang],
    ...same(INVALID),
  },
  'switch-without-upgrade': { steps: ['HTTP/1.1 101 Switching Protocols\r\n\r\n{{secret}}', hang], ...same(INVALID) },
  'interim-102': { steps: ['HTTP/1.1 102 Processing\r\n\r\n', answer('HTTP/1.1 200 OK', [], ECHO)], ...same(INVALID) },
  'interim-199': { steps: ['HTTP/1.1 199 Odd\r\nX-Echo: {{secret}}\r\n\r\n', answer('HTTP/1.1 200 OK', [], ECHO)], ...same(INVALID) },
  'interim-100': { steps: ['HTTP/1.1 100 Continue\r\n\r\n', answer('HTTP/1.1 200 OK', [], ECHO)], ...relay(200) },
  'interim-103': {
    steps: ['HTTP/1.1 103 Early Hints\r\nLink: </{{secret}}>; rel=preload\r\n\r\n', answer('HTTP/1.1 200 OK', [], ECHO)],
    ...relay(200),
  },
  'interim-103-many': {
    steps: [...Array.from({ length: 20 }, () => 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'), answer('HTTP/1.1 200 OK', [], ECHO)],
    ...relay(200),
  },
  'interim-103-then-close': { steps: ['HTTP/1.1 103 Early Hints\r\n\r\n', end], ...same({ error: 'UPSTREAM_UNREACHABLE' }) },
  'interim-100-then-hang': { steps: ['HTTP/1.1 100 Continue\r\n\r\n', hang], ...same({ error: 'UPSTREAM_TIMEOUT' }) },

  // ---- header fields ----
  'header-control': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo: a\x01{{secret}}'], ECHO)], ...same(INVALID) },
  'header-del': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo: a\x7f{{secret}}'], ECHO)], ...same(INVALID) },
  'header-nul': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo: a\x00{{secret}}'], ECHO)], ...same(INVALID) },
  'header-bare-cr': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo: a\r{{secret}}'], ECHO)], ...same(INVALID) },
  'header-name-space': { steps: [answer('HTTP/1.1 200 OK', ['X Echo: {{secret}}'], ECHO)], ...same(INVALID) },
  'header-name-before-colon': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo : {{secret}}'], ECHO)], ...same(INVALID) },
  'header-name-control': { steps: [answer('HTTP/1.1 200 OK', ['X\x01Echo: {{secret}}'], ECHO)], ...same(INVALID) },
  'header-name-empty': { steps: [answer('HTTP/1.1 200 OK', [': {{secret}}'], ECHO)], ...same(INVALID) },
  'header-folded': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo: a', ' {{secret}}'], ECHO)], ...same(INVALID) },
  'header-bare-lf': { steps: ['HTTP/1.1 200 OK\nContent-Length: 2\n\nhi'], ...same(INVALID) },
  'header-high-bytes': { steps: [answer('HTTP/1.1 200 OK', ['X-Echo: \xff\xfe\x80'], 'ok')], ...relay(200) },
  'header-secret': {
    steps: [answer('HTTP/1.1 200 OK', ['X-Echo: {{secret}}', 'Set-Cookie: s={{secret}}; Path=/', 'Content-Location: /x?k={{secret}}'], ECHO)],
    ...relay(200),
  },
  'header-name-secret': {
    // As much of the credential as a header name can hold (all of it, for a token-shaped one).
    steps: [
      {
        compute: (_h, secret) =>
          `HTTP/1.1 200 OK\r\nX-${/^[A-Za-z0-9-]*/.exec(secret.toString('latin1'))?.[0] ?? ''}: 1\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok`,
      },
    ],
    ...relay(200),
  },
  'header-upgrade': { steps: [answer('HTTP/1.1 200 OK', ['Upgrade: websocket', 'Connection: Upgrade, X-Hop', 'X-Hop: 1'], ECHO)], ...relay(200) },
  'header-oversized': { steps: [answer('HTTP/1.1 200 OK', [`X-Big: ${'a'.repeat(20_000)}`], ECHO)], ...same(INVALID) },
  'header-many': {
    steps: [
      answer(
        'HTTP/1.1 200 OK',
        Array.from({ length: 1500 }, (_, i) => `X-${i}: v`),
        ECHO,
      ),
    ],
    ...relay(200),
  },
  'header-spoofs-proxy': {
    steps: [answer('HTTP/1.1 502 Bad Gateway', ['X-Secure-Proxy-Error: UPSTREAM_TIMEOUT', 'X-Request-Id: chosen-by-upstream'], ECHO)],
    ...relay(502),
  },
  'location-same-origin': {
    steps: (head) => [answer('HTTP/1.1 302 Found', [`Location: http://${hostOf(head)}/base/next?t={{secret}}&q='"{{secret}}"' #{{secret}}`], 'moved')],
    ...relay(302),
  },
  'location-elsewhere': { steps: [answer('HTTP/1.1 302 Found', ["Location: https://elsewhere.example/cb?t={{secret}}&x='y z'"], 'moved')], ...relay(302) },

  // ---- framing ----
  'length-twice-same': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi'], ...same(INVALID) },
  'length-twice-different': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nhi'], ...same(INVALID) },
  'length-list': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhi'], ...same(INVALID) },
  'length-negative': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi'], ...same(INVALID) },
  'length-plus': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi'], ...same(INVALID) },
  'length-overflow': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhi'], ...same(INVALID) },
  'length-and-chunked': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'], ...same(INVALID) },
  'coding-gzip-only': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{{secret}}', end], ...same(INVALID) },
  'coding-gzip-chunked': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'], ...same(INVALID) },
  'coding-chunked-gzip': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nhi\r\n0\r\n\r\n', end], ...same(INVALID) },
  'coding-chunked-twice': {
    steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'],
    ...same(INVALID),
  },
  'coding-identity': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhi', end], ...same(INVALID) },
  'coding-upper-case': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n2\r\nhi\r\n0\r\n\r\n'], ...relay(200) },
  'chunk-invalid-first': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{secret}}\r\n0\r\n\r\n'], ...same(INVALID) },
  'chunk-invalid-later': {
    steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { wait: 50 }, 'zz\r\n{{secret}}\r\n0\r\n\r\n'],
    ...same('cut'),
  },
  'chunk-size-overflow': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhi\r\n'], ...same(INVALID) },
  'chunk-without-end': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { wait: 50 }, end], ...same('cut') },
  'chunk-extension': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext="a b"\r\nhi\r\n0\r\n\r\n'], ...relay(200) },
  'trailer-secret': { steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nhi\r\n0\r\nX-T: {{secret}}\r\n\r\n'], ...relay(200) },
  'trailer-invalid': {
    steps: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { wait: 50 }, '0\r\nX-T: a\x01b\r\n\r\n'],
    ...same('cut'),
  },
  'body-short': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello ', { wait: 50 }, end], ...same('cut') },
  'body-missing': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Echo: {{secret}}\r\n\r\n', { wait: 50 }, end], ...same(INVALID) },
  'body-after-204': { steps: ['HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello{{secret}}'], ...relay(204) },
  'body-after-304': { steps: ['HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n'], ...relay(304) },
  'two-answers-at-once': {
    steps: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{{secret}}', { wait: 50 }, end],
    ...relay(200),
  },

  // ---- bodies that echo the credential ----
  'echo-split-slowly': {
    steps: [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n',
      { compute: (_h, secret) => `${(8 + 5).toString(16)}\r\nprefix: ${secret.subarray(0, 5).toString('latin1')}\r\n` },
      { wait: 60 },
      { compute: (_h, secret) => `${(secret.length - 5).toString(16)}\r\n${secret.subarray(5).toString('latin1')}\r\n0\r\n\r\n` },
    ],
    ...relay(200),
  },
  'echo-spellings': {
    steps: [
      {
        compute: (_h, secret) => {
          const value = secret.toString('latin1');
          const body = [JSON.stringify({ v: value }), encodeURIComponent(value), value.replaceAll('-', '&#45;'), value.replaceAll('-', '\\u002d')].join('\n');
          return `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
        },
      },
    ],
    ...relay(200),
  },
  'echo-binary': { steps: [answer('HTTP/1.1 200 OK', ['Content-Type: application/octet-stream'], '\x00\x01{{secret}}\xff')], ...relay(200) },
  'echo-gzip': {
    steps: [
      {
        compute: (_h, secret) => {
          const body = gzipSync(withSecret(ECHO, secret));
          return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
        },
      },
    ],
    ...relay(200),
  },
  'echo-gzip-corrupt': { steps: [answer('HTTP/1.1 200 OK', ['Content-Encoding: gzip'], 'not gzip {{secret}}')], scrubbed: INVALID, plain: { relay: 200 } },
  'echo-zstd': { steps: [answer('HTTP/1.1 200 OK', ['Content-Encoding: zstd'], ECHO)], scrubbed: { error: 'UPSTREAM_UNSCRUBBABLE' }, plain: { relay: 200 } },
  'echo-ranges': {
    // An API that honours Range splits the echo into parts; the proxy does not forward Range on a scrubbing service.
    steps: (head) =>
      /\r\nrange:/i.test(head)
        ? [
            {
              compute: (_h, secret) =>
                `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-11/99\r\nContent-Length: 12\r\n\r\n{"echo":"${secret.toString('latin1').slice(0, 3)}`,
            },
          ]
        : [answer('HTTP/1.1 200 OK', ['Content-Type: application/json'], ECHO)],
    requestHeaders: { range: 'bytes=0-11' },
    scrubbed: { relay: 200 },
    plain: { relay: 206 },
  },

  // ---- time ----
  'hang-before-head': { steps: [hang], ...same({ error: 'UPSTREAM_TIMEOUT' }) },
  'hang-after-head': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Echo: {{secret}}\r\n\r\n', hang], ...same({ error: 'UPSTREAM_TIMEOUT' }) },
  'hang-mid-body': { steps: ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello ', hang], ...same('cut') },
  'drip-within-timeout': {
    steps: [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      ...Array.from({ length: 4 }, (): HostileStep[] => [{ wait: 150 }, '1\r\n.\r\n']).flat(),
      '0\r\n\r\n',
    ],
    ...relay(200),
  },
};
