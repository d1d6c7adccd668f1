/**
 * Reads the proxy configuration from a YAML or JSON file plus the environment, and
 * validates it. All problems are reported at once, each naming its field.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { configSchema, type ConfigSchema, type ProxyConfig } from './schema';
import { applyEnvDefaults, formatPath, interpolateEnv } from './env';
import { ConfigError } from './errors';
import { fieldsAt } from './known-fields';
import { didYouMean } from '../shared/suggest';

type Env = Readonly<Record<string, string | undefined>>;

/** The environment variable that names the config file when `--config` is not given. */
const CONFIG_ENV = 'SECURE_PROXY_CONFIG';

/** The `-c, --config <file>` option of every command that reads the config, `what` saying what the file is for. */
export function configOption(what: string): readonly [flags: string, description: string] {
  return ['-c, --config <file>', `${what} (env: ${CONFIG_ENV})`];
}

/** `--config`, else SECURE_PROXY_CONFIG; undefined when neither names a file. */
export function configPathOf(options: { config?: string }, env: Env = process.env): string | undefined {
  const path = options.config ?? env[CONFIG_ENV];
  return path === undefined || path === '' ? undefined : path;
}

/**
 * Parses config text. JSON is parsed as YAML too (JSON is YAML 1.2), which also catches
 * duplicate keys that JSON.parse would silently collapse: a duplicated service or client
 * name is an error, not a surprise.
 */
export function parseConfigText(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `${e.code === 'DUPLICATE_KEY' ? 'duplicate key' : 'syntax error'}: ${e.message.split('\n')[0]}`),
    );
  }
  return doc.toJS();
}

/** Validates an already-parsed config object after environment interpolation. */
export function buildConfig(raw: unknown, env: Env, source = 'config'): ProxyConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['(top level): expected a mapping with listen, vault, clients and services']);
  }
  const issues: string[] = [];
  const interpolated = interpolateEnv(raw, env, issues) as Record<string, unknown>;
  const withEnv = applyEnvDefaults(interpolated, env, issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  const schema = configSchema();
  const result = schema.safeParse(withEnv);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => `${formatPath(issue.path)}: ${describeIssue(schema, issue, withEnv)}`),
    );
  }
  return deepFreeze(result.data);
}

/** Loads, interpolates and validates a config file. */
export async function loadConfigFile(path: string, env: Env = process.env): Promise<ProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(path, [`cannot read the config file (${code})`]);
  }
  return buildConfig(parseConfigText(text, path), env, path);
}

/** Where the environment can fill a required field the file leaves out. */
const ENV_FILLS: Readonly<Record<string, string>> = {
  'vault.address': 'set it in the config file, or set VAULT_ADDR (e.g. VAULT_ADDR=https://vault.internal:8200) to fill it',
  'vault.auth': 'set it in the config file ({method: token | approle | kubernetes, ...}), or set VAULT_TOKEN to log in with that token',
};

function describeIssue(schema: ConfigSchema, issue: { code: string; message: string; path: PropertyKey[]; keys?: readonly string[] }, input: unknown): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    const known = fieldsAt(schema, issue.path, input) ?? [];
    const named = issue.keys.map((key) => `"${key}"${didYouMean(key, known)}`);
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
  }
  const fill = ENV_FILLS[issue.path.join('.')];
  if (fill !== undefined && valueAt(input, issue.path) === undefined) return `is required: ${fill}`;
  if (issue.message.startsWith('Invalid input: expected') && issue.message.endsWith('received undefined')) {
    return `is required (${issue.message.replace('Invalid input: ', '').replace(', received undefined', '')})`;
  }
  return issue.message;
}

/** The value at `path` of a parsed tree, undefined when any step is missing. */
function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let value = tree;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[String(segment)];
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
