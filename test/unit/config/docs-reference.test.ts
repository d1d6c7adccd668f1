/**
 * Keeps the configuration reference in docs/configuration.md and the config schema in step,
 * through the JSON Schema the package ships (generated from the zod schema; json-schema.test.ts
 * proves the committed file current): every field of the schema is documented, the docs name no field the schema lacks, and each
 * documented default (or "required") is what the schema says.
 *
 * The reference is the "## Reference" section: table rows `| field | default | meaning |`.
 * - field: a dotted path in backticks; `<name>` is a key of a mapping (a client, a service),
 *   `[]` an item of a list. A field that exists only for some kinds of a choice (the auth
 *   `method`, the inject `type`) names them after it: `vault.auth.mount` (approle).
 * - default: a value in backticks is the schema's default, written as in YAML (`2/3` is the
 *   fraction); "required" means the schema requires the field (within its parent); anything
 *   else (—, words) means the field is optional without a default.
 * Mappings and lists of mappings (`listen`, `services.<name>.inject`) need no row of their
 * own; when they have one it is checked like any other.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CONFIG_JSON_SCHEMA_FILE, FILLED_FROM_ENV } from '../../../proxy/src/config/json-schema';
import { parseConfigText } from '../../../proxy/src/config/load';
import { DEFAULT_MAX_BODY_BYTES } from '../../../proxy/src/config/defaults';

const DOC_PATH = join(__dirname, '../../../docs/configuration.md');
/** The JSON Schema the package ships, generated from the zod schema (json-schema.test.ts keeps it current). */
const SCHEMA_PATH = join(__dirname, '../../../proxy', CONFIG_JSON_SCHEMA_FILE);

/** The parts of a JSON Schema node that the shipped config schema uses. */
interface JsonNode {
  properties?: Record<string, JsonNode>;
  required?: string[];
  additionalProperties?: JsonNode | boolean;
  items?: JsonNode;
  oneOf?: JsonNode[];
  anyOf?: JsonNode[];
  const?: unknown;
  default?: unknown;
}

interface SchemaField {
  required: boolean;
  hasDefault: boolean;
  default: unknown;
  /** Holds fields of its own (a mapping, or a list of mappings): documenting it is optional. */
  container: boolean;
}

/** Every field of the schema, keyed `path` or `path (variant)`, as the docs name them. */
function schemaFields(): Map<string, SchemaField> {
  const fields = new Map<string, SchemaField>();
  const root = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as JsonNode;

  const add = (path: string, variant: string | null, node: JsonNode, required: boolean): void => {
    const key = variant === null ? path : `${path} (${variant})`;
    if (fields.has(key)) throw new Error(`the schema walk met ${key} twice`);
    // The file may leave these out for the environment to fill; the proxy still requires them.
    if (Object.hasOwn(FILLED_FROM_ENV, path)) required = true;
    fields.set(key, { required, hasDefault: 'default' in node, default: node.default, container: childrenOf(path, node, variant).length > 0 });
  };

  /** The fields directly below `node`, with the variant each belongs to. */
  const childrenOf = (path: string, node: JsonNode, variant: string | null): Array<[string, JsonNode, boolean, string | null]> => {
    const children: Array<[string, JsonNode, boolean, string | null]> = [];
    if (node.properties !== undefined) {
      for (const [name, child] of Object.entries(node.properties)) {
        children.push([path === '' ? name : `${path}.${name}`, child, node.required?.includes(name) ?? false, variant]);
      }
    }
    if (typeof node.additionalProperties === 'object') children.push([`${path}.<name>`, node.additionalProperties, false, variant]);
    if (node.items !== undefined) children.push(...childrenOf(`${path}[]`, node.items, variant));
    if (node.oneOf !== undefined) {
      // A discriminated union: the key whose value is a constant in every member, then each member's own fields.
      const members = node.oneOf;
      const discriminator = Object.keys(members[0].properties ?? {}).find((name) => members.every((m) => m.properties?.[name]?.const !== undefined));
      if (discriminator === undefined) throw new Error(`${path}: a oneOf without a discriminator`);
      children.push([`${path}.${discriminator}`, members[0].properties![discriminator], true, variant]);
      for (const member of members) {
        const own = { ...member, properties: { ...member.properties } };
        delete own.properties[discriminator];
        children.push(...childrenOf(path, own, String(member.properties![discriminator].const)));
      }
    }
    // A plain union: the fields of its mapping members (a token hash is a string or a mapping).
    for (const member of node.anyOf ?? []) children.push(...childrenOf(path, member, variant));
    return children;
  };

  const walk = (path: string, node: JsonNode, required: boolean, variant: string | null): void => {
    if (path !== '') add(path, variant, node, required);
    for (const [childPath, child, childRequired, childVariant] of childrenOf(path, node, variant)) walk(childPath, child, childRequired, childVariant);
  };
  walk('', root, true, null);
  return fields;
}

interface DocRow {
  line: number;
  defaultCell: string;
  meaning: string;
}

/** The reference rows of the docs, keyed like schemaFields(); a field documented twice is an error. */
function documentedFields(): { rows: Map<string, DocRow>; problems: string[] } {
  const lines = readFileSync(DOC_PATH, 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim() === '## Reference');
  if (start === -1) throw new Error('docs/configuration.md has no "## Reference" section');
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  const rows = new Map<string, DocRow>();
  const problems: string[] = [];
  lines.slice(start, end === -1 ? undefined : end).forEach((text, i) => {
    const line = start + i + 1;
    if (!text.startsWith('| `')) return;
    const cells = text
      .slice(1, text.endsWith('|') ? -1 : undefined)
      .split(' | ')
      .map((cell) => cell.trim());
    const field = /^`([^`]+)`(?: \(([a-z0-9, -]+)\))?$/.exec(cells[0]);
    if (cells.length !== 3 || field === null) {
      problems.push(`line ${line}: expected | \`field\` (variants) | default | meaning |, got ${text}`);
      return;
    }
    const variants = field[2] === undefined ? [null] : field[2].split(',').map((v) => v.trim());
    for (const variant of variants) {
      const key = variant === null ? field[1] : `${field[1]} (${variant})`;
      if (rows.has(key)) problems.push(`line ${line}: ${key} is documented twice`);
      rows.set(key, { line, defaultCell: cells[1], meaning: cells[2] });
    }
  });
  return { rows, problems };
}

/** What a default cell says: a value, "required", or neither. */
function documentedDefault(cell: string): { kind: 'value'; value: unknown } | { kind: 'required' } | { kind: 'none' } {
  const literal = /^`([^`]+)`/.exec(cell);
  if (literal !== null) {
    const fraction = /^(\d+)\/(\d+)$/.exec(literal[1]);
    return { kind: 'value', value: fraction === null ? parseConfigText(literal[1], 'default cell') : Number(fraction[1]) / Number(fraction[2]) };
  }
  return cell.startsWith('required') ? { kind: 'required' } : { kind: 'none' };
}

describe('docs/configuration.md reference', () => {
  const schema = schemaFields();
  const { rows, problems } = documentedFields();

  it('is well-formed: one row per field, each row a field, a default and a meaning', () => {
    expect(problems).toEqual([]);
    expect(rows.size).toBeGreaterThan(40);
  });

  it('documents every field of the schema', () => {
    const missing = [...schema].filter(([key, field]) => !field.container && !rows.has(key)).map(([key]) => key);
    expect(missing).toEqual([]);
  });

  it('documents no field the schema does not have', () => {
    expect([...rows.keys()].filter((key) => !schema.has(key))).toEqual([]);
  });

  it("gives each field the schema's default, or says it is required or has none", () => {
    const wrong: string[] = [];
    for (const [key, row] of rows) {
      const field = schema.get(key);
      if (field === undefined) continue;
      const documented = documentedDefault(row.defaultCell);
      const actual = field.hasDefault ? `default ${JSON.stringify(field.default)}` : field.required ? 'required' : 'optional without a default';
      const claimed =
        documented.kind === 'value'
          ? `default ${JSON.stringify(documented.value)}`
          : documented.kind === 'required'
            ? 'required'
            : 'optional without a default';
      const agrees = documented.kind === 'value' ? field.hasDefault && isDeepStrictEqual(documented.value, field.default) : claimed === actual;
      if (!agrees) wrong.push(`line ${row.line}: ${key}: the docs say ${claimed}, the schema has ${actual}`);
    }
    expect(wrong).toEqual([]);
  });

  it('states the body limit the forwarding code applies when maxBodyBytes is absent', () => {
    expect(rows.get('services.<name>.maxBodyBytes')?.meaning).toContain(`\`${DEFAULT_MAX_BODY_BYTES}\``);
  });
});
