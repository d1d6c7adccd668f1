/**
 * Reads an n8n HTTP Request node of any typeVersion into the parameters of the Secure Proxy
 * Request node (nodes/SecureProxyRequest/description), which mirror HTTP Request v3+:
 * - v1 and v2: `requestMethod`; `jsonParameters` chooses between the `…ParametersUi.parameter[]`
 *   rows and the `…ParametersJson` texts; `options.bodyContentType` the body's type;
 * - v3 to v4.x: `method`; `sendQuery`/`specifyQuery`, `sendHeaders`/`specifyHeaders`,
 *   `sendBody`/`contentType`/`specifyBody` with `queryParameters.parameters[]`, `jsonQuery`,
 *   `headerParameters.parameters[]`, `jsonHeaders`, `bodyParameters.parameters[]`, `jsonBody`, `body`.
 * Options with the same meaning in both nodes are kept; the others are listed as dropped.
 */

type Params = Record<string, unknown>;

interface Row {
  name: string;
  value: string;
  parameterType?: string;
  inputDataFieldName?: string;
}

/** The request parts in the Secure Proxy Request node's parameter names. */
export interface RequestShape {
  method: string;
  /** sendQuery, specifyQuery, queryParameters, jsonQuery, sendHeaders … options. */
  parameters: Params;
  /** Header names (rows and JSON keys) left in the request, to check against the node's refused headers. */
  headerNames: string[];
  /** Options of the HTTP Request node that the Secure Proxy Request node has no equivalent for. */
  droppedOptions: string[];
}

/** Options both nodes share, by name and shape (v3+). */
const SHARED_OPTIONS = new Set(['batching', 'queryParameterArrays', 'redirect', 'response', 'timeout']);

/** A string parameter, or `fallback` when it is absent or not a string. */
export const textOf = (value: unknown, fallback = ''): string => (typeof value === 'string' ? value : fallback);
const asRecord = (value: unknown): Params => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Params) : {});

function rowsOf(collection: unknown, key: 'parameter' | 'parameters'): Row[] {
  const rows = asRecord(collection)[key];
  if (!Array.isArray(rows)) return [];
  return rows
    .map(asRecord)
    .filter((row) => row.name !== undefined || row.inputDataFieldName !== undefined)
    .map((row) => ({
      name: textOf(row.name),
      value: typeof row.value === 'string' ? row.value : JSON.stringify(row.value ?? ''),
      ...(typeof row.parameterType === 'string' ? { parameterType: row.parameterType } : {}),
      ...(typeof row.inputDataFieldName === 'string' ? { inputDataFieldName: row.inputDataFieldName } : {}),
    }));
}

const plainRows = (rows: Row[]) => rows.map(({ name, value }) => ({ name, value }));
/** JSON text that holds nothing (after a removal, say): `{}`, `={ }`, ''. */
const isEmptyJson = (text: string) => /^=?\s*(?:\{\s*\})?\s*$/.test(text);
const jsonKeys = (text: string) => [...text.matchAll(/"([^"\\]+)"\s*:/g)].map((m) => m[1]);

interface Parts {
  query: Row[] | string | null;
  headers: Row[] | string | null;
  body: { contentType: string; rows?: Row[]; json?: string; text?: string; rawContentType?: string; inputDataFieldName?: string } | null;
}

function legacyParts(p: Params): Parts {
  const json = p.jsonParameters === true;
  const bodyType = textOf(asRecord(p.options).bodyContentType, 'json');
  const headers = json ? textOf(p.headerParametersJson) : rowsOf(p.headerParametersUi, 'parameter');
  const contentTypeHeader = Array.isArray(headers) ? headers.find((h) => h.name.toLowerCase() === 'content-type')?.value : undefined;
  let body: Parts['body'] = null;
  if (bodyType === 'raw') body = { contentType: 'raw', text: textOf(p.bodyParametersJson), rawContentType: contentTypeHeader ?? 'text/plain' };
  else if (json && typeof p.bodyParametersJson === 'string' && !isEmptyJson(p.bodyParametersJson)) body = { contentType: bodyType, json: p.bodyParametersJson };
  else if (!json) {
    const rows = rowsOf(p.bodyParametersUi, 'parameter');
    if (rows.length > 0) body = { contentType: bodyType, rows };
  }
  return { query: json ? textOf(p.queryParametersJson) : rowsOf(p.queryParametersUi, 'parameter'), headers, body };
}

function currentParts(p: Params): Parts {
  const query = p.sendQuery === true ? (p.specifyQuery === 'json' ? textOf(p.jsonQuery) : rowsOf(p.queryParameters, 'parameters')) : null;
  const headers = p.sendHeaders === true ? (p.specifyHeaders === 'json' ? textOf(p.jsonHeaders) : rowsOf(p.headerParameters, 'parameters')) : null;
  let body: Parts['body'] = null;
  if (p.sendBody === true) {
    const contentType = textOf(p.contentType, 'json');
    if (contentType === 'raw') body = { contentType, text: textOf(p.body), rawContentType: textOf(p.rawContentType, 'text/plain') };
    else if (contentType === 'binaryData') body = { contentType, inputDataFieldName: textOf(p.inputDataFieldName, 'data') };
    else if (p.specifyBody === 'json') body = { contentType, json: textOf(p.jsonBody) };
    else if (p.specifyBody === 'string') body = { contentType, text: textOf(p.body) };
    else body = { contentType, rows: rowsOf(p.bodyParameters, 'parameters') };
  }
  return { query, headers, body };
}

/** The body in the Secure Proxy Request node's parameters. */
function bodyParameters(body: NonNullable<Parts['body']>): Params {
  const { contentType } = body;
  if (contentType === 'raw') return { contentType, rawContentType: body.rawContentType, rawBody: body.text ?? '' };
  if (contentType === 'binaryData') return { contentType, inputDataFieldName: body.inputDataFieldName };
  if (contentType === 'multipart-form-data') {
    const rows = (body.rows ?? []).map((r) =>
      r.parameterType === 'formBinaryData'
        ? { parameterType: 'formBinaryData', name: r.name, inputDataFieldName: r.inputDataFieldName ?? 'data' }
        : { parameterType: 'formData', name: r.name, value: r.value },
    );
    return { contentType, multipartParameters: { parameters: rows } };
  }
  if (contentType === 'form-urlencoded') {
    if (body.rows !== undefined) return { contentType, specifyFormBody: 'keypair', formParameters: { parameters: plainRows(body.rows) } };
    return { contentType, specifyFormBody: 'string', formBody: body.text ?? body.json ?? '' };
  }
  if (body.rows !== undefined) return { contentType: 'json', specifyBody: 'keypair', bodyParameters: { parameters: plainRows(body.rows) } };
  return { contentType: 'json', specifyBody: 'json', jsonBody: body.json ?? body.text ?? '' };
}

/** The request of an HTTP Request node (secrets already removed) as Secure Proxy Request parameters. */
export function readRequestShape(p: Params, typeVersion: number): RequestShape {
  const legacy = typeVersion < 3;
  const parts = legacy ? legacyParts(p) : currentParts(p);
  const parameters: Params = {};
  const headerNames: string[] = [];
  if (parts.query !== null && (typeof parts.query === 'string' ? !isEmptyJson(parts.query) : parts.query.length > 0)) {
    Object.assign(
      parameters,
      typeof parts.query === 'string'
        ? { sendQuery: true, specifyQuery: 'json', jsonQuery: parts.query }
        : { sendQuery: true, specifyQuery: 'keypair', queryParameters: { parameters: plainRows(parts.query) } },
    );
  }
  if (parts.headers !== null && (typeof parts.headers === 'string' ? !isEmptyJson(parts.headers) : parts.headers.length > 0)) {
    if (typeof parts.headers === 'string') {
      headerNames.push(...jsonKeys(parts.headers));
      Object.assign(parameters, { sendHeaders: true, specifyHeaders: 'json', jsonHeaders: parts.headers });
    } else {
      headerNames.push(...parts.headers.map((h) => h.name));
      Object.assign(parameters, { sendHeaders: true, specifyHeaders: 'keypair', headerParameters: { parameters: plainRows(parts.headers) } });
    }
  }
  if (parts.body !== null) Object.assign(parameters, { sendBody: true, ...bodyParameters(parts.body) });

  const options = asRecord(p.options);
  const kept: Params = {};
  const droppedOptions: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (legacy ? name === 'timeout' : SHARED_OPTIONS.has(name)) kept[name] = value;
    else if (!(legacy && name === 'bodyContentType')) droppedOptions.push(name);
  }
  parameters.options = kept;
  return { method: textOf(legacy ? p.requestMethod : p.method, 'GET').toUpperCase(), parameters, headerNames, droppedOptions };
}
