/**
 * Turns anything handed to the logger into a plain, bounded, JSON-safe value with secrets
 * removed. Errors get special treatment: an axios error carries its request config, and that
 * config carries `X-Vault-Token` and login bodies, so an error is only ever logged as
 * `{name, code, message, status?, cause?}` with the message redacted.
 */
import { types } from 'node:util';
import { REDACTED, type SecretRedactor } from './redaction';

/** Bounds that keep one log line from turning into megabytes (a socket, a response body). */
export interface SanitizeLimits {
  depth: number;
  items: number;
  keys: number;
  stringLength: number;
}

export const DEFAULT_LIMITS: Readonly<SanitizeLimits> = { depth: 8, items: 50, keys: 50, stringLength: 8192 };

/** The only shape in which an error reaches a log line. */
export interface ErrorSummary {
  name: string;
  message: string;
  code?: string | number;
  /** An HTTP status the error carries (ours, node-vault's, axios'); a number is never a secret. */
  status?: number;
  cause?: ErrorSummary | string;
}

/**
 * True for real errors from any realm (jest runs tests in another one), for objects flagged
 * `isAxiosError`, and for serialised errors such as axios' `toJSON()` (message + stack), which
 * carry the request config just the same.
 */
export function isErrorLike(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  if (types.isNativeError(value) || value instanceof Error) return true;
  const shape = value as { isAxiosError?: unknown; message?: unknown; stack?: unknown };
  return shape.isAxiosError === true || (typeof shape.message === 'string' && typeof shape.stack === 'string');
}

function statusOf(err: Record<string, unknown>): number | undefined {
  const response = err.response as Record<string, unknown> | null | undefined;
  const candidates = [err.status, err.statusCode, response?.status, response?.statusCode];
  return candidates.find((c): c is number => typeof c === 'number');
}

/** A sanitiser bound to one redactor and one set of limits. */
export type Sanitizer = (value: unknown) => unknown;

/** Builds the function the logger applies to the message and every field. */
export function createSanitizer(redactor: SecretRedactor, limits: Readonly<SanitizeLimits> = DEFAULT_LIMITS): Sanitizer {
  const text = textSanitizer(redactor, limits);

  const summarize = (err: Error, depth: number): ErrorSummary => {
    const raw = err as unknown as Record<string, unknown>;
    const summary: ErrorSummary = {
      name: text(typeof raw.name === 'string' ? raw.name : 'Error'),
      message: text(typeof raw.message === 'string' ? raw.message : ''),
    };
    if (typeof raw.code === 'string') summary.code = text(raw.code);
    else if (typeof raw.code === 'number') summary.code = raw.code;
    const status = statusOf(raw);
    if (status !== undefined) summary.status = status;
    // Only an error cause is followed, as another summary; a non-error cause may be a request config.
    if (isErrorLike(raw.cause) && depth < limits.depth) summary.cause = summarize(raw.cause, depth + 1);
    else if (typeof raw.cause === 'string') summary.cause = text(raw.cause);
    return summary;
  };

  const walk = (input: unknown, depth: number, ancestors: object[]): unknown => {
    switch (typeof input) {
      case 'string':
        return text(input);
      case 'number':
      case 'boolean':
      case 'undefined':
        return input;
      case 'bigint':
      case 'symbol':
        return input.toString();
      case 'function':
        return undefined;
    }
    if (input === null) return null;
    const value = input as object;
    if (isErrorLike(value)) return summarize(value, depth);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (value instanceof URL) return text(value.password ? value.href.replace(`:${value.password}@`, `:${REDACTED}@`) : value.href);
    // Bytes may be a request or response body: their size is all a log needs.
    if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
    if (value instanceof ArrayBuffer) return `[ArrayBuffer ${value.byteLength} bytes]`;
    if (depth >= limits.depth) return '[Truncated]';
    if (ancestors.includes(value)) return '[Circular]';

    ancestors.push(value);
    try {
      if (Array.isArray(value) || value instanceof Set) {
        const items = [...value];
        const out = items.slice(0, limits.items).map((item) => walk(item, depth + 1, ancestors));
        if (items.length > limits.items) out.push(`[${items.length - limits.items} more]`);
        return out;
      }
      const entries = value instanceof Map ? [...value].map(([k, v]) => [String(k), v] as const) : Object.entries(value);
      const out: Record<string, unknown> = {};
      for (const [key, child] of entries.slice(0, limits.keys)) {
        out[key] = redactor.isSensitiveKey(key) ? blank(child) : walk(child, depth + 1, ancestors);
      }
      if (entries.length > limits.keys) out['[more keys]'] = entries.length - limits.keys;
      return out;
    } finally {
      ancestors.pop();
    }
  };

  return (value) => walk(value, 0, []);
}

/** A sensitive field keeps only whether it was set: null/undefined/booleans say nothing secret. */
/** Redacts a string and clips it to the limit. */
function textSanitizer(redactor: SecretRedactor, limits: Readonly<SanitizeLimits>): (s: string) => string {
  // Redact first, then clip: clipping first could cut a secret so that it no longer matches.
  return (s) => {
    const safe = redactor.redact(s);
    return safe.length > limits.stringLength ? `${safe.slice(0, limits.stringLength)}…[truncated]` : safe;
  };
}

/**
 * Serialises a flat record (strings, numbers, booleans, null as values) as the members of a
 * JSON object, `,"key":value` for each key not in `skipKeys`: for such a record the same
 * values as the general sanitiser gives (strings redacted and clipped, sensitive keys blanked),
 * written straight into the line instead of into an object for JSON.stringify to walk again.
 * Returns null when a value is of another kind or the record has too many keys.
 */
export type FlatSerializer = (fields: object, skipKeys: ReadonlySet<string>) => string | null;

interface MemberName {
  /** `,"key":`, escaped once. */
  prefix: string;
  sensitive: boolean;
}

const REDACTED_JSON = JSON.stringify(REDACTED);

/** What JSON.stringify escapes in a string: the quote, the backslash, control characters and lone surrogates (any surrogate here, to keep the test simple). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(text)`, without the call for the usual case of nothing to escape: an audit
 * line holds a handful of short strings, and the check costs a third of the call.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

export function createFlatSerializer(redactor: SecretRedactor, limits: Readonly<SanitizeLimits> = DEFAULT_LIMITS): FlatSerializer {
  const text = textSanitizer(redactor, limits);
  // Records of one shape repeat the same few keys: escape each name and test it against the sensitive pattern once.
  const names = new Map<string, MemberName>();
  const nameOf = (key: string): MemberName => {
    let name = names.get(key);
    if (name === undefined) {
      name = { prefix: `,${JSON.stringify(key)}:`, sensitive: redactor.isSensitiveKey(key) };
      if (names.size < limits.keys * 4) names.set(key, name);
    }
    return name;
  };
  return (fields, skipKeys) => {
    const source = fields as Record<string, unknown>;
    const keys = Object.keys(source);
    if (keys.length > limits.keys) return null;
    let members = '';
    for (const key of keys) {
      if (skipKeys.has(key)) continue;
      const value = source[key];
      const { prefix, sensitive } = nameOf(key);
      if (value === null || typeof value === 'boolean') members += prefix + String(value);
      else if (sensitive && (typeof value === 'string' || typeof value === 'number')) members += prefix + REDACTED_JSON;
      else if (typeof value === 'string') members += prefix + jsonString(text(value));
      // JSON's spelling of a number (NaN and the infinities become null).
      else if (typeof value === 'number') members += prefix + JSON.stringify(value);
      else return null;
    }
    return members;
  };
}

function blank(value: unknown): unknown {
  return value === null || value === undefined || typeof value === 'boolean' ? value : REDACTED;
}
