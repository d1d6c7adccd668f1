/**
 * Parsing that may fail on text from elsewhere (response bodies, headers, URLs), as results
 * instead of exceptions. `JSON.parse` on a string throws only SyntaxError and
 * `decodeURIComponent` only URIError, so a failed parse is the only thing caught here.
 */

/** Parses JSON text. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Percent-decodes text, or returns it unchanged when it is not valid percent-encoding. */
export function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
