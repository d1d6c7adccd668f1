/**
 * Pagination: fetch page after page of one request until a stop condition holds or the page
 * limit is reached. Next pages come from a URL in the response body or the Link header (kept
 * inside the service by service-url.ts), or from a page number, offset or cursor parameter.
 *
 * Stop conditions are declarative (response empty, a field false or empty, a status code):
 * n8n 2.41 evaluates `$response` expressions only inside its own legacy pagination helper,
 * which would request next URLs before this node could check where they point.
 */
import type { IDataObject } from 'n8n-workflow';
import type { Fail } from './request/path';
import { setQueryParameter } from './request/query';
import { resolveServiceReference } from './service-url';
import { headerValue, parseJsonBody } from './shared/response';
import type { PreparedRequest, ProxyResponse, SendFunction } from './shared/types';

export type PaginationMode = 'nextUrlInBody' | 'nextUrlInLinkHeader' | 'pageNumber' | 'offset' | 'cursor';
export type StopWhen = 'responseIsEmpty' | 'fieldIsEmpty' | 'statusCode';

/** Validated pagination settings. */
export interface PaginationSettings {
  mode: PaginationMode;
  /** Field holding the next URL (nextUrlInBody), e.g. `links.next`. */
  nextUrlField: string;
  /** Field holding the next cursor (cursor), e.g. `meta.next_cursor`. */
  cursorField: string;
  /** Parameter that carries the page number, offset or cursor. */
  parameterName: string;
  parameterLocation: 'query' | 'body';
  /** First page number or offset. */
  startValue: number;
  /** Offset increment per page. */
  step: number;
  stopWhen: StopWhen;
  /** Field holding the page's results, for "response is empty" (empty = the whole body). */
  resultsField: string;
  /** Field that is false or empty on the last page (fieldIsEmpty), e.g. `has_more`. */
  stopField: string;
  stopStatusCodes: number[];
  maxPages: number;
  /** Pause between requests. */
  intervalMs: number;
}

const MODES: ReadonlySet<string> = new Set(['nextUrlInBody', 'nextUrlInLinkHeader', 'pageNumber', 'offset', 'cursor']);
const STOPS: ReadonlySet<string> = new Set(['responseIsEmpty', 'fieldIsEmpty', 'statusCode']);

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function integer(value: unknown, fallback: number): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : fallback;
  return Number.isFinite(number) ? Math.trunc(number) : fallback;
}

/** Reads the Pagination option; null when pagination is off. */
export function readPaginationSettings(raw: IDataObject | undefined, fail: Fail): PaginationSettings | null {
  const mode = text(raw?.paginationMode);
  if (raw === undefined || mode === '' || mode === 'off') return null;
  if (!MODES.has(mode)) fail(`Unknown pagination mode "${mode}"`);
  const stopWhen = text(raw.stopWhen) || 'responseIsEmpty';
  if (!STOPS.has(stopWhen)) fail(`Unknown pagination stop condition "${stopWhen}"`);
  const settings: PaginationSettings = {
    mode: mode as PaginationMode,
    nextUrlField: text(raw.nextUrlField),
    cursorField: text(raw.cursorField),
    parameterName: text(raw.parameterName),
    parameterLocation: raw.parameterLocation === 'body' ? 'body' : 'query',
    startValue: mode === 'offset' ? integer(raw.startOffset, 0) : integer(raw.startValue, 1),
    step: integer(raw.pageSize, 100),
    stopWhen: stopWhen as StopWhen,
    resultsField: text(raw.resultsField),
    stopField: text(raw.stopField),
    stopStatusCodes: text(raw.stopStatusCodes)
      .split(',')
      .map((code) => code.trim())
      .filter((code) => code !== '')
      .map(Number),
    maxPages: integer(raw.maxPages, 100),
    intervalMs: Math.max(0, integer(raw.requestInterval, 0)),
  };
  if (settings.maxPages < 1) fail('Max Pages must be at least 1', 'It bounds how many requests one item may make.');
  if (settings.mode === 'nextUrlInBody' && settings.nextUrlField === '')
    fail('Pagination needs the Next URL Field', 'Name the response field holding the next page URL, e.g. links.next.');
  if ((settings.mode === 'pageNumber' || settings.mode === 'offset' || settings.mode === 'cursor') && settings.parameterName === '') {
    fail('Pagination needs the Parameter Name', 'Name the parameter that carries the page number, offset or cursor, e.g. page.');
  }
  if (settings.mode === 'cursor' && settings.cursorField === '')
    fail('Pagination needs the Cursor Field', 'Name the response field holding the next cursor, e.g. meta.next_cursor.');
  if (settings.mode === 'offset' && settings.step < 1) fail('Page Size must be at least 1', 'The offset grows by this much per page.');
  if (settings.stopWhen === 'fieldIsEmpty' && settings.stopField === '')
    fail('Pagination needs the Stop Field', 'Name the response field that is false or empty on the last page, e.g. has_more.');
  if (
    settings.stopWhen === 'statusCode' &&
    (settings.stopStatusCodes.length === 0 || settings.stopStatusCodes.some((code) => !Number.isInteger(code) || code < 100 || code > 599))
  ) {
    fail('Pagination needs valid Stop Status Codes', 'Write status codes separated by commas, e.g. 404, 416.');
  }
  return settings;
}

/** Reads a field by path (`a.b`, `items[0].id`, `items.0.id`); own properties only. */
export function getField(value: unknown, path: string): unknown {
  const keys = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((key) => key !== '');
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null || !Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** False, 0, '', null, missing, `[]` and `{}` count as empty. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/** Whether a page has no results: an empty body, or an empty results field / JSON body. */
export function isEmptyPage(response: ProxyResponse, resultsField: string): boolean {
  if (response.body.length === 0) return true;
  const json = parseJsonBody(response.body);
  if (json === undefined) return response.body.toString('utf8').trim() === '';
  return isEmptyValue(resultsField === '' ? json : getField(json, resultsField));
}

/** The URL in a Link header with `rel="next"` (RFC 8288), if any. */
export function nextLinkOf(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const match of link.matchAll(/<([^>]*)>((?:\s*;\s*[^,;]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";,]+)"?/i.exec(match[2]);
    if (rel !== null && rel[1].toLowerCase().split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

function withParameter(request: PreparedRequest, settings: PaginationSettings, value: string | number, fail: Fail): PreparedRequest {
  if (settings.parameterLocation === 'query') {
    return { ...request, query: setQueryParameter(request.query, settings.parameterName, String(value)) };
  }
  if (request.jsonBody === undefined) {
    fail('Pagination in the body needs a JSON body', 'Send a JSON object body, or put the pagination parameter in the query.');
  }
  const jsonBody = { ...request.jsonBody, [settings.parameterName]: value };
  return { ...request, jsonBody, body: JSON.stringify(jsonBody) };
}

/** The first request: page number and offset modes start at their start value. */
export function firstPageRequest(request: PreparedRequest, settings: PaginationSettings, fail: Fail): PreparedRequest {
  if (settings.mode === 'pageNumber' || settings.mode === 'offset') return withParameter(request, settings, settings.startValue, fail);
  return request;
}

/**
 * The request for the page after `pageIndex` (0 = the first page), or null when the response
 * says there is none. A next URL pointing outside the service is refused through `fail`.
 */
export function nextPageRequest(
  current: PreparedRequest,
  response: ProxyResponse,
  pageIndex: number,
  settings: PaginationSettings,
  proxyBaseUrl: string,
  fail: Fail,
): PreparedRequest | null {
  const follow = (reference: unknown): PreparedRequest | null => {
    if (typeof reference !== 'string' || reference.trim() === '') return null;
    const resolved = resolveServiceReference(reference, current, proxyBaseUrl, { foreignPathMatch: true });
    if (!resolved.ok) fail('Pagination stopped at a next-page URL outside the service', resolved.problem);
    return { ...current, path: resolved.path, query: resolved.query };
  };
  switch (settings.mode) {
    case 'nextUrlInBody':
      return follow(getField(parseJsonBody(response.body), settings.nextUrlField));
    case 'nextUrlInLinkHeader':
      return follow(nextLinkOf(headerValue(response.headers, 'link')));
    case 'pageNumber':
      return withParameter(current, settings, settings.startValue + pageIndex + 1, fail);
    case 'offset':
      return withParameter(current, settings, settings.startValue + (pageIndex + 1) * settings.step, fail);
    case 'cursor': {
      const cursor = getField(parseJsonBody(response.body), settings.cursorField);
      if (isEmptyValue(cursor) || typeof cursor === 'object') return null;
      return withParameter(current, settings, String(cursor), fail);
    }
  }
}

function sameRequest(a: PreparedRequest, b: PreparedRequest): boolean {
  return a.path === b.path && a.query === b.query && a.body === b.body;
}

/** What {@link paginate} needs from its caller. */
export interface PaginationDeps {
  send: SendFunction;
  /** Throws the node error for a failed page (unless Never Error is on). */
  check: (response: ProxyResponse) => void;
  sleep: (ms: number) => Promise<void>;
  proxyBaseUrl: string;
  fail: Fail;
}

/** Fetches the pages of one request; returns the pages to output, in order. */
export async function paginate(first: PreparedRequest, settings: PaginationSettings, deps: PaginationDeps): Promise<ProxyResponse[]> {
  const pages: ProxyResponse[] = [];
  let request = firstPageRequest(first, settings, deps.fail);
  for (let pageIndex = 0; pageIndex < settings.maxPages; pageIndex++) {
    if (pageIndex > 0 && settings.intervalMs > 0) await deps.sleep(settings.intervalMs);
    const response = await deps.send(request);
    if (settings.stopWhen === 'statusCode' && settings.stopStatusCodes.includes(response.statusCode)) break;
    deps.check(response);
    if (settings.stopWhen === 'responseIsEmpty' && isEmptyPage(response, settings.resultsField)) break;
    pages.push(response);
    if (settings.stopWhen === 'fieldIsEmpty' && isEmptyValue(getField(parseJsonBody(response.body), settings.stopField))) break;
    const next = nextPageRequest(request, response, pageIndex, settings, deps.proxyBaseUrl, deps.fail);
    if (next === null || sameRequest(next, request)) break;
    request = next;
  }
  return pages;
}
