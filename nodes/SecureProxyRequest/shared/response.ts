/**
 * Reading a proxy response: header values and a JSON body, without exceptions.
 */
import { parseJson } from './parse';
import type { ProxyResponse } from './types';

/** First value of a header as a string. */
export function headerValue(headers: ProxyResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses a JSON body, or returns undefined when the bytes are not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const parsed = parseJson(body.toString('utf8'));
  return parsed.ok ? parsed.value : undefined;
}
