/**
 * Request bodies by kind, serialized here to bytes or text with their Content-Type, so what
 * goes on the wire does not depend on how n8n's HTTP client would guess it, and a body can
 * be sent again (a followed redirect, the next page).
 */
import type { Fail } from './path';

/** Body kinds, as in n8n's HTTP Request node. */
export type BodyKind = 'json' | 'form-urlencoded' | 'multipart-form-data' | 'raw' | 'binaryData';

/** A serialized body. */
export interface BuiltBody {
  body: string | Buffer;
  /** Content-Type to send unless the user set one (multipart always uses its own). */
  contentType: string;
  /** The JSON body as an object, kept for pagination parameters sent in the body. */
  jsonBody?: Record<string, unknown>;
}

/** One part of a multipart/form-data body: a text field or a file. */
export type MultipartPart = { name: string; value: string } | { name: string; data: Buffer; fileName: string; mimeType: string };

/** A JSON body from an object (fields) or from JSON text. */
export function jsonBody(value: unknown, fail: Fail): BuiltBody {
  let parsed = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return { body: '{}', contentType: 'application/json', jsonBody: {} };
    try {
      parsed = JSON.parse(value) as unknown;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      fail('The JSON body is not valid JSON', `Check the JSON field: ${reason}`);
    }
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  return {
    body: JSON.stringify(parsed ?? null),
    contentType: 'application/json',
    ...(isObject ? { jsonBody: parsed as Record<string, unknown> } : {}),
  };
}

/** A JSON object from name/value pairs (the "Using Fields Below" mode). */
export function objectFromPairs(pairs: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [rawName, value] of pairs) {
    const name = rawName.trim();
    if (name !== '') object[name] = value;
  }
  return object;
}

/** An application/x-www-form-urlencoded body from pairs, or from text written as `a=1&b=2`. */
export function formUrlencodedBody(input: Array<[string, unknown]> | string): BuiltBody {
  if (typeof input === 'string') return { body: input, contentType: 'application/x-www-form-urlencoded' };
  const params = new URLSearchParams();
  for (const [rawName, value] of input) {
    const name = rawName.trim();
    if (name === '') continue;
    params.append(name, typeof value === 'string' ? value : JSON.stringify(value ?? ''));
  }
  return { body: params.toString(), contentType: 'application/x-www-form-urlencoded' };
}

/**
 * A multipart/form-data body, serialized by the platform's own FormData encoder (the
 * boundary is in the returned Content-Type).
 */
export async function multipartBody(parts: MultipartPart[]): Promise<BuiltBody> {
  const form = new FormData();
  for (const part of parts) {
    if ('data' in part) {
      form.append(part.name, new Blob([new Uint8Array(part.data)], { type: part.mimeType }), part.fileName);
    } else {
      form.append(part.name, part.value);
    }
  }
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
  return { body: Buffer.from(await encoded.arrayBuffer()), contentType };
}

/** A raw body with the Content-Type the user named. */
export function rawBody(text: string, contentType: string, fail: Fail): BuiltBody {
  const type = contentType.trim();
  if (type === '') fail('The raw body needs a content type', 'Set Content Type, e.g. text/plain, application/xml or text/csv.');
  if (/[\r\n]/.test(type)) fail('The content type must be on one line');
  return { body: text, contentType: type };
}

/** A body that is one file from the input item, sent as its bytes. */
export function binaryBody(data: Buffer, mimeType: string | undefined): BuiltBody {
  return { body: data, contentType: mimeType && mimeType !== '' ? mimeType : 'application/octet-stream' };
}
