/**
 * Where the request goes: the proxy service (from the proxy's list), the method and the path
 * relative to the service. There is no URL field: the proxy decides the host.
 */
import type { INodeProperties } from 'n8n-workflow';
import { SERVICE_NAME_PATTERN } from '../request/path';
import { FROM_VERSION_2, VERSION_1 } from './versions';

/**
 * Version 1's Service: a dropdown. n8n's convention for a dropdown loaded from a method
 * (enforced by its lint rules) names it "… Name or ID"; workflows saved with version 1 keep it.
 */
const serviceV1: INodeProperties = {
  displayName: 'Service Name or ID',
  name: 'service',
  type: 'options',
  typeOptions: { loadOptionsMethod: 'getServices' },
  default: '',
  required: true,
  displayOptions: { show: { '@version': [VERSION_1] } },
  description:
    'The proxy service to call. Services have names only: an expression must return the service name. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
  hint: 'The list shows the services your proxy token may use. The proxy adds the host and the API credential.',
};

/**
 * From version 2: a resource locator, "From List" or "By Name". n8n keeps showing the chosen
 * service while the list cannot be loaded (proxy down, token refused) and shows why in the list.
 */
const serviceV2: INodeProperties = {
  displayName: 'Service',
  name: 'service',
  type: 'resourceLocator',
  default: { mode: 'list', value: '' },
  required: true,
  displayOptions: { show: { '@version': [FROM_VERSION_2] } },
  description: 'The proxy service to call. Services have names only: pick one from the list, or type its name.',
  hint: 'The list shows the services your proxy token may use. The proxy adds the host and the API credential.',
  modes: [
    {
      displayName: 'From List',
      name: 'list',
      type: 'list',
      placeholder: 'Select a service…',
      typeOptions: { searchListMethod: 'searchServices', searchable: true },
    },
    {
      displayName: 'By Name',
      name: 'name',
      type: 'string',
      placeholder: 'e.g. github',
      hint: 'The service name as configured in the proxy',
      validation: [
        {
          type: 'regex',
          properties: {
            regex: SERVICE_NAME_PATTERN,
            errorMessage: 'A service name is one word as configured in the proxy, such as "github" (letters, digits, ".", "_" and "-")',
          },
        },
      ],
    },
  ],
};

export const requestProperties: INodeProperties[] = [
  serviceV1,
  serviceV2,
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
