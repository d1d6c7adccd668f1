/**
 * Query parameters and headers, as fields or as JSON, like n8n's HTTP Request node. The
 * Authorization header is not among them: the proxy owns authentication.
 */
import type { INodeProperties } from 'n8n-workflow';

/** A name/value fixedCollection shown when `show` matches. */
function nameValueCollection(
  name: string,
  displayName: string,
  description: string,
  show: Record<string, Array<string | boolean>>,
  namePlaceholder: string,
  valuePlaceholder: string,
): INodeProperties {
  return {
    displayName,
    name,
    type: 'fixedCollection',
    displayOptions: { show },
    typeOptions: { multipleValues: true },
    placeholder: 'Add Parameter',
    default: { parameters: [{ name: '', value: '' }] },
    description,
    options: [
      {
        name: 'parameters',
        displayName: 'Parameter',
        values: [
          { displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: namePlaceholder, description: 'Name of the parameter' },
          { displayName: 'Value', name: 'value', type: 'string', default: '', placeholder: valuePlaceholder, description: 'Value of the parameter' },
        ],
      },
    ],
  };
}

export const queryHeaderProperties: INodeProperties[] = [
  {
    displayName: 'Send Query Parameters',
    name: 'sendQuery',
    type: 'boolean',
    default: false,
    noDataExpression: true,
    description: 'Whether the request has query parameters',
  },
  {
    displayName: 'Specify Query Parameters',
    name: 'specifyQuery',
    type: 'options',
    displayOptions: { show: { sendQuery: [true] } },
    options: [
      { name: 'Using Fields Below', value: 'keypair' },
      { name: 'Using JSON', value: 'json' },
    ],
    default: 'keypair',
    description: 'How to enter the query parameters',
  },
  nameValueCollection(
    'queryParameters',
    'Query Parameters',
    'Query parameters to add to the path',
    { sendQuery: [true], specifyQuery: ['keypair'] },
    'e.g. page',
    'e.g. 2',
  ),
  {
    displayName: 'JSON',
    name: 'jsonQuery',
    type: 'json',
    displayOptions: { show: { sendQuery: [true], specifyQuery: ['json'] } },
    default: '',
    placeholder: '{ "page": 2, "tags": ["a", "b"] }',
    description: 'Query parameters as a JSON object; arrays follow the Array Format in Query Parameters option',
  },
  {
    displayName: 'Send Headers',
    name: 'sendHeaders',
    type: 'boolean',
    default: false,
    noDataExpression: true,
    description: 'Whether the request has headers',
  },
  {
    displayName: 'Specify Headers',
    name: 'specifyHeaders',
    type: 'options',
    displayOptions: { show: { sendHeaders: [true] } },
    options: [
      { name: 'Using Fields Below', value: 'keypair' },
      { name: 'Using JSON', value: 'json' },
    ],
    default: 'keypair',
    description: 'How to enter the headers',
  },
  {
    ...nameValueCollection(
      'headerParameters',
      'Header Parameters',
      'Headers to send',
      { sendHeaders: [true], specifyHeaders: ['keypair'] },
      'e.g. Accept',
      'e.g. application/json',
    ),
    hint: 'Authorization, Proxy-Authorization, Host and x-secure-proxy-* headers are refused: the proxy owns authentication and the host.',
  },
  {
    displayName: 'JSON',
    name: 'jsonHeaders',
    type: 'json',
    displayOptions: { show: { sendHeaders: [true], specifyHeaders: ['json'] } },
    default: '',
    placeholder: '{ "Accept": "application/json" }',
    description: 'Headers as a JSON object',
    hint: 'Authorization, Proxy-Authorization, Host and x-secure-proxy-* headers are refused: the proxy owns authentication and the host.',
  },
];
