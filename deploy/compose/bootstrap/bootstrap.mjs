#!/usr/bin/env node
/**
 * The compose trial's one-shot bootstrap (compose.yaml runs it on the proxy's image).
 *
 * Vault, through its HTTP API with the dev root token (VAULT_ADDR, VAULT_TOKEN):
 *   1. KV v2 at `secret` (dev mode has it; enabled when missing);
 *   2. a random sample secret at secret/secure-proxy/services/echo;
 *   3. the proxy's policy `secure-proxy` (read the service secrets and the token records);
 *   4. AppRole auth and the role `secure-proxy`; its role id and a new secret id go to
 *      $BOOTSTRAP_OUT/proxy.env (mode 0600) for the proxy's entrypoint;
 *   5. a proxy token for client `n8n-trial` with `secure-proxy token create` (`token rotate`
 *      on a re-run; the record in Vault, the token only in this process).
 * n8n, when N8N_URL is set (owner login, then its public API with a key made for this):
 *   6. the community package n8n-nodes-secure-proxy, installed as the Community Nodes UI does;
 *   7. the "Secure Proxy API" credential (PROXY_URL and the token), updated in place on a re-run;
 *   8. a workflow "Secure Proxy trial" (manual trigger → Secure Proxy Request GET echo /hello).
 *
 * Each step says what it did on stderr; no secret, secret id or token is ever printed.
 * Exit 1 with the failing step and the answer that stopped it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = (name, fallback) => process.env[name] ?? fallback ?? fail(`${name} is not set`);
const VAULT_ADDR = () => env('VAULT_ADDR').replace(/\/+$/, '');
const CLIENT = 'n8n-trial';
const SERVICE = 'echo';
const CREDENTIAL_NAME = 'Secure Proxy (trial)';
const WORKFLOW_NAME = 'Secure Proxy trial';
const WAIT_MS = 180_000;

class BootstrapError extends Error {}
function fail(message) {
  throw new BootstrapError(message);
}
const say = (message) => process.stderr.write(`bootstrap: ${message}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function vault(method, path, body) {
  const response = await fetch(`${VAULT_ADDR()}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': env('VAULT_TOKEN'), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

async function vaultOk(method, path, body) {
  const answer = await vault(method, path, body);
  if (answer.status >= 300) fail(`Vault ${method} ${path}: ${answer.status} ${(answer.body.errors ?? []).join('; ')}`);
  return answer.body;
}

/** Waits until `probe` resolves true; a service in compose can take a while to come up. */
async function waitUntil(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(1000);
  }
  fail(`${what} did not come up within ${WAIT_MS / 1000} s`);
}

const PROXY_POLICY = `# The proxy reads the service secrets and the token records; nothing else.
path "secret/data/secure-proxy/services/*" { capabilities = ["read"] }
path "sys/internal/ui/mounts/secret" { capabilities = ["read"] }
path "secret/metadata/secure-proxy/clients/" { capabilities = ["list"] }
path "secret/data/secure-proxy/clients/*" { capabilities = ["read"] }
`;

async function bootstrapVault() {
  await waitUntil('Vault', async () => (await fetch(`${VAULT_ADDR()}/v1/sys/health`)).status === 200);
  const mounts = await vaultOk('GET', 'sys/mounts');
  if (mounts['secret/'] === undefined && mounts.data?.['secret/'] === undefined) {
    await vaultOk('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    say('enabled KV v2 at secret/');
  }
  await vaultOk('POST', `secret/data/secure-proxy/services/${SERVICE}`, { data: { token: `sample-${randomBytes(16).toString('hex')}` } });
  say(`wrote a random sample secret to secret/secure-proxy/services/${SERVICE}`);
  await vaultOk('PUT', 'sys/policies/acl/secure-proxy', { policy: PROXY_POLICY });
  say('wrote the policy secure-proxy');
  const auths = await vaultOk('GET', 'sys/auth');
  if (auths['approle/'] === undefined && auths.data?.['approle/'] === undefined) {
    await vaultOk('POST', 'sys/auth/approle', { type: 'approle' });
    say('enabled AppRole auth at approle/');
  }
  await vaultOk('POST', 'auth/approle/role/secure-proxy', { token_policies: ['secure-proxy'], token_ttl: '1h', token_max_ttl: '4h', secret_id_ttl: '0' });
  const roleId = (await vaultOk('GET', 'auth/approle/role/secure-proxy/role-id')).data.role_id;
  const secretId = (await vaultOk('POST', 'auth/approle/role/secure-proxy/secret-id', {})).data.secret_id;
  const out = env('BOOTSTRAP_OUT');
  mkdirSync(out, { recursive: true });
  const file = join(out, 'proxy.env');
  writeFileSync(file, `VAULT_ROLE_ID=${roleId}\nVAULT_SECRET_ID=${secretId}\n`, { mode: 0o600 });
  // In compose the bootstrap runs as root (the fresh volume is root's); the proxy, user 1000, reads the file.
  if (process.getuid?.() === 0) chownSync(file, 1000, 1000);
  say(`created the AppRole secure-proxy; its role id and secret id are in ${file}`);
  return { roleId, secretId };
}

/**
 * `secure-proxy token create` (or `token rotate` when an earlier run made the client's record):
 * the record goes to Vault, the token (stdout) stays in this process.
 */
async function createProxyToken(appRole) {
  const cli = env('SECURE_PROXY_CLI', '/opt/secure-proxy/proxy/dist/cli.js');
  const exists = (await vault('GET', `secret/data/secure-proxy/clients/${CLIENT}`)).status === 200;
  const command = exists ? ['token', 'rotate', '--grace', '1h'] : ['token', 'create', '--services', SERVICE, '--ttl', '90d'];
  const result = spawnSync(process.execPath, [cli, ...command, '--config', env('SECURE_PROXY_CONFIG'), '--client', CLIENT], {
    encoding: 'utf8',
    env: { ...process.env, VAULT_ROLE_ID: appRole.roleId, VAULT_SECRET_ID: appRole.secretId },
    timeout: 60_000,
  });
  if (result.status !== 0) fail(`secure-proxy ${command.slice(0, 2).join(' ')} failed (exit ${result.status}): ${result.stderr.trim()}`);
  const token = result.stdout.trim();
  if (!token.startsWith('spt_')) fail(`secure-proxy ${command.slice(0, 2).join(' ')} printed no token`);
  say(
    exists
      ? `rotated the proxy token of client ${CLIENT} (the previous one stays valid for an hour)`
      : `created a proxy token for client ${CLIENT} (services: ${SERVICE}; 90 days)`,
  );
  return token;
}

/** Owner login, then a public-API key for this run. */
async function n8nApiKey(base) {
  const browserId = `bootstrap-${randomBytes(6).toString('hex')}`;
  const login = await fetch(`${base}/rest/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'browser-id': browserId },
    body: JSON.stringify({ emailOrLdapLoginId: env('N8N_OWNER_EMAIL'), password: env('N8N_OWNER_PASSWORD') }),
  });
  if (login.status !== 200) fail(`n8n login as ${env('N8N_OWNER_EMAIL')}: ${login.status}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('n8n-auth='));
  if (cookie === undefined) fail('n8n login set no n8n-auth cookie');
  const session = { 'content-type': 'application/json', 'browser-id': browserId, cookie };
  const created = await fetch(`${base}/rest/api-keys`, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({
      label: `bootstrap ${new Date().toISOString()}`,
      scopes: ['credential:create', 'credential:update', 'credential:list', 'workflow:create', 'workflow:list'],
      expiresAt: null,
    }),
  });
  const key = (await created.json()).data?.rawApiKey;
  if (created.status !== 200 || key === undefined) fail(`n8n API key: ${created.status}`);
  return { key, session };
}

async function n8nCall(base, apiKey, method, path, body) {
  const response = await fetch(`${base}/api/v1/${path}`, {
    method,
    headers: { 'x-n8n-api-key': apiKey, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status >= 300) fail(`n8n ${method} /api/v1/${path}: ${response.status} ${answer.message ?? ''}`);
  return answer;
}

async function bootstrapN8n(token) {
  const base = env('N8N_URL').replace(/\/+$/, '');
  await waitUntil('n8n', async () => (await fetch(`${base}/healthz`)).status === 200);
  const { key, session } = await n8nApiKey(base);

  // Loaded already (installed earlier, or baked into a custom image): the credential type is known.
  const types = await fetch(`${base}/types/credentials.json`, { headers: session });
  const known = types.status === 200 && (await types.json()).some((type) => type.name === 'secureProxyApi');
  if (known) say('n8n already has the package n8n-nodes-secure-proxy');
  else {
    const install = await fetch(`${base}/rest/community-packages`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ name: 'n8n-nodes-secure-proxy', verify: false }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    if (install.status !== 200) fail(`installing n8n-nodes-secure-proxy in n8n: ${install.status} ${(await install.text()).slice(0, 500)}`);
    say('installed the community package n8n-nodes-secure-proxy');
  }

  const data = { url: env('PROXY_URL'), token };
  const existing = (await n8nCall(base, key, 'GET', 'credentials')).data?.find((c) => c.name === CREDENTIAL_NAME && c.type === 'secureProxyApi');
  let credential;
  if (existing === undefined) {
    credential = await n8nCall(base, key, 'POST', 'credentials', { name: CREDENTIAL_NAME, type: 'secureProxyApi', data });
    say(`created the credential "${CREDENTIAL_NAME}" (${credential.id})`);
  } else {
    credential = existing;
    await n8nCall(base, key, 'PATCH', `credentials/${existing.id}`, { data, isPartialData: true });
    say(`put the new token into the credential "${CREDENTIAL_NAME}" (${existing.id})`);
  }

  const workflows = (await n8nCall(base, key, 'GET', `workflows?name=${encodeURIComponent(WORKFLOW_NAME)}`)).data ?? [];
  if (workflows.length === 0) {
    const workflow = await n8nCall(base, key, 'POST', 'workflows', {
      name: WORKFLOW_NAME,
      nodes: [
        { id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
        {
          id: 'proxy',
          name: 'Secure Proxy Request',
          type: 'n8n-nodes-secure-proxy.secureProxyRequest',
          typeVersion: 2,
          position: [240, 0],
          parameters: { service: { __rl: true, mode: 'list', value: SERVICE }, method: 'GET', path: '/hello' },
          credentials: { secureProxyApi: { id: credential.id, name: CREDENTIAL_NAME } },
        },
      ],
      connections: { Start: { main: [[{ node: 'Secure Proxy Request', type: 'main', index: 0 }]] } },
      settings: {},
    });
    say(`created the workflow "${WORKFLOW_NAME}" (${workflow.id}): open it and press Execute workflow`);
  }
}

async function main() {
  const appRole = await bootstrapVault();
  const token = await createProxyToken(appRole);
  if (process.env.N8N_URL) await bootstrapN8n(token);
  else say('N8N_URL is not set: n8n left alone');
  say('done');
}

main().catch((err) => {
  say(err instanceof BootstrapError ? err.message : (err?.stack ?? String(err)));
  process.exit(1);
});
