/**
 * Answers for requests Node's HTTP parser refuses before the app ever sees them: bad header
 * characters (CR/LF, NUL), duplicate or invalid Content-Length, Content-Length together with
 * Transfer-Encoding, header sections over `maxHeaderSize`, and headers that arrive too slowly.
 *
 * Node's own answer is a bare `400`/`431`/`408` without a contract code (and for CONNECT no
 * answer at all), and nothing is logged. This handler writes the contract's error instead (`x-secure-proxy-error`, a request
 * id, the JSON body), closes the connection (the parser cannot resync on it), and reports one
 * record per refused connection for the audit log and metrics.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ERROR_HEADER, REQUEST_ID_HEADER, type ErrorCode } from '../contract/contract';
import { errorBody, ProxyError } from '../contract/proxy-error';
import type { ClientErrorRecord } from '../observability/events';
import type { RequestContext } from '../app/request-context';

export type { ClientErrorRecord };

const MESSAGES: Readonly<Record<string, string>> = {
  HEADERS_TOO_LARGE: 'The request header section is larger than the proxy accepts (listen.maxHeaderBytes).',
  REQUEST_TIMEOUT: 'The request headers did not arrive in time (listen.headersTimeoutMs).',
  REQUEST_MALFORMED: 'The request is not valid HTTP/1.1 and was refused before it was read',
};

/** Node's parser and server error codes, mapped to the contract. */
export function clientErrorCode(nodeCode: string): ErrorCode {
  if (nodeCode === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  // ERR_HTTP_REQUEST_TIMEOUT is what Node 24 raises for headersTimeout (and requestTimeout, unused here).
  if (nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT' || nodeCode === 'HPE_HEADERS_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'REQUEST_MALFORMED';
}

function messageFor(code: ErrorCode, parserCode: string): string {
  const message = MESSAGES[code] ?? MESSAGES.REQUEST_MALFORMED;
  // The parser's code names what was wrong without quoting any of the request's bytes.
  return code === 'REQUEST_MALFORMED' ? `${message} (${parserCode}).` : message;
}

/**
 * True when the refused bytes start a HEAD request. Its answer must have no body (RFC 9110
 * §9.3.2): a client reads any bytes after the headers as garbage (Node's client fails with
 * "Data after Connection: close") instead of the contract error.
 */
function startsHeadRequest(err: Error): boolean {
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  return Buffer.isBuffer(raw) && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
}

/** A complete HTTP/1.1 response, for a socket that no ServerResponse will write to. */
function rawResponse(error: ProxyError, requestId: string, withBody: boolean): string {
  const body = JSON.stringify(errorBody(error, requestId));
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n` +
    `${ERROR_HEADER}: ${error.code}\r\n` +
    `${REQUEST_ID_HEADER}: ${requestId}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    'cache-control: no-store\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n' +
    `\r\n${withBody ? body : ''}`
  );
}

/**
 * Writes the contract error (when `mayWrite` and the socket still takes data) and closes the
 * socket: write-then-destroy as Node does, since ending gracefully would feed the broken
 * parser more bytes.
 */
function answerAndClose(
  socket: Socket,
  error: ProxyError,
  requestId: string,
  mayWrite: boolean,
  withBody = true,
): { answered: boolean; remoteAddress: string | null } {
  const answered = mayWrite && socket.writable;
  // Read before destroy(): a closed socket no longer knows its peer.
  const remoteAddress = socket.remoteAddress ?? null;
  if (answered) socket.write(rawResponse(error, requestId, withBody));
  socket.destroy();
  return { answered, remoteAddress };
}

/** Node's own default clientError handler reads this to know whether a response is under way. */
type ServerSocket = Socket & { _httpMessage?: ServerResponse | null };

/** The request id and context of a request already handed to the app on this socket, if any. */
function inFlightRequest(socket: ServerSocket): { response: ServerResponse; ctx: RequestContext | undefined } | null {
  const response = socket._httpMessage;
  if (response === null || response === undefined) return null;
  const locals = (response as ServerResponse & { locals?: { ctx?: RequestContext } }).locals;
  return { response, ctx: locals?.ctx };
}

/**
 * Builds the server's 'clientError' listener. `onRecord` is called once per connection
 * refused before it reached the app; a parse error in the body of a request the app is
 * already handling is recorded by that request's own audit line instead (its context gets
 * the code), so every event is logged exactly once.
 */
export function createClientErrorHandler(onRecord: (record: ClientErrorRecord) => void): (err: Error, socket: Socket) => void {
  return (err, socket: ServerSocket) => {
    const parserCode = typeof (err as NodeJS.ErrnoException).code === 'string' ? ((err as NodeJS.ErrnoException).code as string) : 'UNKNOWN';
    // A client that reset the connection wants no answer, and a destroyed socket cannot take one.
    if (parserCode === 'ECONNRESET' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const errorCode = clientErrorCode(parserCode);
    const error = new ProxyError(errorCode, messageFor(errorCode, parserCode));
    const inFlight = inFlightRequest(socket);
    const requestId = inFlight?.ctx?.requestId ?? randomUUID();
    const mayWrite = inFlight === null || !inFlight.response.headersSent;
    const { answered, remoteAddress } = answerAndClose(socket, error, requestId, mayWrite, !startsHeadRequest(err));
    if (inFlight !== null) {
      if (inFlight.ctx !== undefined) {
        inFlight.ctx.errorCode = error.code;
        inFlight.ctx.errorSource = error.source;
        inFlight.ctx.errorDetail = parserCode;
      }
      return;
    }
    onRecord({ requestId, errorCode, status: error.status, parserCode, remoteAddress, answered });
  };
}

/**
 * Builds the server's 'connect' listener. Node hands CONNECT requests to it instead of the
 * app, and without one it closes the connection without a word; this proxy tunnels nothing,
 * so the answer is METHOD_NOT_ALLOWED, recorded like a parser refusal.
 */
export function createConnectHandler(onRecord: (record: ClientErrorRecord) => void): (req: IncomingMessage, socket: Duplex) => void {
  return (_req, socket) => {
    const error = new ProxyError(
      'METHOD_NOT_ALLOWED',
      'The CONNECT method is not accepted by this proxy: it forwards to configured services only, it opens no tunnels.',
    );
    const requestId = randomUUID();
    const { answered, remoteAddress } = answerAndClose(socket as Socket, error, requestId, true);
    onRecord({ requestId, errorCode: error.code, status: error.status, parserCode: 'CONNECT', remoteAddress, answered });
  };
}
