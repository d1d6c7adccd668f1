/**
 * Request headers from the node's parameters. The proxy owns authentication and the host:
 * a user-set Authorization, Proxy-Authorization, Host or proxy-internal header is refused
 * with the reason, never silently dropped.
 */
import { INTERNAL_HEADER_PREFIX } from '../shared/contract';
import type { Fail } from './path';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Why a header may not be set by the user, or null when it may. */
export function refusedHeaderReason(name: string): string | null {
  const lower = name.toLowerCase();
  if (lower === 'authorization') {
    return 'The secure proxy owns authentication: n8n sends your proxy token from the "Secure Proxy API" credential, and the proxy adds the API\'s own credential. Remove the Authorization header.';
  }
  if (lower === 'proxy-authorization') {
    return 'The Proxy-Authorization header is not forwarded and could carry credentials to the wrong place. Remove it; the "Secure Proxy API" credential authenticates the request.';
  }
  if (lower === 'host') return "The proxy picks the API's host from the service. Remove the Host header.";
  if (lower.startsWith(INTERNAL_HEADER_PREFIX)) {
    return `Headers starting with "${INTERNAL_HEADER_PREFIX}" are reserved for the secure proxy. Remove "${name}".`;
  }
  return null;
}

/** A header value as text: strings as they are, other JSON values serialized. */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Builds the header map from name/value pairs (from fields or a JSON object). Names are
 * matched case-insensitively; a later value replaces an earlier one.
 */
export function buildHeaders(entries: Array<[string, unknown]>, fail: Fail): Record<string, string> {
  const byLowerName = new Map<string, [string, string]>();
  for (const [rawName, value] of entries) {
    const name = rawName.trim();
    if (name === '' && (value === undefined || value === '')) continue;
    if (!TOKEN.test(name)) fail(`"${name}" is not a valid header name`, "Header names use letters, digits and - _ . ! # $ % & ' * + ^ ` | ~ only.");
    const reason = refusedHeaderReason(name);
    if (reason !== null) fail(`The ${name} header cannot be set in this node`, reason);
    if (value === undefined || value === null) continue;
    const text = headerText(value);
    if (/[\r\n\0]/.test(text)) fail(`The value of header "${name}" contains a line break or NUL`, 'Header values must be on one line.');
    byLowerName.set(name.toLowerCase(), [name, text]);
  }
  return Object.fromEntries(byLowerName.values());
}

/** The value of a header in a map built by {@link buildHeaders}, by case-insensitive name. */
export function findHeader(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === lower) return value;
  return undefined;
}
