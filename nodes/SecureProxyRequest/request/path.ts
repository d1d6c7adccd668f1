/**
 * The service name and the path the user wrote, checked and normalized. The proxy owns the
 * host: a path that names a host (a scheme, a leading `//`) is refused with what to write
 * instead, and so is anything a URL parser on the way would rewrite into another path
 * (dot segments, backslashes), which could step into another service.
 */
import { FORWARD_PREFIX } from '../shared/contract';
import type { PreparedRequest } from '../shared/types';

/** Reports a problem with a parameter; never returns. */
export type Fail = (message: string, description?: string) => never;

/** What to write instead of a URL, used in every path refusal. */
export const PATH_HINT = 'Write the path relative to the service, like /users/42; the proxy adds the host.';

const SCHEME_WITH_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const NON_HIERARCHICAL_SCHEME = /^(?:https?|wss?|ftp|file|data|javascript|mailto|blob):/i;
/** `.` or `..` as a whole segment, each dot raw or percent-encoded (`%2e`, also `%252e`). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%(?:25)*2e){1,2}(?:;[^/]*)?(?=\/|$)/i;
/** Same rule as the proxy's config: 1-64 letters, digits, '.', '_' and '-', starting with a letter or digit. */
export const SERVICE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const SERVICE_NAME = new RegExp(SERVICE_NAME_PATTERN);

/** Percent-encodes what may not appear raw in a URL (spaces, controls, non-ASCII), leaving the rest as written. */
export function encodeUnsafeCharacters(text: string): string {
  return text.replace(/[^\x21-\x7e]+/gu, (run) => encodeURIComponent(run));
}

/** Checks a service name: one word as configured in the proxy, e.g. `github`. */
export function checkServiceName(service: string, fail: Fail): string {
  const name = service.trim();
  if (name === '') fail('No service selected', 'Pick a service from the Service list, which shows the services your proxy token may use.');
  if (!SERVICE_NAME.test(name)) {
    fail(
      `"${name}" is not a service name`,
      'A service name is one word as configured in the proxy, such as "github" (no slashes, spaces or URL). Pick one from the Service list.',
    );
  }
  return name;
}

/** A path the node refuses, with what to write instead. */
export interface PathProblem {
  message: string;
  description: string;
}

/** Why a path relative to the service is refused, or null when it is fine. */
export function findPathProblem(input: string): PathProblem | null {
  const text = input.trim();
  if (SCHEME_WITH_AUTHORITY.test(text) || NON_HIERARCHICAL_SCHEME.test(text)) {
    return { message: `The path "${text}" is a full URL`, description: `${PATH_HINT} The service decides which host the request goes to.` };
  }
  if (/^[/\\]{2}/.test(text)) return { message: `The path "${text}" names a host (it starts with "//")`, description: PATH_HINT };
  if (text.includes('#')) {
    return {
      message: `The path "${text}" contains "#"`,
      description: `A fragment (#…) is never sent to a server. Percent-encode it as %23 if it belongs to the path. ${PATH_HINT}`,
    };
  }
  const rawPath = text.split('?', 1)[0];
  if (rawPath.includes('\\'))
    return { message: `The path "${text}" contains a backslash`, description: `Some servers read a backslash as a slash. ${PATH_HINT}` };
  if (DOT_SEGMENT.test(rawPath)) {
    return { message: `The path "${text}" contains a "." or ".." segment`, description: `Such segments could leave the service. ${PATH_HINT}` };
  }
  return null;
}

/**
 * Normalizes a path that {@link findPathProblem} accepted and splits off a query written
 * into it: `users/42` becomes `/users/42`; `host.com/x` is a path like any other.
 */
export function normalizeServicePath(input: string): { path: string; query: string } {
  const text = input.trim();
  const question = text.indexOf('?');
  const rawPath = question === -1 ? text : text.slice(0, question);
  const query = question === -1 ? '' : text.slice(question + 1);
  const path = rawPath === '' || rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  return { path: encodeUnsafeCharacters(path), query: encodeUnsafeCharacters(query) };
}

/** Checks and normalizes the path the user wrote; refuses it through `fail`. */
export function splitServicePath(input: string, fail: Fail): { path: string; query: string } {
  const problem = findPathProblem(input);
  if (problem !== null) fail(problem.message, problem.description);
  return normalizeServicePath(input);
}

/** The proxy-relative URL of a data-plane request: `/forward/{service}{path}?{query}`. */
export function forwardPath(request: Pick<PreparedRequest, 'service' | 'path' | 'query'>): string {
  return `${FORWARD_PREFIX}/${encodeURIComponent(request.service)}${request.path}${request.query ? `?${request.query}` : ''}`;
}
