/**
 * Request-target checks that keep every forwarded request inside its service's target.
 *
 * They run on the RAW request target (Node never decodes `req.url`), before anything parses
 * or normalizes it, and refuse anything an upstream (or a URL parser on the way) could turn
 * into a different path or host: dot segments in any encoding, encoded slashes and
 * backslashes, double encoding, control characters, non-origin-form targets and empty
 * segments; and, in the path, every non-standard percent-encoding: `%` without two hex
 * digits (IIS's `%uXXXX`), escapes that are not valid UTF-8 (overlong forms such as
 * `%e0%80%ae`, surrogates, truncated sequences), and characters that Unicode compatibility
 * normalisation (NFKC) turns into a delimiter (the fullwidth dot `%ef%bc%8e` and slash
 * `%ef%bc%8f`), each also one `%25` deeper. Standard decoders read these harmlessly; IIS-style
 * and NFKC-normalising servers read some of them as dots and slashes. The checks are small
 * regular expressions and one linear pass over a short string.
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
/** A '%' that does not start a `%XX` escape: `%u002e`, `%%`, a trailing '%'. */
const INVALID_ESCAPE = /%(?![0-9a-f]{2})/i;
/** An IIS `%u` escape at any depth of percent-encoding (`%u002e`, `%25u002e`). */
const UNICODE_ESCAPE = /%(?:25)*u/i;
/** Escapes of bytes >= 0x80: the non-ASCII part of a path, decoded and checked as UTF-8. */
const NON_ASCII_ESCAPES = /(?:%[89a-f][0-9a-f])+/gi;
/** Delimiters no character may turn into under NFKC (fullwidth dot, slash, reverse solidus, percent, …). */
const NFKC_DELIMITERS = /[./\\%?#;:]/;
/** Levels of `%25` decoding looked through (`%25ef%25bc%258e` is a fullwidth dot after one). */
const MAX_DEPTH = 3;

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
  if (UNICODE_ESCAPE.test(path)) return "The request path contains a %u escape (IIS-style '%uXXXX'), which is not standard percent-encoding.";
  match = INVALID_ESCAPE.exec(path);
  if (match !== null)
    return `The request path contains a '%' that is not followed by two hex digits ('${excerpt(path.slice(match.index, match.index + 3))}'); encode a literal '%' as %25.`;
  return findUnsafeEncoding(path);
}

/** RFC 3629 UTF-8 of bytes >= 0x80 only: no overlong forms, no surrogates, nothing above U+10FFFF, nothing cut short. */
function isStrictUtf8(bytes: Buffer): boolean {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    // [length, lowest allowed second byte, highest allowed second byte] (RFC 3629 §4).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0; // overlong
      if (lead === 0xed) high = 0x9f; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90; // overlong
      if (lead === 0xf4) high = 0x8f; // above U+10FFFF
    } else return false; // a continuation byte first, C0/C1, F5-FF
    if (i + length > bytes.length) return false;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return false;
    for (let k = 2; k < length; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return false;
    i += length;
  }
  return true;
}

/**
 * The non-ASCII escapes of `path`, and of the path after each `%25` → `%` decoding: invalid
 * UTF-8, or a character NFKC turns into a delimiter, is refused.
 */
function findUnsafeEncoding(path: string): string | null {
  let level = path;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    for (const match of level.matchAll(NON_ASCII_ESCAPES)) {
      const bytes = Buffer.from(match[0].replaceAll('%', ''), 'hex');
      if (!isStrictUtf8(bytes)) {
        return `The request path contains percent-escapes that are not valid UTF-8 ('${excerpt(match[0])}': overlong, surrogate or truncated); send the UTF-8 bytes of the character.`;
      }
      if (NFKC_DELIMITERS.test(bytes.toString('utf8').normalize('NFKC'))) {
        return `The request path contains a character that Unicode normalisation turns into a delimiter ('${excerpt(match[0])}', e.g. a fullwidth dot or slash).`;
      }
    }
    if (level.search(/%25/i) === -1) return null;
    level = level.replace(/%25/gi, '%');
  }
  return null;
}

/** Throws PATH_REJECTED when `target` is unsafe to forward; see {@link findUnsafeTarget}. */
export function assertSafeTarget(target: string): void {
  const reason = findUnsafeTarget(target);
  if (reason !== null) throw new ProxyError('PATH_REJECTED', reason);
}
