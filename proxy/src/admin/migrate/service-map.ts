/**
 * The `--services` map of `migrate rewrite`: which API host becomes which proxy service.
 *
 *   api.github.com: { service: github }
 *   api.stripe.com: { service: stripe, secret: payments/stripe }
 *   example.atlassian.net: { service: jira, target: https://example.atlassian.net/rest/api/3 }
 *
 * `target` is the service's base URL in the proxy config (default `https://<host>`): paths
 * in the rewritten nodes are relative to it. `secret` is the service's KV path under the mount
 * (default `secure-proxy/services/<service>`, as in the example config). Keys are host names,
 * with a port when the URLs carry one (`127.0.0.1:8443`).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { didYouMean } from '../../shared/suggest';
import { MigrateUsageError } from './errors';

/** One host's entry, defaults filled in. */
export interface ServiceMapping {
  host: string;
  service: string;
  /** Base URL of the service in the proxy config, without a trailing slash. */
  target: string;
  /** KV path of the service's secret, relative to the mount. */
  secret: string;
}

export type ServiceMap = ReadonlyMap<string, ServiceMapping>;

/** The proxy's service-name rule (config/schema.ts): the name appears in URLs, logs and metrics. */
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;
const FIELDS = ['service', 'target', 'secret'];

const entrySchema = z.strictObject({
  service: z.string({ error: 'must be the proxy service name, e.g. github' }).regex(SERVICE_NAME, 'must be a service name (letters, digits, ".", "_", "-")'),
  target: z
    .string()
    .refine(
      (value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol),
      'must be an absolute http(s) URL, the service target of the proxy config',
    )
    .optional(),
  secret: z
    .string()
    .refine((p) => p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), 'must be a KV path like "secure-proxy/services/github"')
    .optional(),
});

/** The default KV path of a service's secret, as the example config names them. */
export function defaultSecretPath(service: string): string {
  return `secure-proxy/services/${service}`;
}

/** Parses and checks a map; every problem in one error naming the host and field. */
export function parseServiceMap(text: string, file: string): ServiceMap {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new MigrateUsageError(`--services ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MigrateUsageError(`--services ${file} must map API hosts to services, e.g. "api.github.com: { service: github }"`);
  }
  const problems: string[] = [];
  const map = new Map<string, ServiceMapping>();
  for (const [host, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!HOST.test(host)) {
      problems.push(`"${host}": must be a host name with an optional port, like api.github.com (no scheme, no path)`);
      continue;
    }
    const parsed = entrySchema.safeParse(typeof value === 'string' ? { service: value } : value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) problems.push(`${host}.${key}: unknown field${didYouMean(key, FIELDS)}; fields are ${FIELDS.join(', ')}`);
        } else problems.push(`${host}${issue.path.length > 0 ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
      }
      continue;
    }
    const { service, target, secret } = parsed.data;
    map.set(host.toLowerCase(), {
      host: host.toLowerCase(),
      service,
      target: (target ?? `https://${host.toLowerCase()}`).replace(/\/+$/, ''),
      secret: secret ?? defaultSecretPath(service),
    });
  }
  if (problems.length > 0) throw new MigrateUsageError(`--services ${file} has problems:\n  ${problems.join('\n  ')}`);
  if (map.size === 0) throw new MigrateUsageError(`--services ${file} maps no hosts`);
  return map;
}

/** Reads and parses the map file. */
export async function readServiceMap(file: string): Promise<ServiceMap> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MigrateUsageError(`--services ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  return parseServiceMap(text, file);
}
