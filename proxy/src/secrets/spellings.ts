/**
 * The spellings a secret value takes once some code has serialised it. Both nets that hide
 * secrets need them: the log redactor (a value in a query string or a JSON log field) and the
 * response scrubber (an upstream echoing the value in a URL, a Location or a JSON body). One
 * definition, so the two cannot drift apart; each side adds the forms only it needs.
 */

/** The common spellings of one secret value. */
export interface SecretSpellings {
  /** As it is. */
  readonly raw: string;
  /** Inside a JSON string: `"`, `\` and controls escaped as JSON.stringify writes them. */
  readonly jsonEscaped: string;
  /** As encodeURIComponent writes it; null for a lone UTF-16 surrogate, which no URL can carry. */
  readonly percentEncoded: string | null;
}

function percentEncode(value: string): string | null {
  try {
    return encodeURIComponent(value);
  } catch (err) {
    if (err instanceof URIError) return null;
    throw err;
  }
}

/** The raw, JSON-escaped and percent-encoded spellings of `value` (some may be equal). */
export function secretSpellings(value: string): SecretSpellings {
  return { raw: value, jsonEscaped: JSON.stringify(value).slice(1, -1), percentEncoded: percentEncode(value) };
}
