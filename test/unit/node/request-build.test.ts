import { NodeOperationError, type IDataObject } from 'n8n-workflow';
import { readNodeOptions } from '../../../nodes/SecureProxyRequest/node-options';
import { buildRequest } from '../../../nodes/SecureProxyRequest/request';
import { buildHeaders, refusedHeaderReason } from '../../../nodes/SecureProxyRequest/request/headers';
import { serializeQuery, setQueryParameter } from '../../../nodes/SecureProxyRequest/request/query';
import { createExecuteMock } from '../../support/n8n-execute-mock';

const fail = (message: string, description?: string): never => {
  throw new Error(`${message} | ${description ?? ''}`);
};
const base = { service: 'echo', method: 'POST', path: '/items' };

async function build(parameters: Record<string, unknown>, items?: Parameters<typeof createExecuteMock>[0]['items']) {
  const { ctx } = createExecuteMock({ parameters: { ...base, ...parameters }, items });
  const options = readNodeOptions((parameters.options as IDataObject) ?? {}, fail);
  return await buildRequest.call(ctx, 0, options);
}

describe('query', () => {
  it.each([
    ['brackets', 'tags%5B%5D=a&tags%5B%5D=b'],
    ['repeat', 'tags=a&tags=b'],
    ['indices', 'tags%5B0%5D=a&tags%5B1%5D=b'],
  ] as const)('writes arrays in %s format', (format, expected) => {
    expect(serializeQuery([['tags', ['a', 'b']]], format)).toBe(expected);
  });

  it('encodes names and values, skips empty names and nulls, nests objects', () => {
    expect(
      serializeQuery([
        ['q', 'a b&c'],
        ['', 'x'],
        ['n', null],
        ['f', { a: 1 }],
        ['ok', true],
      ]),
    ).toBe('q=a%20b%26c&f%5Ba%5D=1&ok=true');
  });

  it('replaces one parameter and keeps the others', () => {
    expect(setQueryParameter('a=1&page=1&b=2', 'page', '2')).toBe('a=1&b=2&page=2');
    expect(setQueryParameter('', 'page', '1')).toBe('page=1');
  });

  it('joins the query written in the path with the query parameters', async () => {
    const request = await build({
      path: '/items?fixed=1',
      sendQuery: true,
      queryParameters: {
        parameters: [
          { name: 'page', value: '2' },
          { name: 'page', value: '3' },
        ],
      },
    });
    expect(request.query).toBe('fixed=1&page=2&page=3');
  });

  it('reads query parameters from JSON with the chosen array format', async () => {
    const request = await build({ sendQuery: true, specifyQuery: 'json', jsonQuery: '{"ids":[1,2],"q":"x"}', options: { queryParameterArrays: 'repeat' } });
    expect(request.query).toBe('ids=1&ids=2&q=x');
  });

  it('refuses query JSON that is not an object', async () => {
    await expect(build({ sendQuery: true, specifyQuery: 'json', jsonQuery: '[1]' })).rejects.toThrow(/must be an object/);
  });
});

describe('headers', () => {
  it.each(['Authorization', 'authorization', 'AUTHORIZATION', 'Proxy-Authorization', 'x-secure-proxy-error', 'X-Secure-Proxy-Anything', 'Host'])(
    'refuses %s with a reason',
    (name) => {
      expect(refusedHeaderReason(name)).not.toBeNull();
      expect(() => buildHeaders([[name, 'x']], fail)).toThrow(/cannot be set in this node/);
    },
  );

  it('explains that the proxy owns authentication', async () => {
    const error = await build({ sendHeaders: true, headerParameters: { parameters: [{ name: 'authorization', value: 'Bearer abc' }] } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NodeOperationError);
    expect((error as NodeOperationError).message).toBe('The authorization header cannot be set in this node');
    expect((error as NodeOperationError).description).toMatch(/proxy owns authentication/);
    expect((error as NodeOperationError).context.itemIndex).toBe(0);
  });

  it('refuses Authorization given in JSON too', async () => {
    await expect(build({ sendHeaders: true, specifyHeaders: 'json', jsonHeaders: '{"AuThOrIzAtIoN":"x"}' })).rejects.toThrow(/cannot be set/);
  });

  it('keeps ordinary headers, stringifies non-string JSON values, last value wins', () => {
    expect(
      buildHeaders(
        [
          ['Accept', 'text/csv'],
          ['X-Count', 3],
          ['accept', 'application/json'],
          ['', ''],
        ],
        fail,
      ),
    ).toEqual({ accept: 'application/json', 'X-Count': '3' });
  });

  it.each([
    ['bad name', 'x'],
    ['X-Ok', 'a\r\nInjected: 1'],
  ])('refuses header %j: %j', (name, value) => {
    expect(() => buildHeaders([[name, value]], fail)).toThrow();
  });
});

describe('body', () => {
  it('sends JSON built from fields', async () => {
    const request = await build({
      sendBody: true,
      contentType: 'json',
      bodyParameters: {
        parameters: [
          { name: 'title', value: 'Hi' },
          { name: 'n', value: 2 },
        ],
      },
    });
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(String(request.body))).toEqual({ title: 'Hi', n: 2 });
    expect(request.jsonBody).toEqual({ title: 'Hi', n: 2 });
  });

  it('sends JSON text as given (and an object from an expression)', async () => {
    expect(String((await build({ sendBody: true, specifyBody: 'json', jsonBody: '{"a":[1]}' })).body)).toBe('{"a":[1]}');
    expect(String((await build({ sendBody: true, specifyBody: 'json', jsonBody: { b: true } })).body)).toBe('{"b":true}');
  });

  it('refuses invalid JSON with a parameter error', async () => {
    await expect(build({ sendBody: true, specifyBody: 'json', jsonBody: '{nope' })).rejects.toThrow('The JSON body is not valid JSON');
  });

  it('sends form-urlencoded fields or a single string', async () => {
    const fields = await build({
      sendBody: true,
      contentType: 'form-urlencoded',
      formParameters: {
        parameters: [
          { name: 'a', value: '1 2' },
          { name: 'b', value: '&' },
        ],
      },
    });
    expect(fields.body).toBe('a=1+2&b=%26');
    expect(fields.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const text = await build({ sendBody: true, contentType: 'form-urlencoded', specifyFormBody: 'string', formBody: 'x=1&y=2' });
    expect(text.body).toBe('x=1&y=2');
  });

  it('sends multipart form-data with text fields and a file from the input item', async () => {
    const file = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]);
    const items = [{ json: {}, binary: { data: { data: file.toString('base64'), mimeType: 'application/pdf', fileName: 'report.pdf' } } }];
    const request = await build(
      {
        sendBody: true,
        contentType: 'multipart-form-data',
        sendHeaders: true,
        headerParameters: { parameters: [{ name: 'Content-Type', value: 'text/plain' }] },
        multipartParameters: {
          parameters: [
            { parameterType: 'formData', name: 'title', value: 'Q3' },
            { parameterType: 'formBinaryData', name: 'file', inputDataFieldName: 'data' },
          ],
        },
      },
      items,
    );
    const contentType = request.headers['content-type'];
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(Object.keys(request.headers).filter((h) => h.toLowerCase() === 'content-type')).toHaveLength(1);
    const form = await new Response(request.body as Buffer, { headers: { 'content-type': contentType } }).formData();
    expect(form.get('title')).toBe('Q3');
    const part = form.get('file') as File;
    expect(part.name).toBe('report.pdf');
    expect(part.type).toBe('application/pdf');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(file);
  });

  it('refuses a multipart file field whose binary property is missing', async () => {
    await expect(
      build({
        sendBody: true,
        contentType: 'multipart-form-data',
        multipartParameters: { parameters: [{ parameterType: 'formBinaryData', name: 'f', inputDataFieldName: 'nope' }] },
      }),
    ).rejects.toThrow(/binary file 'nope'/);
  });

  it('sends a raw body with its content type', async () => {
    const request = await build({ sendBody: true, contentType: 'raw', rawContentType: 'text/csv', rawBody: 'a,b\n1,2' });
    expect(request.body).toBe('a,b\n1,2');
    expect(request.headers['content-type']).toBe('text/csv');
    await expect(build({ sendBody: true, contentType: 'raw', rawContentType: '', rawBody: 'x' })).rejects.toThrow(/needs a content type/);
  });

  it('sends a binary file as its bytes with its MIME type, unless the user set Content-Type', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
    const items = [{ json: {}, binary: { img: { data: png.toString('base64'), mimeType: 'image/png' } } }];
    const request = await build({ sendBody: true, contentType: 'binaryData', inputDataFieldName: 'img' }, items);
    expect(request.body).toEqual(png);
    expect(request.headers['content-type']).toBe('image/png');
    const own = await build(
      {
        sendBody: true,
        contentType: 'binaryData',
        inputDataFieldName: 'img',
        sendHeaders: true,
        headerParameters: { parameters: [{ name: 'Content-Type', value: 'application/octet-stream' }] },
      },
      items,
    );
    expect(own.headers).toEqual({ 'Content-Type': 'application/octet-stream' });
  });
});

describe('request', () => {
  it('carries service, method, path and timeout; no body unless asked', async () => {
    const request = await build({ method: 'get', path: 'users/42', options: { timeout: 1234 } });
    expect(request).toEqual({ method: 'GET', service: 'echo', path: '/users/42', query: '', headers: {}, timeout: 1234 });
  });

  it('refuses a full URL in the path with what to write instead', async () => {
    const error = (await build({ path: 'https://api.github.com/user' }).catch((e: unknown) => e)) as NodeOperationError;
    expect(error).toBeInstanceOf(NodeOperationError);
    expect(error.description).toContain('Write the path relative to the service, like /users/42; the proxy adds the host.');
  });
});
