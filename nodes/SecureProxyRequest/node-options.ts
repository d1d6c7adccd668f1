/**
 * The node's "Options" collection, read once per item into typed settings with defaults.
 */
import type { IDataObject } from 'n8n-workflow';
import { readPaginationSettings, type PaginationSettings } from './pagination';
import type { Fail } from './request/path';
import type { ArrayFormat } from './request/query';
import type { RedirectSettings } from './redirects';
import type { ResponseFormat } from './response/format';
import type { ResponseSettings } from './response/items';

/** Everything under Options. */
export interface NodeOptions {
  /** Items per batch (-1: all items at once) and the pause between batches. */
  batch: { size: number; intervalMs: number };
  arrayFormat: ArrayFormat;
  redirect: RedirectSettings;
  response: ResponseSettings;
  pagination: PaginationSettings | null;
  /** Milliseconds; undefined means the transport's default. */
  timeout?: number;
}

const FORMATS: ReadonlySet<string> = new Set(['autodetect', 'json', 'text', 'file']);
const ARRAY_FORMATS: ReadonlySet<string> = new Set(['repeat', 'brackets', 'indices']);

/** The inner object of a single-value fixedCollection (`{ response: { … } }` → `{ … }`). */
function inner(raw: unknown, key: string): IDataObject | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const value = (raw as IDataObject)[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as IDataObject) : undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Reads only the Batching option (the node reads it once, from the first item). */
export function readBatchSettings(options: IDataObject): NodeOptions['batch'] {
  const batch = inner(options.batching, 'batch');
  const size = Math.trunc(numberOr(batch?.batchSize, -1));
  return { size: size === 0 ? 1 : size, intervalMs: Math.max(0, numberOr(batch?.batchInterval, 0)) };
}

/** Reads the Options collection. */
export function readNodeOptions(options: IDataObject, fail: Fail): NodeOptions {
  const redirect = inner(options.redirect, 'redirect');
  const response = inner(options.response, 'response');
  const format = typeof response?.responseFormat === 'string' ? response.responseFormat : 'autodetect';
  if (!FORMATS.has(format)) fail(`Unknown response format "${format}"`);
  const outputField =
    typeof response?.outputPropertyName === 'string' && response.outputPropertyName.trim() !== '' ? response.outputPropertyName.trim() : 'data';
  const arrayFormat =
    typeof options.queryParameterArrays === 'string' && ARRAY_FORMATS.has(options.queryParameterArrays) ? options.queryParameterArrays : 'brackets';
  const timeout = options.timeout === undefined ? undefined : numberOr(options.timeout, NaN);
  if (timeout !== undefined && !(timeout >= 1)) fail('Timeout must be at least 1 ms');
  return {
    batch: readBatchSettings(options),
    arrayFormat: arrayFormat as ArrayFormat,
    redirect: { follow: redirect?.followRedirects !== false, maxRedirects: Math.max(0, Math.trunc(numberOr(redirect?.maxRedirects, 21))) },
    response: {
      format: format as ResponseFormat,
      fullResponse: response?.fullResponse === true,
      neverError: response?.neverError === true,
      outputField,
    },
    pagination: readPaginationSettings(inner(options.pagination, 'pagination'), fail),
    timeout,
  };
}
