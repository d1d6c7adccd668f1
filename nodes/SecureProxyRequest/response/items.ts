/**
 * Turns one response into n8n items, like n8n's HTTP Request node: a JSON array becomes one
 * item per element, an object one item, text and other JSON values go into the output field,
 * a file becomes binary data (file name and MIME type from the response), and "Include
 * Response Headers and Status" wraps it all as `{ body, headers, statusCode, statusMessage }`.
 * Paired items are added by the node.
 */
import type { IBinaryData, IDataObject } from 'n8n-workflow';
import type { Fail } from '../request/path';
import type { OutputItem, ProxyResponse } from '../shared/types';
import { decodeBody, type ResponseFormat } from './format';

/** The Response option. */
export interface ResponseSettings {
  format: ResponseFormat;
  fullResponse: boolean;
  neverError: boolean;
  /** Field for text and non-object JSON, and the binary property for files. */
  outputField: string;
}

/** Stores a file as n8n binary data (`this.helpers.prepareBinaryData`). */
export type PrepareBinary = (data: Buffer, fileName?: string, mimeType?: string) => Promise<IBinaryData>;

function fullResponseJson(response: ProxyResponse, body: unknown): IDataObject {
  return {
    ...(body === undefined ? {} : { body: body as IDataObject }),
    headers: response.headers as IDataObject,
    statusCode: response.statusCode,
    statusMessage: response.statusMessage,
  };
}

/** The items for one response (without `pairedItem`). */
export async function responseToItems(
  response: ProxyResponse,
  settings: ResponseSettings,
  requestPath: string,
  prepareBinary: PrepareBinary,
  fail: Fail,
): Promise<OutputItem[]> {
  const decoded = decodeBody(response, settings.format, requestPath);
  if (decoded === null) {
    fail('The response is not valid JSON', 'Set Response Format to Text or Autodetect to read this response.');
  }
  const field = settings.outputField;
  switch (decoded.kind) {
    case 'file': {
      const binary = await prepareBinary(decoded.data, decoded.fileName, decoded.mimeType);
      return [{ json: settings.fullResponse ? fullResponseJson(response, undefined) : {}, binary: { [field]: binary } }];
    }
    case 'empty':
      return [{ json: settings.fullResponse ? fullResponseJson(response, '') : {} }];
    case 'text':
      return [{ json: settings.fullResponse ? fullResponseJson(response, decoded.value) : { [field]: decoded.value } }];
    case 'json': {
      const value = decoded.value;
      if (settings.fullResponse) return [{ json: fullResponseJson(response, value) }];
      const asItem = (element: unknown) =>
        typeof element === 'object' && element !== null && !Array.isArray(element)
          ? { json: element as IDataObject }
          : { json: { [field]: element } as IDataObject };
      return Array.isArray(value) ? value.map(asItem) : [asItem(value)];
    }
  }
}
