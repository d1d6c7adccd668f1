/**
 * The proxy's winston logger: one JSON object per line (`timestamp`, `level`, `msg`, then the
 * fields), with every message and field sanitised and redacted at every level. Redaction
 * lives in the logger's own format, not in a transport, so a transport added later cannot
 * bypass it.
 */
import winston, { type Logger } from 'winston';
import type TransportStream from 'winston-transport';
import { types } from 'node:util';
import type { SecretRedactor } from './redaction';
import { createFlatSerializer, createSanitizer, isErrorLike, jsonString, type SanitizeLimits } from './sanitize';

// triple-beam's symbols, by their registered names: winston does not re-export them.
const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

/** Fields the line owns; a caller's field of the same name is dropped rather than allowed to forge them. */
const RESERVED = new Set(['timestamp', 'level', 'msg', 'message', 'stack']);
/**
 * What winston copies to the top level when it merges an error into the line: for an axios
 * error, the request config (with X-Vault-Token and login bodies), the socket and the response.
 */
const ERROR_BAGGAGE = new Set(['config', 'request', 'response', 'cause', 'toJSON', 'isAxiosError', 'name', 'code', 'status']);

export interface LoggerOptions {
  /** winston (npm) level: error, warn, info, http, verbose, debug, silly. */
  level: string;
  redactor: SecretRedactor;
  /** Defaults to one console transport writing to stdout. */
  transports?: winston.transport[];
  limits?: SanitizeLimits;
}

type Info = Record<string | symbol, unknown>;

/**
 * Separates the message from the fields, undoing winston's habit of merging an error's own
 * properties into the top level. The error always ends up as one `err` field, which the
 * sanitiser reduces to a summary. Handles `logger.error(err)`, `logger.warn('msg', err)`,
 * child loggers (which copy the error into a plain object) and `{ message: err }`.
 */
function splitInfo(info: Info): { msg: unknown; fields: Record<string, unknown> } {
  if (types.isNativeError(info) || info instanceof Error) return { msg: info.message, fields: { err: info } };
  const fields: Record<string, unknown> = {};
  let msg = info.message;
  if (isErrorLike(msg)) {
    fields.err = msg;
    msg = msg.message;
  }
  const splat = info[SPLAT];
  const meta = Array.isArray(splat) ? (splat[0] as unknown) : undefined;
  const merged = isErrorLike(meta) ? meta : null;
  if (merged !== null) {
    fields.err = merged;
    const suffix = ` ${merged.message}`;
    if (typeof msg === 'string' && merged.message && msg.endsWith(suffix)) msg = msg.slice(0, -suffix.length);
  }
  // No error object left to point at, but a stack says one was copied in here.
  const copied = merged === null && typeof info.stack === 'string';
  if (copied && fields.err === undefined) {
    fields.err = { name: info.name, code: info.code, status: info.status, message: String(msg), stack: info.stack, cause: info.cause };
  }
  for (const key of Object.keys(info)) {
    if (RESERVED.has(key)) continue;
    if (merged !== null && Object.hasOwn(merged, key)) continue;
    if (copied && ERROR_BAGGAGE.has(key)) continue;
    fields[key] = info[key];
  }
  return { msg, fields };
}

/** The format that does the redaction, serialisation and level gating for every line. */
function secureJson(redactor: SecretRedactor, enabled: (level: string) => boolean, limits?: SanitizeLimits): winston.Logform.Format {
  const sanitize = createSanitizer(redactor, limits);
  return winston.format((info) => {
    const tagged: unknown = info[LEVEL];
    const level = typeof tagged === 'string' ? tagged : info.level;
    // winston runs the logger's format before transports filter by level: skip the work for lines nobody writes.
    if (!enabled(level)) return false;
    const { msg, fields } = splitInfo(info);
    const safeMsg = typeof msg === 'string' ? sanitize(msg) : msg === undefined ? '' : JSON.stringify(sanitize(msg));
    const safeFields = sanitize(fields) as Record<string, unknown>;
    const line = { timestamp: new Date().toISOString(), level: info.level, msg: safeMsg, ...safeFields };
    // A fresh info object: the caller's object (winston passes it through as-is for logger.info(obj)) is never mutated.
    return { ...line, message: safeMsg, [LEVEL]: level, [MESSAGE]: JSON.stringify(line) };
  })();
}

/**
 * Writes one line whose fields are flat (strings, numbers, booleans, null): the request record
 * and its kin. A field of any other kind sends the line through `logger.log`. Call only when
 * `logger.isLevelEnabled(level)`.
 */
export type FlatLineWriter = (level: string, message: string, fields: object) => void;

const FLAT_WRITER = Symbol('secure-proxy.flat-line-writer');
type WithFlatWriter = Logger & { [FLAT_WRITER]?: FlatLineWriter };

/**
 * The logger's writer for flat lines, or a plain `logger.log` for a logger this module did not
 * build. Same line, same redaction as `logger.log`; see {@link flatLineWriter}.
 */
export function flatWriterOf(logger: Logger): FlatLineWriter {
  return (logger as WithFlatWriter)[FLAT_WRITER] ?? ((level, message, fields) => logger.log(level, message, fields));
}

const noop = (): void => {};

/**
 * The audit line's writer: one line per request is the logger's hottest use. A flat record
 * needs neither `splitInfo` (no error to pull out) nor the sanitiser's walk (no nesting, no
 * cycles): each string is redacted and clipped, numbers and booleans are copied, and the line
 * is serialised once. It is then handed to each transport's `log` directly, the level check
 * winston's transport stream would make included, which skips winston's per-line stream
 * pipeline (a Transform piped into one Writable per transport). Lines of other shapes, and a
 * transport with a format of its own, go through `logger.log` as before.
 */
function flatLineWriter(logger: Logger, redactor: SecretRedactor, limits?: SanitizeLimits): FlatLineWriter {
  const sanitize = createSanitizer(redactor, limits);
  const serializeFlat = createFlatSerializer(redactor, limits);
  return (level, message, fields) => {
    const transports = logger.transports;
    const members = transports.some(hasOwnFormat) ? null : serializeFlat(fields, RESERVED);
    if (members === null) {
      logger.log(level, message, fields);
      return;
    }
    const msg = sanitize(message) as string;
    // The members of `{ timestamp, level, msg, ...fields }`, in that order, as JSON.stringify would write them.
    const line = `{"timestamp":"${isoTimestamp()}","level":${jsonString(level)},"msg":${jsonString(msg)}${members}}`;
    const info = { level, message: msg, [LEVEL]: level, [MESSAGE]: line };
    const severity = logger.levels[level];
    for (const transport of transports) {
      const threshold = transport.level ?? logger.level;
      if (transport.silent === true || logger.levels[threshold] < severity) continue;
      transport.log?.(info, noop);
    }
  };
}

function hasOwnFormat(transport: TransportStream): boolean {
  return transport.format !== undefined;
}

let timestampMs = Number.NaN;
let timestampText = '';

/** `new Date().toISOString()`, formatted once per millisecond: a busy proxy writes many lines in each. */
function isoTimestamp(): string {
  const now = Date.now();
  if (now !== timestampMs) {
    timestampMs = now;
    timestampText = new Date(now).toISOString();
  }
  return timestampText;
}

/** Creates the proxy's logger. Share `redactor` with whatever registers secret values. */
export function createLogger(options: LoggerOptions): Logger {
  const transports = options.transports ?? [new LineTransport(process.stdout)];
  let logger: Logger | null = null;
  const enabled = (level: string): boolean => logger === null || logger.isLevelEnabled(level);
  logger = winston.createLogger({
    level: options.level,
    format: secureJson(options.redactor, enabled, options.limits),
    transports,
    exitOnError: false,
  });
  (logger as WithFlatWriter)[FLAT_WRITER] = flatLineWriter(logger, options.redactor, options.limits);
  return logger;
}

// winston exports the transport base class as `Transport`; its typings only know a namespace `transport`.
const TransportBase = (winston as unknown as { Transport: typeof TransportStream }).Transport;

/** Held lines are written at once when they reach this length: a pipe's buffer on Linux, and a bound on what is held. */
const WRITE_AT_LENGTH = 64 * 1024;

/** Transports holding lines not written yet (each for less than a tick; see LineTransport). */
const holding = new Set<LineTransport>();
let exitHookInstalled = false;

// process.exit() runs no further tick: a line logged just before it (a shutdown failure) is
// written by this listener, which Node runs synchronously on the way out.
function writeHeldLinesAtExit(): void {
  for (const transport of [...holding]) transport.flush();
}

function writeHeldLines(transport: LineTransport): void {
  transport.flush();
}

/**
 * Writes each formatted line and a newline to a stream (stdout by default). The lines logged
 * in one tick of the event loop go out in one write at its end: the audit lines of the
 * requests that finished in one turn arrive together (see request-log.ts), and on a pipe each
 * write is a system call and Node's per-write bookkeeping, several microseconds per request
 * where one write serves them all. A line is held for less than a tick, never past
 * `process.exit()`, and in the order it was logged. winston's Console and Stream transports
 * write one line per call, plus a 'logged' event per line scheduled with setImmediate that
 * nothing here listens to.
 */
export class LineTransport extends TransportBase {
  private held = '';

  constructor(private readonly stream: NodeJS.WritableStream) {
    super();
  }

  override log(info: Info, next: () => void): void {
    if (this.held === '') this.holdUntilEndOfTick();
    this.held += `${String(info[MESSAGE])}\n`;
    if (this.held.length >= WRITE_AT_LENGTH) this.flush();
    next();
  }

  /** Writes the lines held so far, if any. */
  flush(): void {
    const text = this.held;
    if (text === '') return;
    this.held = '';
    holding.delete(this);
    this.stream.write(text);
  }

  /** winston calls this when the logger is closed or the transport removed. */
  override close(): void {
    this.flush();
  }

  private holdUntilEndOfTick(): void {
    holding.add(this);
    process.nextTick(writeHeldLines, this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', writeHeldLinesAtExit);
    }
  }
}

/** A transport that keeps formatted lines in memory, so tests can assert what was (not) written. */
export class MemoryTransport extends TransportBase {
  readonly lines: string[] = [];

  override log(info: Info, next: () => void): void {
    this.lines.push(String(info[MESSAGE]));
    next();
  }

  /** The lines parsed back into objects. */
  entries(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The whole output as one string, for "never appears anywhere" assertions. */
  text(): string {
    return this.lines.join('\n');
  }
}

/** Creates a MemoryTransport; pass it in `transports` to capture output. */
export function createMemoryTransport(): MemoryTransport {
  return new MemoryTransport();
}
