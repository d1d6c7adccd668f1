/**
 * Shared shapes and helpers of the injection strategies. Each strategy (one file per
 * `inject.type`) is compiled once from validated config into a closure over that config;
 * the closure turns one secret into the headers / query parameter to put on the wire.
 */
import { ProxyError } from '../../contract/proxy-error';
import type { InjectConfig } from '../../config/schema';
import type { SecretData } from '../../secrets/types';
import { didYouMean } from '../../shared/suggest';

/** What one secret value becomes on the wire. Shared between requests: never mutate it. */
export interface Injection {
  /** Headers to set, lower-case names; each replaces any client header of that name. */
  readonly headers: ReadonlyArray<readonly [lowerName: string, value: string]>;
  /** Query parameter to set (raw, not encoded); replaces every client occurrence of it. */
  readonly query: readonly [param: string, value: string] | null;
  /** `query`, percent-encoded as `param=value`, ready to append to a query string. */
  readonly queryString: string | null;
  /**
   * Every value this injection puts on the wire or derives it from that must never show up
   * in logs or in relayed bodies (secret fields and their encoded forms; not usernames).
   */
  readonly secretValues: readonly string[];
}

/** A compiled strategy: the same secret object always yields the same (cached) Injection. */
export interface Injector {
  readonly type: InjectConfig['type'];
  /** Redacted description for logs and service listings; never holds a value. */
  readonly description: string;
  /**
   * Throws (or rejects with) a ProxyError: SECRET_FIELD_MISSING when the secret cannot be
   * injected, UPSTREAM_TOKEN_FAILED when a token endpoint refused. Static types answer at
   * once; `oauth2` answers with a promise when it has no usable token.
   */
  apply(secret: SecretData): Injection | Promise<Injection>;
  /** Signs each request as it will be sent (`aws-sigv4`, `hmac`); absent for the other types. */
  readonly signer?: RequestSigner;
  /**
   * `oauth2`: the API answered 401 to `injection`'s token. Drops that token so the next
   * `apply` mints a fresh one; true when it was the current token (one retry is worth it).
   */
  readonly rejected?: (injection: Injection) => boolean;
  /** Closes what the injector keeps open (the token endpoint's pooled connections). */
  close?(): void;
}

/** The request as the upstream will receive it, for a signature over it. */
export interface OutgoingRequest {
  readonly method: string;
  /**
   * Path and query as the exchange forwards them, below the target's base path ('' or
   * starting with '/' or '?'); the signer puts the base path in front, as the forwarder does.
   */
  readonly pathAndQuery: string;
  /** Request headers after cleaning and injection (lower-case names); the signer adds to them. */
  readonly headers: NodeJS.Dict<string | string[]>;
}

/** A per-request signature stage, compiled with its injector. */
export interface RequestSigner {
  /** True when the signature covers the body: the exchange reads it whole (up to maxBodyBytes) first. */
  readonly needsBody: boolean;
  /**
   * Signs one request. `body` is the whole body when `needsBody`, else null. Rejects with a
   * ProxyError: SECRET_FIELD_MISSING like `apply`, PATH_REJECTED for a query it cannot sign.
   */
  sign(request: OutgoingRequest, body: Buffer | null, secret: SecretData): Promise<SignedRequest>;
}

/** What a signer adds to one request. */
export interface SignedRequest {
  /** Headers to set (lower-case names), each replacing a client header of that name. */
  readonly headers: ReadonlyArray<readonly [lowerName: string, value: string]>;
  /** The path and query to forward (below the base path): the request's own, or with the query put into canonical form. */
  readonly pathAndQuery: string;
}

/** One strategy: compile validated config into an apply function, and describe it without values. */
export interface InjectionType<C extends InjectConfig> {
  compile(config: C, secretPath: string): (secret: SecretData) => Injection;
  redact(config: C): string;
}

/** Characters Node refuses in a header value (anything but TAB, visible ASCII and obs-text). */
export const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** CR, LF, NUL and other C0 controls: break a header, and almost always a copy-paste accident. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** How a field value is going to be used, which decides what characters it may hold. */
export type FieldUse = 'header' | 'encoded';

/**
 * Reads a secret field that an injection needs. Missing, empty, non-string, or holding a
 * character that cannot travel (CR/LF/NUL in any use; anything Node rejects in a header value
 * when used raw in one) → SECRET_FIELD_MISSING naming the field and the secret, never the value.
 * A missing field's message lists the names of the fields the secret does have.
 */
export function requireField(secret: SecretData, field: string, secretPath: string, use: FieldUse): string {
  const value: unknown = Object.hasOwn(secret, field) ? secret[field] : undefined;
  if (value === undefined) {
    return fail(
      `Secret '${secretPath}' has no field '${field}'${didYouMean(field, Object.keys(secret), "'")}; ${fieldsOf(secret)}. Add the field in Vault or fix the service's inject config.`,
    );
  }
  if (typeof value !== 'string' || value === '') {
    return fail(`Secret '${secretPath}' field '${field}' is empty; put the value into it in Vault.`);
  }
  if (CONTROL.test(value)) {
    return fail(
      `Secret '${secretPath}' field '${field}' contains a line break or control character (CR, LF or NUL; often a trailing newline from a file), so it cannot be sent.`,
    );
  }
  if (use === 'header' && INVALID_HEADER_VALUE.test(value)) {
    return fail(`Secret '${secretPath}' field '${field}' contains characters that are not allowed in an HTTP header value.`);
  }
  return value;
}

/** At most this many field names are listed, so a secret with many fields keeps the message short. */
const MAX_LISTED_FIELDS = 20;

/** The names (never the values) of a secret's fields, for a message about a missing one. */
function fieldsOf(secret: SecretData): string {
  const names = Object.keys(secret).sort();
  if (names.length === 0) return 'it has no fields';
  const listed = names.slice(0, MAX_LISTED_FIELDS).map((name) => `'${name}'`);
  const more = names.length > MAX_LISTED_FIELDS ? ` and ${names.length - MAX_LISTED_FIELDS} more` : '';
  return `its field${names.length === 1 ? ' is' : 's are'} ${listed.join(', ')}${more}`;
}

function fail(message: string): never {
  throw new ProxyError('SECRET_FIELD_MISSING', message);
}

/** Freezes an Injection so a shared, cached value cannot be altered by a caller. */
export function freezeInjection(injection: Injection): Injection {
  for (const header of injection.headers) Object.freeze(header);
  Object.freeze(injection.headers);
  if (injection.query) Object.freeze(injection.query);
  Object.freeze(injection.secretValues);
  return Object.freeze(injection);
}

/** Unique, non-empty values, in order. */
export function uniqueValues(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}
