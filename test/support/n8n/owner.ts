/**
 * The headless owner and API key recipe for n8n 2.41:
 * 1. start n8n with N8N_INSTANCE_OWNER_MANAGED_BY_ENV=true, N8N_INSTANCE_OWNER_EMAIL and
 *    N8N_INSTANCE_OWNER_PASSWORD_HASH (a bcrypt hash; n8n rejects anything else) — `n8n start`
 *    creates or overwrites the owner from them;
 * 2. POST /rest/login {emailOrLdapLoginId, password} → an `n8n-auth` cookie bound to the
 *    `browser-id` header sent with it (later calls must send the same header or get 401);
 * 3. POST /rest/api-keys {label, scopes, expiresAt: null} → data.rawApiKey, the key for the
 *    public API's X-N8N-API-KEY header.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface Owner {
  email: string;
  password: string;
  passwordHash: string;
}

/** Scopes for the tests: read workflows and executions, create and update credentials. */
export const DEFAULT_API_KEY_SCOPES = [
  'workflow:list',
  'workflow:read',
  'credential:create',
  'credential:update',
  'credential:list',
  'execution:list',
  'execution:read',
];

/** A random owner; the hash comes from the bcryptjs that ships inside n8n's node_modules. */
export function makeOwner(n8nNodeModules: string): Owner {
  const bcrypt = require(join(n8nNodeModules, 'bcryptjs')) as { hashSync(password: string, rounds: number): string };
  const password = `Harness-${randomBytes(12).toString('base64url')}-1a`;
  return { email: 'owner@example.com', password, passwordHash: bcrypt.hashSync(password, 10) };
}

export function ownerEnv(owner: Owner): Record<string, string> {
  return {
    N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
    N8N_INSTANCE_OWNER_EMAIL: owner.email,
    N8N_INSTANCE_OWNER_PASSWORD_HASH: owner.passwordHash,
  };
}

/** Logs in as the owner on a running n8n and creates a public-API key with the given scopes. */
export async function createApiKey(baseUrl: string, owner: Owner, scopes: string[], label = 'e2e'): Promise<string> {
  const browserId = `harness-${randomBytes(6).toString('hex')}`;
  const login = await fetch(`${baseUrl}/rest/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'browser-id': browserId },
    body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
  });
  if (login.status !== 200) throw new Error(`POST /rest/login: ${login.status} ${await login.text()}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('n8n-auth='));
  if (!cookie) throw new Error('POST /rest/login set no n8n-auth cookie');

  const created = await fetch(`${baseUrl}/rest/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'browser-id': browserId, cookie },
    body: JSON.stringify({ label, scopes, expiresAt: null }),
  });
  const body = (await created.json()) as { data?: { rawApiKey?: string } };
  if (created.status !== 200 || !body.data?.rawApiKey) {
    throw new Error(`POST /rest/api-keys: ${created.status} ${JSON.stringify(body)}`);
  }
  return body.data.rawApiKey;
}
