import { decodeBody, fileNameFromDisposition, fileNameFromPath } from '../../../nodes/SecureProxyRequest/response/format';
import { responseToItems, type ResponseSettings } from '../../../nodes/SecureProxyRequest/response/items';
import type { ProxyResponse } from '../../../nodes/SecureProxyRequest/shared/types';

const fail = (message: string, description?: string): never => {
  throw new Error(`${message} | ${description ?? ''}`);
};
const prepareBinary = async (data: Buffer, fileName?: string, mimeType?: string) => ({
  data: data.toString('base64'),
  mimeType: mimeType ?? 'application/octet-stream',
  fileName,
});

function response(body: string | Buffer, contentType?: string, extra: Record<string, string> = {}): ProxyResponse {
  return {
    statusCode: 200,
    statusMessage: 'OK',
    headers: { ...(contentType ? { 'content-type': contentType } : {}), 'x-request-id': 'r1', ...extra },
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}

const settings = (overrides: Partial<ResponseSettings> = {}): ResponseSettings => ({
  format: 'autodetect',
  fullResponse: false,
  neverError: false,
  outputField: 'data',
  ...overrides,
});

describe('decodeBody', () => {
  const pdf = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0x01, 0xff]);
  it.each([
    ['JSON by content type', response('{"a":1}', 'application/json; charset=utf-8'), 'autodetect', { kind: 'json', value: { a: 1 } }],
    ['+json types', response('{"a":1}', 'application/problem+json'), 'autodetect', { kind: 'json', value: { a: 1 } }],
    ['broken JSON as text', response('{nope', 'application/json'), 'autodetect', { kind: 'text', value: '{nope' }],
    ['text', response('hello', 'text/plain'), 'autodetect', { kind: 'text', value: 'hello' }],
    ['XML as text', response('<a/>', 'application/xml'), 'autodetect', { kind: 'text', value: '<a/>' }],
    ['untyped JSON', response('[1,2]'), 'autodetect', { kind: 'json', value: [1, 2] }],
    ['untyped text', response('plain words'), 'autodetect', { kind: 'text', value: 'plain words' }],
    ['empty body', response(''), 'autodetect', { kind: 'empty' }],
    ['forced text', response('{"a":1}', 'application/json'), 'text', { kind: 'text', value: '{"a":1}' }],
    ['forced JSON', response('{"a":1}', 'text/plain'), 'json', { kind: 'json', value: { a: 1 } }],
  ])('%s', (_name, res, format, expected) => {
    expect(decodeBody(res, format as never, '/x')).toEqual(expected);
  });

  it('reads other types as a file, named from Content-Disposition or the path', () => {
    expect(decodeBody(response(pdf, 'application/pdf', { 'content-disposition': 'attachment; filename="q3 report.pdf"' }), 'autodetect', '/files/x')).toEqual({
      kind: 'file',
      data: pdf,
      mimeType: 'application/pdf',
      fileName: 'q3 report.pdf',
    });
    expect(decodeBody(response(pdf, 'application/pdf'), 'autodetect', '/files/report%20v2.pdf')).toMatchObject({ kind: 'file', fileName: 'report v2.pdf' });
    expect(decodeBody(response(pdf), 'autodetect', '/download')).toMatchObject({ kind: 'file', fileName: undefined });
    expect(decodeBody(response('{"a":1}', 'application/json'), 'file', '/x.json')).toMatchObject({ kind: 'file', fileName: 'x.json' });
  });

  it('returns null for a forced JSON format when the body is not JSON', () => {
    expect(decodeBody(response('nope', 'text/plain'), 'json', '/x')).toBeNull();
  });

  it.each([
    ['attachment; filename="a.txt"', 'a.txt'],
    ['attachment; filename=b.csv', 'b.csv'],
    ['attachment; filename*=UTF-8\'\'%E2%82%AC%20rates.csv; filename="rates.csv"', '€ rates.csv'],
    ['inline', undefined],
    [undefined, undefined],
  ])('file name from %j', (header, name) => {
    expect(fileNameFromDisposition(header)).toBe(name);
  });

  it('takes a file name from the path only when it has an extension', () => {
    expect(fileNameFromPath('/a/b.tar.gz')).toBe('b.tar.gz');
    expect(fileNameFromPath('/a/b')).toBeUndefined();
  });
});

describe('responseToItems', () => {
  it('splits a JSON array into items, wrapping non-objects', async () => {
    const items = await responseToItems(response('[{"id":1},{"id":2},3]', 'application/json'), settings(), '/x', prepareBinary, fail);
    expect(items).toEqual([{ json: { id: 1 } }, { json: { id: 2 } }, { json: { data: 3 } }]);
  });

  it('returns an object as one item and text in the output field', async () => {
    expect(await responseToItems(response('{"a":1}', 'application/json'), settings(), '/x', prepareBinary, fail)).toEqual([{ json: { a: 1 } }]);
    expect(await responseToItems(response('hi', 'text/plain'), settings({ outputField: 'text' }), '/x', prepareBinary, fail)).toEqual([
      { json: { text: 'hi' } },
    ]);
    expect(await responseToItems(response(''), settings(), '/x', prepareBinary, fail)).toEqual([{ json: {} }]);
  });

  it('returns a file as binary data with file name and MIME type', async () => {
    const items = await responseToItems(
      response(Buffer.from([1, 2, 3]), 'image/png', { 'content-disposition': 'attachment; filename="a.png"' }),
      settings({ outputField: 'file' }),
      '/img',
      prepareBinary,
      fail,
    );
    expect(items).toEqual([{ json: {}, binary: { file: { data: 'AQID', mimeType: 'image/png', fileName: 'a.png' } } }]);
  });

  it('returns the full response: body, headers, status', async () => {
    const items = await responseToItems(response('[1]', 'application/json'), settings({ fullResponse: true }), '/x', prepareBinary, fail);
    expect(items).toEqual([
      { json: { body: [1], headers: { 'content-type': 'application/json', 'x-request-id': 'r1' }, statusCode: 200, statusMessage: 'OK' } },
    ]);
    const file = await responseToItems(response(Buffer.from([0]), 'application/zip'), settings({ fullResponse: true }), '/x', prepareBinary, fail);
    expect(file[0].json).toEqual({ headers: { 'content-type': 'application/zip', 'x-request-id': 'r1' }, statusCode: 200, statusMessage: 'OK' });
    expect(file[0].binary?.data.mimeType).toBe('application/zip');
  });

  it('explains a forced JSON format that does not fit', async () => {
    await expect(responseToItems(response('<html>', 'text/html'), settings({ format: 'json' }), '/x', prepareBinary, fail)).rejects.toThrow(
      /not valid JSON \| Set Response Format to Text/,
    );
  });
});
