/**
 * Request-target checks that keep every forwarded request inside its service's target.
 *
 * They run on the RAW request target (Node never decodes `req.url`), before anything parses
 * or normalizes it, and refuse anything an upstream (or a URL parser on the way) could turn
 * into a different path or host: dot segments in any encoding, encoded slashes and
 * backslashes, double encoding, control characters, non-origin-form targets and empty
 * segments. The checks are a handful of small regular expressions over a short string.
 */
import { ProxyError } from '../contract/proxy-error';

/** Longest piece of client input quoted back in a message. */
const MAX_EXCERPT = 24;

/** Anything but visible ASCII (controls, space, DEL, bytes >= 0x80), or '#': never valid raw in a target. */
const NOT_VISIBLE_ASCII = /[^\x21-\x7e]|#/;
/**
 * `%XX` optionally preceded by any number of `25` (an encoded '%'), i.e. the character at any
 * depth of percent-encoding: `%2f`, `%252f`, `%25252f` are all a slash to some decoder chain.
 */
const ENCODED_SLASH = /%(?:25)*(?:2f|5c)/i;
const ENCODED_CONTROL = /%(?:25)*(?:[01][0-9a-f]|7f)/i;
/** Double-encoded dot (`%252e`): a second decoding turns it into a dot. */
const DOUBLE_ENCODED_DOT = /%(?:25)+2e/i;
/** 0xC0/0xC1 never occur in UTF-8; they start the classic overlong '.' and '/' encodings. */
const OVERLONG_UTF8 = /%(?:25)*c[01]/i;
/**
 * A `.` or `..` segment, each dot raw or percent-encoded at any depth, optionally followed by
 * `;params` (Tomcat and others treat `/..;x/` as `/../`).
 */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%(?:25)*2e){1,2}(?:;[^/]*)?(?=\/|$)/i;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function excerpt(text: string): string {
  return text.length > MAX_EXCERPT ? `${text.slice(0, MAX_EXCERPT)}…` : text;
}

/** Why a target is not in origin form (`/path?query`), for the app-wide check. */
export function describeNonOriginForm(target: string): string | null {
  if (target.charCodeAt(0) === 0x2f /* / */) return null;
  if (target === '*') return "The asterisk-form request target '*' is not accepted; send a path starting with '/'.";
  if (SCHEME.test(target)) {
    return "Absolute-form request targets (a full URL in the request line) are not accepted; send a path starting with '/'.";
  }
  if (target === '') return "The request target is empty; send a path starting with '/'.";
  return `Authority-form or relative request targets ('${excerpt(target)}') are not accepted; send a path starting with '/'.`;
}

/**
 * Returns why `target` (a raw request target: path plus optional query) could leave the
 * service base, or null when it is safe to forward. Only the path part gets the segment and
 * encoding checks; the query is opaque to routing (encoded slashes are normal there).
 */
export function findUnsafeTarget(target: string): string | null {
  const form = describeNonOriginForm(target);
  if (form !== null) return form;
  const bad = NOT_VISIBLE_ASCII.exec(target);
  if (bad !== null) {
    return bad[0] === '#'
      ? "The request path contains '#'; a fragment is never sent to a server (percent-encode it as %23)."
      : `The request path contains a control, space or non-ASCII character (code ${bad[0].charCodeAt(0)}); percent-encode it.`;
  }
  const question = target.indexOf('?');
  const path = question === -1 ? target : target.slice(0, question);

  if (path.includes('\\')) return 'The request path contains a backslash, which some servers treat as a slash.';
  if (path.includes('//')) return "The request path contains an empty segment ('//'), which can turn into a protocol-relative URL.";
  let match = DOT_SEGMENT.exec(path);
  if (match !== null) {
    return `The request path contains a dot segment ('${excerpt(match[0].replace(/^\//, ''))}', raw or percent-encoded) that could leave the service base.`;
  }
  if (!path.includes('%')) return null;
  match = ENCODED_SLASH.exec(path);
  if (match !== null) return `The request path contains an encoded slash or backslash ('${match[0]}').`;
  match = ENCODED_CONTROL.exec(path);
  if (match !== null) return `The request path contains an encoded control character such as NUL ('${match[0]}').`;
  match = DOUBLE_ENCODED_DOT.exec(path);
  if (match !== null) return `The request path contains a double-encoded dot ('${match[0]}').`;
  match = OVERLONG_UTF8.exec(path);
  if (match !== null) return `The request path contains an invalid (overlong) UTF-8 byte ('${match[0]}').`;
  return null;
}

/** Throws PATH_REJECTED when `target` is unsafe to forward; see {@link findUnsafeTarget}. */
export function assertSafeTarget(target: string): void {
  const reason = findUnsafeTarget(target);
  if (reason !== null) throw new ProxyError('PATH_REJECTED', reason);
}
