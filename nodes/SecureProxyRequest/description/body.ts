/**
 * The request body: JSON (fields or JSON), form-urlencoded, multipart form-data (text fields
 * and files from the input item's binary data), raw text with its content type, or one file.
 */
import type { INodeProperties } from 'n8n-workflow';

const whenBody = (contentType: string, extra: Record<string, string[]> = {}) => ({
  show: { sendBody: [true], contentType: [contentType], ...extra },
});

const parameterRow = (valueDescription: string): INodeProperties['options'] => [
  {
    name: 'parameters',
    displayName: 'Parameter',
    values: [
      { displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'e.g. title', description: 'Name of the field' },
      { displayName: 'Value', name: 'value', type: 'string', default: '', description: valueDescription },
    ],
  },
];

export const bodyProperties: INodeProperties[] = [
  {
    displayName: 'Send Body',
    name: 'sendBody',
    type: 'boolean',
    default: false,
    noDataExpression: true,
    description: 'Whether the request has a body',
  },
  {
    displayName: 'Body Content Type',
    name: 'contentType',
    type: 'options',
    displayOptions: { show: { sendBody: [true] } },
    options: [
      { name: 'Form Urlencoded', value: 'form-urlencoded', description: 'Application/x-www-form-urlencoded fields' },
      { name: 'Form-Data', value: 'multipart-form-data', description: 'Multipart/form-data: text fields and files' },
      { name: 'JSON', value: 'json', description: 'A JSON document' },
      { name: 'N8n Binary File', value: 'binaryData', description: 'One file from the input item, sent as it is' },
      { name: 'Raw', value: 'raw', description: 'Text with a content type you choose' },
    ],
    default: 'json',
    description: 'Format of the request body',
  },
  {
    displayName: 'Specify Body',
    name: 'specifyBody',
    type: 'options',
    displayOptions: whenBody('json'),
    options: [
      { name: 'Using Fields Below', value: 'keypair' },
      { name: 'Using JSON', value: 'json' },
    ],
    default: 'keypair',
    description: 'How to enter the JSON body',
  },
  {
    displayName: 'Body Parameters',
    name: 'bodyParameters',
    type: 'fixedCollection',
    displayOptions: whenBody('json', { specifyBody: ['keypair'] }),
    typeOptions: { multipleValues: true },
    placeholder: 'Add Parameter',
    default: { parameters: [{ name: '', value: '' }] },
    description: 'Fields of the JSON body',
    options: parameterRow('Value of the field; an expression may return any JSON value'),
  },
  {
    displayName: 'JSON',
    name: 'jsonBody',
    type: 'json',
    displayOptions: whenBody('json', { specifyBody: ['json'] }),
    default: '',
    placeholder: '{ "title": "Hello" }',
    description: 'The JSON body',
  },
  {
    displayName: 'Specify Body',
    name: 'specifyFormBody',
    type: 'options',
    displayOptions: whenBody('form-urlencoded'),
    options: [
      { name: 'Using Fields Below', value: 'keypair' },
      { name: 'Using Single Field', value: 'string' },
    ],
    default: 'keypair',
    description: 'How to enter the form fields',
  },
  {
    displayName: 'Body Parameters',
    name: 'formParameters',
    type: 'fixedCollection',
    displayOptions: whenBody('form-urlencoded', { specifyFormBody: ['keypair'] }),
    typeOptions: { multipleValues: true },
    placeholder: 'Add Parameter',
    default: { parameters: [{ name: '', value: '' }] },
    description: 'Form fields of the body',
    options: parameterRow('Value of the field'),
  },
  {
    displayName: 'Body',
    name: 'formBody',
    type: 'string',
    displayOptions: whenBody('form-urlencoded', { specifyFormBody: ['string'] }),
    default: '',
    placeholder: 'field1=value1&field2=value2',
    description: 'The encoded form body',
  },
  {
    displayName: 'Body Parameters',
    name: 'multipartParameters',
    type: 'fixedCollection',
    displayOptions: whenBody('multipart-form-data'),
    typeOptions: { multipleValues: true },
    placeholder: 'Add Parameter',
    default: { parameters: [{ parameterType: 'formData', name: '', value: '' }] },
    description: 'Text fields and files of the multipart body',
    options: [
      {
        name: 'parameters',
        displayName: 'Parameter',
        values: [
          {
            displayName: 'Parameter Type',
            name: 'parameterType',
            type: 'options',
            options: [
              { name: 'Form Data', value: 'formData', description: 'A text field' },
              { name: 'N8n Binary File', value: 'formBinaryData', description: 'A file from the input item' },
            ],
            default: 'formData',
            description: 'Whether the field is text or a file',
          },
          { displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'e.g. file', description: 'Name of the form field' },
          {
            displayName: 'Value',
            name: 'value',
            type: 'string',
            displayOptions: { show: { parameterType: ['formData'] } },
            default: '',
            description: 'Value of the text field',
          },
          {
            displayName: 'Input Data Field Name',
            name: 'inputDataFieldName',
            type: 'string',
            displayOptions: { show: { parameterType: ['formBinaryData'] } },
            default: 'data',
            placeholder: 'e.g. data',
            description: 'The name of the binary property of the input item that holds the file',
          },
        ],
      },
    ],
  },
  {
    displayName: 'Content Type',
    name: 'rawContentType',
    type: 'string',
    displayOptions: whenBody('raw'),
    default: '',
    required: true,
    placeholder: 'e.g. text/plain',
    description: 'Content-Type header of the raw body',
  },
  {
    displayName: 'Body',
    name: 'rawBody',
    type: 'string',
    displayOptions: whenBody('raw'),
    typeOptions: { rows: 4 },
    default: '',
    description: 'The raw body, sent as it is',
  },
  {
    displayName: 'Input Data Field Name',
    name: 'inputDataFieldName',
    type: 'string',
    displayOptions: whenBody('binaryData'),
    default: 'data',
    placeholder: 'e.g. data',
    description: 'The name of the binary property of the input item that holds the file to send',
    hint: "The file's MIME type becomes the Content-Type unless you set that header",
  },
];
