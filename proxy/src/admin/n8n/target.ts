/**
 * The `--n8n-*` flags of `token create | rotate`, checked before anything is changed: which
 * n8n, which credential, and the API key, which comes only from the environment
 * (N8N_API_KEY) or a file (--n8n-api-key-file), never from the command line, where `ps` and
 * shell history would show it.
 */
import { readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { TokenAdminUsageError } from '../tokens/errors';
import type { N8nTarget } from './push';

export interface N8nFlags {
  n8nUrl?: string;
  n8nCredentialId?: string;
  n8nApiKeyFile?: string;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a URL host stays on this machine (so plain http does not cross a network). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** The --n8n-url value as a URL, refused unless it is plain http(s) without credentials, query or fragment. */
export function parseN8nUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TokenAdminUsageError(`--n8n-url must be an absolute http(s) URL such as https://n8n.internal, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TokenAdminUsageError(`--n8n-url must use http or https, got "${url.protocol}"`);
  if (url.username !== '' || url.password !== '')
    throw new TokenAdminUsageError('--n8n-url must not carry credentials; the API key comes from N8N_API_KEY or --n8n-api-key-file');
  if (url.search !== '' || url.hash !== '') throw new TokenAdminUsageError('--n8n-url must not have a query or fragment');
  return url;
}

/** The n8n API key from --n8n-api-key-file or N8N_API_KEY (never from a flag of its own). */
export async function apiKeyOf(flags: Pick<N8nFlags, 'n8nApiKeyFile'>, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (flags.n8nApiKeyFile !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.n8nApiKeyFile, 'utf8');
    } catch (err) {
      throw new TokenAdminUsageError(`--n8n-api-key-file ${flags.n8nApiKeyFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    }
    const key = text.trim();
    if (key === '') throw new TokenAdminUsageError(`--n8n-api-key-file ${flags.n8nApiKeyFile} is empty`);
    return key;
  }
  const key = env.N8N_API_KEY?.trim() ?? '';
  if (key === '') throw new TokenAdminUsageError('--n8n-url needs an n8n API key: set N8N_API_KEY or pass --n8n-api-key-file FILE (never on the command line)');
  return key;
}

/**
 * The n8n to push to, or null when no `--n8n-*` flag is given. `warn` receives advice for
 * the admin (plain http across a network).
 */
export async function n8nTargetOf(
  flags: N8nFlags,
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
  warn: (line: string) => void,
): Promise<N8nTarget | null> {
  const given = [flags.n8nUrl, flags.n8nCredentialId, flags.n8nApiKeyFile].some((v) => v !== undefined);
  if (!given) return null;
  if (flags.n8nUrl === undefined || flags.n8nCredentialId === undefined) {
    throw new TokenAdminUsageError('pushing the token into n8n needs both --n8n-url URL and --n8n-credential-id ID');
  }
  const url = parseN8nUrl(flags.n8nUrl);
  if (flags.n8nCredentialId.trim() === '') throw new TokenAdminUsageError('--n8n-credential-id must not be empty');
  const apiKey = await apiKeyOf(flags, env);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    warn(`warning: --n8n-url is plain http to ${url.host}: the API key and the new proxy token cross the network unencrypted; use https`);
  }
  return { baseUrl: url.href.replace(/\/+$/, ''), credentialId: flags.n8nCredentialId.trim(), apiKey, timeoutMs };
}
