/**
 * Where the request goes: the proxy service (from the proxy's list), the method and the path
 * relative to the service. There is no URL field: the proxy decides the host.
 */
import type { INodeProperties } from 'n8n-workflow';

export const requestProperties: INodeProperties[] = [
  {
    displayName: 'Service Name or ID',
    name: 'service',
    type: 'options',
    typeOptions: { loadOptionsMethod: 'getServices' },
    default: '',
    required: true,
    description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
    hint: 'The list shows the services your proxy token may use. The proxy adds the host and the API credential.',
  },
  {
    displayName: 'Method',
    name: 'method',
    type: 'options',
    options: [
      { name: 'DELETE', value: 'DELETE' },
      { name: 'GET', value: 'GET' },
      { name: 'HEAD', value: 'HEAD' },
      { name: 'OPTIONS', value: 'OPTIONS' },
      { name: 'PATCH', value: 'PATCH' },
      { name: 'POST', value: 'POST' },
      { name: 'PUT', value: 'PUT' },
    ],
    default: 'GET',
    description: 'The HTTP method to use; the service may allow only some of them',
  },
  {
    displayName: 'Path',
    name: 'path',
    type: 'string',
    default: '',
    required: true,
    placeholder: '/users/42',
    description: 'Path relative to the service, optionally with a query string, e.g. /users/42 or /search?q=n8n',
    hint: 'Relative to the service: the proxy adds the host. A full URL or a path starting with // is refused.',
  },
];
