/**
 * Builds one request from the node's parameters for one item: service and path (checked),
 * query, headers and body. Parameters the user must fix are reported as NodeOperationErrors
 * naming the item.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { parameterError } from '../errors';
import type { NodeOptions } from '../node-options';
import type { HttpMethod, PreparedRequest } from '../shared/types';
import { binaryBody, formUrlencodedBody, jsonBody, multipartBody, objectFromPairs, rawBody, type BodyKind, type BuiltBody, type MultipartPart } from './body';
import { buildHeaders, findHeader } from './headers';
import { checkServiceName, splitServicePath, type Fail } from './path';
import { joinQuery, serializeQuery } from './query';

const METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);

/** Name/value rows of a fixedCollection (`{ parameters: [{ name, value }] }`). */
function rows(collection: unknown): IDataObject[] {
  if (typeof collection !== 'object' || collection === null) return [];
  const list = (collection as IDataObject).parameters;
  return Array.isArray(list) ? (list as IDataObject[]) : [];
}

function pairs(collection: unknown): Array<[string, unknown]> {
  return rows(collection).map((row) => [typeof row.name === 'string' ? row.name : String(row.name ?? ''), row.value]);
}

/** A JSON parameter as an object: n8n hands over text, or an object when an expression returns one. */
function jsonObject(value: unknown, what: string, fail: Fail): Record<string, unknown> {
  let parsed = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      parsed = JSON.parse(value) as unknown;
    } catch (error) {
      fail(`The ${what} JSON is not valid JSON`, error instanceof Error ? error.message : String(error));
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(`The ${what} JSON must be an object, like {"name": "value"}`);
  return parsed as Record<string, unknown>;
}

async function buildBody(ctx: IExecuteFunctions, itemIndex: number, fail: Fail): Promise<BuiltBody> {
  const kind = ctx.getNodeParameter('contentType', itemIndex, 'json') as BodyKind;
  switch (kind) {
    case 'json': {
      const specify = ctx.getNodeParameter('specifyBody', itemIndex, 'keypair') as string;
      if (specify === 'json') return jsonBody(ctx.getNodeParameter('jsonBody', itemIndex, ''), fail);
      return jsonBody(objectFromPairs(pairs(ctx.getNodeParameter('bodyParameters', itemIndex, {}))), fail);
    }
    case 'form-urlencoded': {
      const specify = ctx.getNodeParameter('specifyFormBody', itemIndex, 'keypair') as string;
      if (specify === 'string') return formUrlencodedBody(String(ctx.getNodeParameter('formBody', itemIndex, '')));
      return formUrlencodedBody(pairs(ctx.getNodeParameter('formParameters', itemIndex, {})));
    }
    case 'multipart-form-data': {
      const parts: MultipartPart[] = [];
      for (const row of rows(ctx.getNodeParameter('multipartParameters', itemIndex, {}))) {
        const name = String(row.name ?? '').trim();
        if (name === '') continue;
        if (row.parameterType === 'formBinaryData') {
          const field = String(row.inputDataFieldName ?? '').trim();
          if (field === '')
            fail(`The form field "${name}" needs an Input Data Field Name`, 'Name the binary property of the input item that holds the file, e.g. data.');
          const binary = ctx.helpers.assertBinaryData(itemIndex, field);
          const data = await ctx.helpers.getBinaryDataBuffer(itemIndex, field);
          parts.push({ name, data, fileName: binary.fileName ?? name, mimeType: binary.mimeType });
        } else {
          parts.push({ name, value: typeof row.value === 'string' ? row.value : JSON.stringify(row.value ?? '') });
        }
      }
      return multipartBody(parts);
    }
    case 'raw':
      return rawBody(String(ctx.getNodeParameter('rawBody', itemIndex, '')), String(ctx.getNodeParameter('rawContentType', itemIndex, '')), fail);
    case 'binaryData': {
      const field = String(ctx.getNodeParameter('inputDataFieldName', itemIndex, '')).trim();
      if (field === '') fail('The body needs an Input Data Field Name', 'Name the binary property of the input item that holds the file, e.g. data.');
      const binary = ctx.helpers.assertBinaryData(itemIndex, field);
      return binaryBody(await ctx.helpers.getBinaryDataBuffer(itemIndex, field), binary.mimeType);
    }
    default:
      return fail(`Unknown body content type "${String(kind)}"`);
  }
}

/** Builds the request for one item. */
export async function buildRequest(this: IExecuteFunctions, itemIndex: number, options: NodeOptions): Promise<PreparedRequest> {
  const node = this.getNode();
  const fail: Fail = (message, description) => {
    throw parameterError(node, message, { description, itemIndex });
  };

  // A plain string in version 1; from version 2 a resource locator whose value is the name.
  const service = checkServiceName(String(this.getNodeParameter('service', itemIndex, '', { extractValue: true }) ?? ''), fail);
  const method = String(this.getNodeParameter('method', itemIndex, 'GET')).toUpperCase();
  if (!METHODS.has(method)) fail(`Unknown method "${method}"`, `Use one of ${[...METHODS].join(', ')}.`);
  const { path, query: pathQuery } = splitServicePath(String(this.getNodeParameter('path', itemIndex, '')), fail);

  let query = pathQuery;
  if (this.getNodeParameter('sendQuery', itemIndex, false) === true) {
    const specify = this.getNodeParameter('specifyQuery', itemIndex, 'keypair') as string;
    const entries =
      specify === 'json'
        ? Object.entries(jsonObject(this.getNodeParameter('jsonQuery', itemIndex, ''), 'query', fail))
        : pairs(this.getNodeParameter('queryParameters', itemIndex, {}));
    query = joinQuery(query, serializeQuery(entries, options.arrayFormat));
  }

  let headers: Record<string, string> = {};
  if (this.getNodeParameter('sendHeaders', itemIndex, false) === true) {
    const specify = this.getNodeParameter('specifyHeaders', itemIndex, 'keypair') as string;
    const entries =
      specify === 'json'
        ? Object.entries(jsonObject(this.getNodeParameter('jsonHeaders', itemIndex, ''), 'headers', fail))
        : pairs(this.getNodeParameter('headerParameters', itemIndex, {}));
    headers = buildHeaders(entries, fail);
  }

  const request: PreparedRequest = { method: method as HttpMethod, service, path, query, headers, timeout: options.timeout };
  if (this.getNodeParameter('sendBody', itemIndex, false) === true) {
    const built = await buildBody(this, itemIndex, fail);
    const isMultipart = built.contentType.startsWith('multipart/');
    const userType = findHeader(headers, 'content-type');
    if (isMultipart || userType === undefined) {
      // Multipart needs its own boundary; otherwise the user's Content-Type wins.
      const withoutType = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'));
      request.headers = { ...withoutType, 'content-type': built.contentType };
    }
    request.body = built.body;
    if (built.jsonBody !== undefined) request.jsonBody = built.jsonBody;
  }
  return request;
}
