/**
 * `inject: { type: query, param, field }` → `?<param>=<secret[field]>`, replacing every
 * occurrence of `param` the client sent and keeping the rest of its query byte for byte.
 */
import type { InjectConfig } from '../../config/schema';
import { ProxyError } from '../../contract/proxy-error';
import { freezeInjection, requireField, uniqueValues, type InjectionType } from './types';

type QueryConfig = Extract<InjectConfig, { type: 'query' }>;

export const query: InjectionType<QueryConfig> = {
  compile(config, secretPath) {
    const { param, field } = config;
    const encodedParam = encodeURIComponent(param);
    return (secret) => {
      const value = requireField(secret, field, secretPath, 'encoded');
      let encodedValue: string;
      try {
        encodedValue = encodeURIComponent(value);
      } catch (err) {
        // Only a lone UTF-16 surrogate makes encodeURIComponent throw (URIError).
        if (!(err instanceof URIError)) throw err;
        throw new ProxyError('SECRET_FIELD_MISSING', `Secret '${secretPath}' field '${field}' is not valid Unicode text and cannot be sent in a URL.`);
      }
      return freezeInjection({
        headers: [],
        query: [param, value],
        queryString: `${encodedParam}=${encodedValue}`,
        secretValues: uniqueValues([value, encodedValue]),
      });
    };
  },
  redact: (config) => `query parameter '${config.param}' from field '${config.field}'`,
};

/** The decoded name of one `name=value` query piece, as an upstream's form decoder would read it. */
function pieceName(piece: string): string {
  const equals = piece.indexOf('=');
  const raw = equals === -1 ? piece : piece.slice(0, equals);
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch (err) {
    // Malformed escapes: a decoder cannot read this as our parameter either.
    if (err instanceof URIError) return raw;
    throw err;
  }
}

/**
 * Returns `query` (without '?', possibly empty) with every piece named `param` (raw or
 * percent-encoded, '+' as space) removed and `pair` (`name=value`, encoded) appended. Other
 * pieces, including empty ones and their order, are kept byte for byte.
 */
export function replaceQueryParam(query: string, param: string, pair: string): string {
  if (query === '') return pair;
  // Fast path: without the name, an escape or a '+', no piece can decode to our parameter.
  if (query.indexOf(param) === -1 && query.indexOf('%') === -1 && query.indexOf('+') === -1) return `${query}&${pair}`;
  const kept: string[] = [];
  for (const piece of query.split('&')) {
    if (pieceName(piece) !== param) kept.push(piece);
  }
  kept.push(pair);
  return kept.join('&');
}
