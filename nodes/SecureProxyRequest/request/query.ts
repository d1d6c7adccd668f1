/**
 * Query strings from the node's parameters. Arrays follow the "Array Format in Query
 * Parameters" option the way n8n's HTTP Request node does; nested objects use brackets.
 */
import { decodeComponent } from '../shared/parse';

/** How array values are written: `a=1&a=2`, `a[]=1&a[]=2` or `a[0]=1&a[1]=2`. */
export type ArrayFormat = 'repeat' | 'brackets' | 'indices';

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function append(out: string[], key: string, value: unknown, format: ArrayFormat): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((element, index) => {
      const elementKey = format === 'repeat' ? key : format === 'brackets' ? `${key}[]` : `${key}[${index}]`;
      append(out, elementKey, element, format);
    });
    return;
  }
  if (typeof value === 'object') {
    for (const [child, childValue] of Object.entries(value as Record<string, unknown>)) append(out, `${key}[${child}]`, childValue, format);
    return;
  }
  out.push(`${encodeURIComponent(key)}=${encodeURIComponent(scalarText(value))}`);
}

/** Serializes name/value pairs; pairs with an empty name are skipped, duplicate names repeat. */
export function serializeQuery(entries: Array<[string, unknown]>, format: ArrayFormat = 'brackets'): string {
  const out: string[] = [];
  for (const [rawName, value] of entries) {
    const name = rawName.trim();
    if (name === '') continue;
    append(out, name, value, format);
  }
  return out.join('&');
}

/** Joins two query strings (either may be empty). */
export function joinQuery(first: string, second: string): string {
  if (first === '') return second;
  if (second === '') return first;
  return `${first}&${second}`;
}

/** Sets (replaces) one parameter in a query string, keeping the others in order. */
export function setQueryParameter(query: string, name: string, value: string): string {
  const encodedName = encodeURIComponent(name);
  const kept =
    query === ''
      ? []
      : query.split('&').filter((pair) => {
          const rawName = pair.split('=', 1)[0];
          return rawName !== encodedName && decodeComponent(rawName.replace(/\+/g, ' ')) !== name;
        });
  kept.push(`${encodedName}=${encodeURIComponent(value)}`);
  return kept.join('&');
}
