/**
 * The parts of an HTTP Request node's URL, which may be an n8n expression
 * (`=https://api.github.com/repos/{{ $json.repo }}/issues?key=…`). Expressions are kept in
 * place; only the static text around them is split, and a part that an expression touches
 * is marked as dynamic.
 */

/** Stands for a `{{ … }}` inside the static text; no URL contains it. */
export const EXPRESSION_MARK = '\u0000';

export interface UrlParts {
  scheme: string;
  /** `user:password`, undecoded, or null. */
  userinfo: string | null;
  /** Host with port as written, lower case. */
  host: string;
  /** Path with its expressions restored, '' when none. */
  path: string;
  /** Query pairs as written (undecoded), expressions restored. */
  query: Array<{ name: string; value: string }>;
  /** Whether the original value was an expression (starts with `=`). */
  expression: boolean;
}

const URL_SHAPE = /^([a-z][a-z0-9+.-]*):\/\/(?:([^/?#@\u0000]*)@)?([^/?#\u0000]*)([^?#]*)(?:\?([^#]*))?/i;

/** The static text of a parameter value, each `{{ … }}` replaced by EXPRESSION_MARK; expressions in order. */
export function staticText(value: string): { text: string; expressions: string[] } {
  if (!value.startsWith('=')) return { text: value, expressions: [] };
  const expressions: string[] = [];
  const text = value.slice(1).replace(/\{\{[\s\S]*?\}\}/g, (expression) => {
    expressions.push(expression);
    return EXPRESSION_MARK;
  });
  return { text, expressions };
}

/** Puts the expressions back in place of their marks. */
function restore(text: string, expressions: readonly string[], offset: { next: number }): string {
  return text.replace(/\u0000/g, () => expressions[offset.next++] ?? '');
}

/**
 * Splits a URL value, or returns null when it is not an absolute URL or its scheme, user info
 * or host is (partly) an expression: then nobody can tell which API it calls.
 */
export function splitUrl(value: string): UrlParts | null {
  const { text, expressions } = staticText(value);
  const match = URL_SHAPE.exec(text);
  if (match === null || match[3] === '' || (match[0].length < text.length && text[match[0].length] !== '#')) {
    return null;
  }
  // Marks before the path belong to the host or user info: refuse.
  const beforePath = `${match[1]}://${match[2] ?? ''}${match[3]}`;
  if (beforePath.includes(EXPRESSION_MARK)) return null;
  const offset = { next: 0 };
  const path = restore(match[4], expressions, offset);
  const query = (match[5] ?? '')
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = restore(eq === -1 ? pair : pair.slice(0, eq), expressions, offset);
      const rest = restore(eq === -1 ? '' : pair.slice(eq + 1), expressions, offset);
      return { name, value: rest };
    });
  return { scheme: match[1].toLowerCase(), userinfo: match[2] ?? null, host: match[3].toLowerCase(), path, query, expression: value.startsWith('=') };
}

/** Decodes a URL component, keeping text that is not valid percent-encoding as it is. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
