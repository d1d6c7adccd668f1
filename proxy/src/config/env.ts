/**
 * Environment handling for the config file: `${VAR}` / `${VAR:-default}` references inside
 * string values, and a few well-known variables that fill fields the file leaves out.
 */

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed config tree.
 * `$$` stands for a literal `$`. A reference to an unset variable without a default is an
 * issue that names the field, so a missing secret id never turns into an empty string.
 */
export function interpolateEnv(tree: unknown, env: Env, issues: string[], path: string[] = []): unknown {
  if (typeof tree === 'string') {
    return tree.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const value = env[name as string];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      issues.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(tree)) return tree.map((item, i) => interpolateEnv(item, env, issues, [...path, String(i)]));
  if (tree !== null && typeof tree === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(tree)) out[key] = interpolateEnv(value, env, issues, [...path, key]);
    return out;
  }
  return tree;
}

/**
 * Fills fields from the environment where the file is silent, the way Vault's own tools do:
 * VAULT_ADDR, VAULT_TOKEN (token auth when no auth is configured), VAULT_NAMESPACE, and
 * SECURE_PROXY_HOST / SECURE_PROXY_PORT / SECURE_PROXY_LOG_LEVEL, which override the file
 * so one image can run with different listeners.
 */
export function applyEnvDefaults(raw: Record<string, unknown>, env: Env, issues: string[]): Record<string, unknown> {
  const config = { ...raw };
  const vault = isObject(config.vault) ? { ...config.vault } : config.vault === undefined ? {} : config.vault;
  if (isObject(vault)) {
    if (vault.address === undefined && env.VAULT_ADDR) vault.address = env.VAULT_ADDR;
    if (vault.auth === undefined && env.VAULT_TOKEN) vault.auth = { method: 'token', token: env.VAULT_TOKEN };
    if (vault.namespace === undefined && env.VAULT_NAMESPACE) vault.namespace = env.VAULT_NAMESPACE;
    config.vault = vault;
  }
  const listen = isObject(config.listen) ? { ...config.listen } : config.listen === undefined ? {} : config.listen;
  if (isObject(listen)) {
    if (env.SECURE_PROXY_HOST) listen.host = env.SECURE_PROXY_HOST;
    if (env.SECURE_PROXY_PORT) {
      const port = Number(env.SECURE_PROXY_PORT);
      if (!Number.isInteger(port)) issues.push(`SECURE_PROXY_PORT: expected an integer port, got "${env.SECURE_PROXY_PORT}"`);
      listen.port = port;
    }
    config.listen = listen;
  }
  if (env.SECURE_PROXY_LOG_LEVEL) {
    config.logging = { ...(isObject(config.logging) ? config.logging : {}), level: env.SECURE_PROXY_LOG_LEVEL };
  }
  return config;
}

export function formatPath(path: readonly (string | number | symbol)[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((segment, i) =>
      typeof segment === 'number' || /^\d+$/.test(String(segment)) ? `[${String(segment)}]` : i === 0 ? String(segment) : `.${String(segment)}`,
    )
    .join('');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
