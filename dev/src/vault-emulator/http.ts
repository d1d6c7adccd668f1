/**
 * Wire-level helpers: the error type handlers throw, Vault's error-body shapes, and writing
 * a reply exactly as Vault's Go handlers do (JSON + newline, `Cache-Control: no-store`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A finished HTTP answer: status, optional JSON body (or none for 204/307), extra headers. */
export interface VaultReply {
  status: number;
  /** JSON value to encode; undefined sends no body. */
  body?: unknown;
  /** Raw text to send instead of JSON (fault injection of non-JSON answers). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/**
 * Thrown by handlers to answer `{"errors": [...]}` with a status, as Vault's respondError
 * does. `errors` may be empty: Vault answers plain 404s with `{"errors":[]}`.
 */
export class VaultError extends Error {
  readonly status: number;
  readonly errors: readonly string[];

  constructor(status: number, errors: readonly string[]) {
    super(errors[0] ?? `HTTP ${status}`);
    this.name = 'VaultError';
    this.status = status;
    this.errors = errors;
  }
}

/**
 * Formats messages like hashicorp/go-multierror, which Vault core uses for permission and
 * routing errors: "1 error occurred:\n\t* permission denied\n\n".
 */
export function multiError(...messages: string[]): string {
  if (messages.length === 1) return `1 error occurred:\n\t* ${messages[0]}\n\n`;
  return `${messages.length} errors occurred:\n\t${messages.map((m) => `* ${m}`).join('\n\t')}\n\n`;
}

/** The `{"errors":[...]}` reply Vault's respondError writes. */
export function errorReply(status: number, errors: readonly string[], headers?: Record<string, string>): VaultReply {
  return { status, body: { errors: [...errors] }, headers };
}

/** 404 with an empty error list: Vault's answer for "nothing there". */
export function notFound(): VaultError {
  return new VaultError(404, []);
}

/** 400 with one message: what `logical.ErrorResponse(...)` becomes on the wire. */
export function badRequest(message: string): VaultError {
  return new VaultError(400, [message]);
}

/**
 * Encodes like Go's json.Encoder: compact, `<`, `>`, `&`, U+2028/2029 escaped, trailing
 * newline. Byte-level fidelity matters little, but clients that compare bodies get it.
 */
export function goJson(value: unknown): string {
  return (
    JSON.stringify(value)
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029') + '\n'
  );
}

/** Writes a reply. Every answer gets `Cache-Control: no-store`, as Vault's generic handler sets. */
export function sendReply(res: ServerResponse, reply: VaultReply): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = reply.status;
  res.setHeader('Cache-Control', 'no-store');
  if (reply.rawBody !== undefined) {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    res.setHeader('Content-Length', Buffer.byteLength(reply.rawBody));
    res.end(reply.rawBody);
    return;
  }
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  // 204 and 304 never carry a body on the wire (Go's server drops it too).
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
    // Vault's respondOk sets the JSON content type even on 204; a bare 307 has none.
    if (reply.status !== 307 && !res.hasHeader('content-type')) res.setHeader('Content-Type', 'application/json');
    res.end();
    return;
  }
  const text = goJson(reply.body);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Vault's request size limit (DefaultMaxRequestSize, 32 MiB). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Reads the whole request body; a body over Vault's size limit is a 413 like Vault's. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new VaultError(413, ['error parsing JSON']);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses a JSON request body into an object. Empty means no data (Vault treats io.EOF as
 * nil). Anything that is not a JSON object fails, because Vault decodes into a map.
 * `message` is the text Vault uses on that route: logical routes say "error parsing JSON",
 * the raw sys handlers say "failed to parse JSON input: <detail>".
 */
export function parseJsonObject(text: string, style: 'logical' | 'raw'): Record<string, unknown> | null {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new VaultError(400, [style === 'logical' ? 'error parsing JSON' : `failed to parse JSON input: ${detail}`]);
  }
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    const detail = `json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type map[string]interface {}`;
    throw new VaultError(400, [style === 'logical' ? 'error parsing JSON' : `failed to parse JSON input: ${detail}`]);
  }
  return value as Record<string, unknown>;
}

/**
 * Returns a copy with object keys sorted at every level. Vault's data maps are Go maps,
 * which encoding/json always writes in key order.
 */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
  return out;
}

/** Go's strconv.ParseBool, which Vault uses for `?list=` and boolean query flags. */
export function parseGoBool(text: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return null;
}
