/**
 * Decides how a response body is read (JSON, text or a file) and decodes it. Pure functions
 * over the raw bytes and headers; response/items.ts turns the result into n8n items.
 */
import { decodeComponent, parseJson } from '../shared/parse';
import { headerValue } from '../shared/response';
import type { ProxyResponse } from '../shared/types';

/** The Response Format option. */
export type ResponseFormat = 'autodetect' | 'json' | 'text' | 'file';

/** A decoded body. */
export type DecodedBody =
  | { kind: 'empty' }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; value: string }
  | { kind: 'file'; data: Buffer; mimeType?: string; fileName?: string };

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b|^[\w.+-]+\/[\w.+-]+\+json\b/i;
const TEXT_TYPE =
  /^text\/|^application\/(?:[\w.+-]+\+)?xml\b|^application\/(?:javascript|ecmascript|x-www-form-urlencoded|graphql|yaml|x-yaml|x-ndjson)\b|^image\/svg\+xml\b/i;

/** The media type without parameters, lower case. */
export function mediaTypeOf(response: ProxyResponse): string | undefined {
  const value = headerValue(response.headers, 'content-type');
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(';', 1)[0].trim().toLowerCase();
}

/** The file name from Content-Disposition (`filename*` preferred), if any. */
export function fileNameFromDisposition(disposition: string | undefined): string | undefined {
  if (disposition === undefined) return undefined;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(disposition);
  if (extended !== null) return decodeComponent(extended[2].trim().replace(/^"|"$/g, ''));
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(disposition);
  if (plain === null) return undefined;
  const name = (plain[2] ?? plain[1]).trim();
  return name === '' ? undefined : name;
}

/** The last path segment, decoded, when it looks like a file name (`report.pdf`). */
export function fileNameFromPath(path: string): string | undefined {
  const decoded = decodeComponent(path.split('/').pop() ?? '');
  return /\.[A-Za-z0-9]{1,10}$/.test(decoded) ? decoded : undefined;
}

function looksLikeText(body: Buffer): boolean {
  const sample = body.subarray(0, 1024);
  if (sample.includes(0)) return false;
  return !sample.toString('utf8').includes('\uFFFD');
}

/**
 * Decodes the body for the chosen format. Autodetect reads JSON and text types as such, an
 * untyped body as JSON when it parses, else as text when it is text, and everything else as a
 * file. An explicit JSON format with a body that is not JSON returns null (the caller explains).
 */
export function decodeBody(response: ProxyResponse, format: ResponseFormat, requestPath: string): DecodedBody | null {
  const mediaType = mediaTypeOf(response);
  const asFile = (): DecodedBody => ({
    kind: 'file',
    data: response.body,
    mimeType: headerValue(response.headers, 'content-type'),
    fileName: fileNameFromDisposition(headerValue(response.headers, 'content-disposition')) ?? fileNameFromPath(requestPath),
  });
  if (format === 'file') return asFile();
  if (response.body.length === 0) return format === 'text' ? { kind: 'text', value: '' } : { kind: 'empty' };
  if (format === 'text') return { kind: 'text', value: response.body.toString('utf8') };
  if (format === 'json') {
    const parsed = parseJson(response.body.toString('utf8'));
    return parsed.ok ? { kind: 'json', value: parsed.value } : null;
  }
  if (mediaType !== undefined && JSON_TYPE.test(mediaType)) {
    const parsed = parseJson(response.body.toString('utf8'));
    return parsed.ok ? { kind: 'json', value: parsed.value } : { kind: 'text', value: response.body.toString('utf8') };
  }
  if (mediaType !== undefined && TEXT_TYPE.test(mediaType)) return { kind: 'text', value: response.body.toString('utf8') };
  if (mediaType === undefined) {
    const parsed = parseJson(response.body.toString('utf8'));
    if (parsed.ok) return { kind: 'json', value: parsed.value };
    if (looksLikeText(response.body)) return { kind: 'text', value: response.body.toString('utf8') };
  }
  return asFile();
}
