/**
 * HTTP Request node parameters of each typeVersion, read into the Secure Proxy Request node's
 * parameters: rows and JSON for query and headers, every body type, the options both nodes share.
 */
import { readRequestShape } from '../../../../proxy/src/admin/migrate/http-request-shape';

describe('readRequestShape', () => {
  it('reads v1 JSON parameters and a raw body, keeping only the timeout option', () => {
    expect(
      readRequestShape(
        {
          requestMethod: 'put',
          jsonParameters: true,
          queryParametersJson: '{ "dryRun": true }',
          headerParametersJson: '{ "Content-Type": "application/xml" }',
          bodyParametersJson: '<a>1</a>',
          options: { bodyContentType: 'raw', timeout: 5000, fullResponse: true },
        },
        1,
      ),
    ).toEqual({
      method: 'PUT',
      parameters: {
        sendQuery: true,
        specifyQuery: 'json',
        jsonQuery: '{ "dryRun": true }',
        sendHeaders: true,
        specifyHeaders: 'json',
        jsonHeaders: '{ "Content-Type": "application/xml" }',
        sendBody: true,
        contentType: 'raw',
        rawContentType: 'text/plain',
        rawBody: '<a>1</a>',
        options: { timeout: 5000 },
      },
      headerNames: ['Content-Type'],
      droppedOptions: ['fullResponse'],
    });
  });

  it('reads v2 form rows', () => {
    expect(
      readRequestShape(
        { requestMethod: 'POST', bodyParametersUi: { parameter: [{ name: 'a', value: '1' }] }, options: { bodyContentType: 'form-urlencoded' } },
        2,
      ).parameters,
    ).toEqual({
      sendBody: true,
      contentType: 'form-urlencoded',
      specifyFormBody: 'keypair',
      formParameters: { parameters: [{ name: 'a', value: '1' }] },
      options: {},
    });
  });

  it.each([
    [
      'a form string',
      { sendBody: true, contentType: 'form-urlencoded', specifyBody: 'string', body: 'a=1&b=2' },
      { contentType: 'form-urlencoded', specifyFormBody: 'string', formBody: 'a=1&b=2' },
    ],
    [
      'multipart with a file',
      {
        sendBody: true,
        contentType: 'multipart-form-data',
        bodyParameters: {
          parameters: [
            { parameterType: 'formBinaryData', name: 'file', inputDataFieldName: 'data' },
            { name: 'note', value: 'x' },
          ],
        },
      },
      {
        contentType: 'multipart-form-data',
        multipartParameters: {
          parameters: [
            { parameterType: 'formBinaryData', name: 'file', inputDataFieldName: 'data' },
            { parameterType: 'formData', name: 'note', value: 'x' },
          ],
        },
      },
    ],
    [
      'a raw body',
      { sendBody: true, contentType: 'raw', rawContentType: 'text/csv', body: 'a,b' },
      { contentType: 'raw', rawContentType: 'text/csv', rawBody: 'a,b' },
    ],
    ['a binary file', { sendBody: true, contentType: 'binaryData', inputDataFieldName: 'report' }, { contentType: 'binaryData', inputDataFieldName: 'report' }],
    ['a JSON body', { sendBody: true, specifyBody: 'json', jsonBody: '{"a":1}' }, { contentType: 'json', specifyBody: 'json', jsonBody: '{"a":1}' }],
  ])('reads a v4 node with %s', (_label, parameters, body) => {
    expect(
      readRequestShape({ method: 'POST', ...parameters, options: { timeout: 1, response: { response: { neverError: true } }, proxy: 'http://p' } }, 4.2),
    ).toEqual({
      method: 'POST',
      parameters: { sendBody: true, ...body, options: { timeout: 1, response: { response: { neverError: true } } } },
      headerNames: [],
      droppedOptions: ['proxy'],
    });
  });
});
