/**
 * Which field names the config schema allows at a place in the file, read from the schema
 * itself, so "did you mean" suggestions for unknown fields follow every level of the shape
 * (including the variant of `vault.auth` or `inject` the file chose) without a second list
 * of names to keep in step.
 */
import type { z } from 'zod';

/** The parts of a zod schema's definition this walk reads. */
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      innerType?: SchemaNode;
      shape?: Record<string, SchemaNode>;
      valueType?: SchemaNode;
      element?: SchemaNode;
      options?: SchemaNode[];
      discriminator?: string;
      in?: SchemaNode;
      values?: readonly unknown[];
    };
  };
}

/** Definition types that only wrap another schema (defaults, optionality, transforms). */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The schema that applies to `value`: wrappers removed, a union resolved to the option the value chose. */
function settle(node: SchemaNode, value: unknown): SchemaNode | null {
  let current: SchemaNode | undefined = node;
  for (let depth = 0; current !== undefined && depth < 16; depth++) {
    const def: SchemaNode['_zod']['def'] = current._zod.def;
    if (WRAPPERS.has(def.type)) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else if (def.type === 'union') current = chooseOption(def.options ?? [], def.discriminator, value);
    else return current;
  }
  return null;
}

/** A discriminated union's option for the value's discriminator; a plain union's only object option. */
function chooseOption(options: readonly SchemaNode[], discriminator: string | undefined, value: unknown): SchemaNode | undefined {
  if (discriminator !== undefined) {
    const chosen = isRecord(value) ? value[discriminator] : undefined;
    return options.find((option) => option._zod.def.shape?.[discriminator]?._zod.def.values?.includes(chosen) === true);
  }
  const objects = options.filter((option) => option._zod.def.type === 'object');
  return objects.length === 1 ? objects[0] : undefined;
}

/**
 * The field names allowed at `path` of the parsed file `input` (e.g. `["services", "echo",
 * "inject"]`), or null when the schema has no fixed set of fields there.
 */
export function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] | null {
  let node: SchemaNode | null = schema;
  let value: unknown = input;
  for (const segment of path) {
    node = node === null ? null : settle(node, value);
    if (node === null) return null;
    const def: SchemaNode['_zod']['def'] = node._zod.def;
    const key = String(segment);
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
    if (def.type === 'object') node = def.shape?.[key] ?? null;
    else if (def.type === 'record') node = def.valueType ?? null;
    else if (def.type === 'array') node = def.element ?? null;
    else return null;
  }
  node = node === null ? null : settle(node, value);
  return node?._zod.def.type === 'object' ? Object.keys(node._zod.def.shape ?? {}) : null;
}
