/**
 * The config schema as JSON Schema (draft 2020-12), for editors (`# yaml-language-server:
 * $schema=…`) and for validating config files with any JSON Schema tool. Generated from the
 * zod schema, so it cannot drift from what the proxy accepts; the package ships it as
 * `schema/proxy-config.schema.json` (proxy/scripts/config-schema.mjs writes it at build).
 *
 * It describes the file as written, before defaults (`io: 'input'`). Checks that JSON Schema
 * cannot express (a client naming an unknown service, a CA file that does not parse) stay
 * with the proxy: `secure-proxy check` runs them all.
 */
import { z } from 'zod';
import { configSchema, NAME_SHAPE } from './schema';

/** Where the package ships the generated file, relative to the package root. */
export const CONFIG_JSON_SCHEMA_FILE = 'schema/proxy-config.schema.json';

type JsonObject = Record<string, unknown>;

/**
 * Fields the proxy requires but the environment can fill when the file leaves them out
 * (config/env.ts): the file's schema lists them as optional, or an editor would flag a file
 * that is complete once VAULT_ADDR and VAULT_TOKEN are set.
 */
export const FILLED_FROM_ENV: Readonly<Record<string, string>> = {
  vault: 'VAULT_ADDR and VAULT_TOKEN',
  'vault.address': 'VAULT_ADDR',
  'vault.auth': 'VAULT_TOKEN',
};

/** The JSON Schema of the proxy config file. */
export function configJsonSchema(): JsonObject {
  const generated = z.toJSONSchema(configSchema(), { io: 'input', target: 'draft-2020-12' }) as JsonObject;
  const schema: JsonObject = {
    $schema: generated.$schema,
    title: 'secure-proxy configuration',
    description: 'Configuration file of the n8n-secure-proxy (`secure-proxy serve --config FILE`). Reference: docs/configuration.md.',
    ...withoutKey(generated, '$schema'),
  };
  dropUnknownFormats(schema);
  acceptEnvReferences(schema);
  // Client and service names are checked by a refinement, which JSON Schema cannot see; an
  // editor flags a bad name too when the pattern is on the mapping's keys.
  const properties = schema.properties as Record<string, JsonObject>;
  for (const mapping of ['clients', 'services']) properties[mapping].propertyNames = { type: 'string', pattern: NAME_SHAPE.source };
  for (const [path, variables] of Object.entries(FILLED_FROM_ENV)) optionalWhenEnvFills(schema, path.split('.'), variables);
  return schema;
}

/** Takes the field at `path` out of its parent's `required` and says which variables stand in for it. */
function optionalWhenEnvFills(schema: JsonObject, path: string[], variables: string): void {
  let parent = schema;
  for (const segment of path.slice(0, -1)) parent = (parent.properties as Record<string, JsonObject>)[segment];
  const name = path[path.length - 1];
  const required = parent.required as string[];
  if (!required.includes(name)) throw new Error(`the config schema no longer requires ${path.join('.')}: update FILLED_FROM_ENV`);
  parent.required = required.filter((field) => field !== name);
  const field = (parent.properties as Record<string, JsonObject>)[name];
  field.description = `Required; may be left out when ${variables} ${variables.includes(' and ') ? 'are' : 'is'} set in the environment.`;
}

function withoutKey(object: JsonObject, key: string): JsonObject {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

/** A `${VAR}` or `${VAR:-default}` reference anywhere in a string (config/env.ts replaces it at load). */
const ENV_REFERENCE_PATTERN = '\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}';

/**
 * A string whose shape is checked (a pattern, a format, a list of values) may also be written
 * as an environment reference: `hash: "${TOKEN_HASH}"` is checked after the variable is
 * replaced, so the file's schema accepts the reference itself. Default and description stay
 * on the field, where editors look for them.
 */
function acceptEnvReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(acceptEnvReferences);
  if (node === null || typeof node !== 'object') return node;
  const object = node as JsonObject;
  for (const [key, value] of Object.entries(object)) object[key] = acceptEnvReferences(value);
  const shaped = object.pattern !== undefined || object.format !== undefined || object.enum !== undefined;
  if (object.type !== 'string' || !shaped) return object;
  const { default: fallback, description, ...checked } = object;
  const outer: JsonObject = {};
  if (fallback !== undefined) outer.default = fallback;
  if (description !== undefined) outer.description = description;
  outer.anyOf = [checked, { type: 'string', pattern: ENV_REFERENCE_PATTERN, description: 'An environment reference, checked once it is replaced.' }];
  return outer;
}

/**
 * zod names some string checks as formats that no JSON Schema vocabulary defines
 * (`starts_with`); the `pattern` beside them says the same, so the format goes.
 */
function dropUnknownFormats(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropUnknownFormats(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const object = node as JsonObject;
  if (object.format === 'starts_with' && typeof object.pattern === 'string') delete object.format;
  for (const value of Object.values(object)) dropUnknownFormats(value);
}
