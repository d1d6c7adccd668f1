/**
 * Where a node keeps text a secret could be pasted into, with the name that text sits under.
 * One generic walk covers every typeVersion of n8n's nodes, because they all store the same
 * few shapes:
 * - name/value rows: HTTP Request v1 `headerParametersUi.parameter[]`, v3+
 *   `headerParameters.parameters[]` (and query, body), Set v1-v2 `values.string[]`, Set 3.3+
 *   `assignments.assignments[]` ({name, value}), Set 3.0-3.2 `fields.values[]` ({name, stringValue});
 * - JSON text: `jsonHeaders`, `jsonQuery`, `jsonBody`, v1 `headerParametersJson`,
 *   `queryParametersJson`, `bodyParametersJson`, Set's `jsonOutput`;
 * - code: Code `jsCode`/`pythonCode`, Function `functionCode`;
 * - URLs: `url` (user info, query, the URL itself);
 * - every other string, under its own key.
 */
import type { CodeLanguage } from './literals';

/** What part of a request or node the text is. */
export type SlotLocation = 'header' | 'query' | 'body' | 'url' | 'code' | 'field' | 'parameter';

/** One piece of text in a node's parameters. */
export interface Slot {
  /** Path inside `parameters`: keys and array indexes. */
  path: Array<string | number>;
  /** Inside a JSON-text parameter: the keys within that JSON; empty otherwise. */
  jsonPath: string[];
  /** The header, query, field or variable name the text belongs to, when there is one. */
  name: string | null;
  value: string;
  location: SlotLocation;
  /** How to read the text beyond a plain value. */
  shape: 'value' | 'url' | { code: CodeLanguage };
}

const JSON_PARAMETERS = new Set([
  'jsonHeaders',
  'jsonQuery',
  'jsonBody',
  'headerParametersJson',
  'queryParametersJson',
  'bodyParametersJson',
  'jsonOutput',
  'jsonParameters',
]);
const CODE_PARAMETERS: Record<string, CodeLanguage> = {
  jsCode: 'javascript',
  functionCode: 'javascript',
  code: 'javascript',
  pythonCode: 'python',
};
/** Keys of a name/value row that hold the value (Set 3.0-3.2 stores one per type). */
const ROW_VALUE_KEYS = ['value', 'stringValue'];

/** The location of a parameter of an HTTP Request or Set node, from its top-level key. */
function locationOf(topKey: string, nodeType: string): SlotLocation {
  if (/^(?:header|jsonHeaders)/i.test(topKey)) return 'header';
  if (/^(?:query|jsonQuery)/i.test(topKey)) return 'query';
  if (/^(?:body|jsonBody)/i.test(topKey)) return 'body';
  if (topKey === 'url') return 'url';
  if (topKey in CODE_PARAMETERS) return 'code';
  if (/\.set$/i.test(nodeType) || /^(?:values|fields|assignments|jsonOutput)$/.test(topKey)) return 'field';
  return 'parameter';
}

/** Replaces `{{ … }}` so the JSON around an expression parses; the expression's own literals are read separately. */
function parseJsonText(text: string): unknown {
  const body = text.startsWith('=') ? text.slice(1) : text;
  try {
    return JSON.parse(body.replace(/\{\{[\s\S]*?\}\}/g, '0'));
  } catch {
    return undefined;
  }
}

function* jsonLeaves(value: unknown, keys: string[]): Generator<{ keys: string[]; value: string }> {
  if (typeof value === 'string') yield { keys, value };
  else if (Array.isArray(value)) for (const [index, item] of value.entries()) yield* jsonLeaves(item, [...keys, String(index)]);
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) yield* jsonLeaves(item, [...keys, key]);
}

/** `"key": "value"` pairs of JSON text that does not parse (hand-edited, or with expressions in odd places). */
function* looseJsonPairs(text: string): Generator<{ keys: string[]; value: string }> {
  for (const match of text.matchAll(/"([^"\\]{1,200})"\s*:\s*"((?:[^"\\]|\\.)*)"/g)) yield { keys: [match[1]], value: match[2] };
}

/** Every slot of a node's parameters. */
export function* nodeSlots(parameters: Record<string, unknown>, nodeType: string): Generator<Slot> {
  yield* walk(parameters, [], null, nodeType);
}

function* walk(value: unknown, path: Array<string | number>, name: string | null, nodeType: string): Generator<Slot> {
  const topKey = typeof path[0] === 'string' ? path[0] : '';
  const location = locationOf(topKey, nodeType);
  if (typeof value === 'string') {
    const key = path.at(-1);
    if (typeof key === 'string' && JSON_PARAMETERS.has(key)) {
      const parsed = parseJsonText(value);
      const leaves = parsed === undefined ? looseJsonPairs(value) : jsonLeaves(parsed, []);
      for (const leaf of leaves) yield { path, jsonPath: leaf.keys, name: leaf.keys.at(-1) ?? null, value: leaf.value, location, shape: 'value' };
      // The expressions inside the JSON text hold literals too.
      if (value.includes('{{')) yield { path, jsonPath: [], name: null, value: `=${value.replace(/^=/, '')}`, location, shape: 'value' };
      return;
    }
    if (typeof key === 'string' && key in CODE_PARAMETERS) {
      yield { path, jsonPath: [], name: null, value, location, shape: { code: CODE_PARAMETERS[key] } };
      return;
    }
    yield {
      path,
      jsonPath: [],
      name: name ?? (typeof key === 'string' ? key : null),
      value,
      location,
      shape: key === 'url' && path.length === 1 ? 'url' : 'value',
    };
    return;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* walk(item, [...path, index], name, nodeType);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  const rowName = typeof record.name === 'string' ? record.name : null;
  for (const [key, item] of Object.entries(record)) {
    // In a name/value row the name gives the value its meaning ("x-api-key"), and the name itself is no secret.
    if (rowName !== null && key === 'name') continue;
    yield* walk(item, [...path, key], rowName !== null && ROW_VALUE_KEYS.includes(key) ? rowName : null, nodeType);
  }
}

/** `headerParameters.parameters[0].value`, and `jsonHeaders → Authorization` inside JSON text. */
export function parameterPath(slot: Pick<Slot, 'path' | 'jsonPath'>): string {
  const base = slot.path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
  return slot.jsonPath.length === 0 ? base : `${base} → ${slot.jsonPath.join('.')}`;
}
