/**
 * The signed injection types in the whole proxy app (AppRole login, the Vault emulator, debug
 * logging, /metrics) and in `secure-proxy check`: every new kind of secret (client secret,
 * access token, refresh token, HMAC key, AWS secret key and session token) stays out of
 * responses, log lines, metrics and the check's output, and the token endpoint's activity is
 * counted. The authorization server is oidc-provider in its own process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../../proxy/src/auth/token-format';
import type { CheckReport } from '../../proxy/src/admin/check';
import { cleanEnv, runCli } from '../support/cli';
import {
  startAuthorizationServer,
  startResourceServer,
  type AuthorizationServer,
  type RegisteredClient,
  type ResourceServer,
} from '../support/peers/oauth-peer';
import { expectProxyError } from '../support/proxy-assertions';
import { canary, listenProxy, startHarness, startProxy, type ProxyHarness, type ProxyListener, type TestProxy } from '../support/proxy-harness';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { vaultCall } from '../support/vault-setup';

jest.setTimeout(120_000);

const PROXY_TOKEN = `spt_n8n_${canary('proxytoken')}`;
const CRM: RegisteredClient = {
  client_id: 'crm',
  client_secret: canary('crmsecret'),
  grant_types: ['client_credentials'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'read',
};
const MAIL: RegisteredClient = {
  client_id: 'mail',
  client_secret: canary('mailsecret'),
  grant_types: ['refresh_token'],
  token_endpoint_auth_method: 'client_secret_basic',
};
const HMAC_KEY = canary('hmackey');
const AWS_SECRET = canary('awssecret');
const AWS_SESSION = canary('awssession');
const WRONG_SECRET = canary('wrongsecret');

describe('signed injection types in the whole app', () => {
  let harness: ProxyHarness;
  let as: AuthorizationServer;
  let api: ResourceServer;
  let mailApi: ResourceServer;
  let t: TestProxy;
  let listening: ProxyListener;
  let refreshToken: string;
  let dir: string;
  let config: Record<string, unknown>;
  const responses: RawResponse[] = [];
  const rotatedRefreshTokens: string[] = [];

  async function send(path: string, method = 'GET', body?: string): Promise<RawResponse> {
    const res = await rawRequest(listening.url, { method, path, body, headers: [['authorization', `Bearer ${PROXY_TOKEN}`]] });
    responses.push(res);
    return res;
  }

  beforeAll(async () => {
    as = await startAuthorizationServer([CRM, MAIL]);
    refreshToken = await as.issueRefreshToken(MAIL.client_id);
    harness = await startHarness({
      'svc/crm': { client_id: CRM.client_id, client_secret: CRM.client_secret },
      'svc/crm-wrong': { client_id: CRM.client_id, client_secret: WRONG_SECRET },
      // The harness's policy only reads: a refresh token grant cannot store a rotation.
      'svc/mail': { client_id: MAIL.client_id, client_secret: MAIL.client_secret, refresh_token: refreshToken },
      'svc/hooks': { key: HMAC_KEY },
      'svc/aws': { access_key_id: 'AKIDEXAMPLE', secret_access_key: AWS_SECRET, session_token: AWS_SESSION },
    });
    api = await startResourceServer(as, CRM);
    mailApi = await startResourceServer(as, MAIL);
    const echo = harness.upstream.url;
    const services = {
      crm: { target: api.url, secret: 'svc/crm', inject: { type: 'oauth2', grant: 'client_credentials', tokenUrl: as.tokenUrl, scope: 'read' } },
      'crm-wrong': { target: api.url, secret: 'svc/crm-wrong', inject: { type: 'oauth2', grant: 'client_credentials', tokenUrl: as.tokenUrl } },
      mail: { target: mailApi.url, secret: 'svc/mail', inject: { type: 'oauth2', grant: 'refresh_token', tokenUrl: as.tokenUrl } },
      hooks: { target: `${echo}/in`, secret: 'svc/hooks', inject: { type: 'hmac' } },
      aws: { target: echo, secret: 'svc/aws', inject: { type: 'aws-sigv4', region: 'eu-west-1', service: 'execute-api' } },
    } as const;
    t = await startProxy(harness, (base) => ({
      ...base,
      clients: { n8n: { tokenHashes: [hashToken(PROXY_TOKEN)], services: Object.keys(services) } },
      services,
    }));
    listening = await listenProxy(t);
    dir = mkdtempSync(join(tmpdir(), 'sp-signing-'));
    config = {
      vault: {
        address: harness.vault.address,
        auth: { method: 'approle', roleId: harness.appRole.roleId, secretId: '${VAULT_SECRET_ID}', mount: harness.approleMount },
        kvMount: harness.mount,
        timeoutMs: 10_000,
      },
      clients: {},
      services,
    };
  });

  afterAll(async () => {
    await listening?.close();
    await t?.proxy.stop();
    await api?.close();
    await mailApi?.close();
    await as?.close();
    await harness?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('injects each kind, scrubbing what the API echoes', async () => {
    const crm = await send('/forward/crm/echo');
    expect(crm.status).toBe(200);
    expect(crm.body.toString()).toContain('[REDACTED]');
    expect((await send('/forward/hooks/events', 'POST', '{"a":1}')).status).toBe(200);
    const aws = await send('/forward/aws/echo?x=1');
    expect(aws.status).toBe(200);
    // The echo upstream shows the headers it got: the session token is scrubbed, the signature is not secret.
    expect(aws.body.toString()).toContain('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/');
    expect(aws.body.toString()).not.toContain(AWS_SESSION);
  });

  it('fails closed with UPSTREAM_TOKEN_FAILED for a refused client, and with VAULT_FORBIDDEN where the rotation cannot be stored', async () => {
    const seen = api.seen.length;
    const wrong = await send('/forward/crm-wrong/items');
    expect(expectProxyError({ ...wrong, text: wrong.body.toString() }, 502, 'UPSTREAM_TOKEN_FAILED', 'upstream').message).toContain("'invalid_client'");
    const mail = await send('/forward/mail/messages');
    const denied = expectProxyError({ ...mail, text: mail.body.toString() }, 502, 'VAULT_FORBIDDEN', 'vault').message;
    expect(denied).toContain(`"read", "create" and "update" on ${harness.mount}/data/svc/mail`);
    expect(denied).toContain(`Vault denied writing secret ${harness.mount}/svc/mail`);
    expect(api.seen.length).toBe(seen);
    // The refresh token was not spent: the claim write failed before the token endpoint was asked.
    expect((await as.stats()).token.refresh_token).toBe(0);
  });

  it('refreshes and stores the rotation once the policy from vault-admin.md grants write on the secret', async () => {
    const doc = readFileSync(join(__dirname, '../../docs/vault-admin.md'), 'utf8');
    const block = [...doc.matchAll(/^( *)```hcl\n([\s\S]*?)^\1```$/gm)]
      .map(([, indent, body]) =>
        body
          .split('\n')
          .map((line) => line.slice(indent.length))
          .join('\n'),
      )
      .find((body) => body.includes('grant: refresh_token'));
    expect(block).toBeDefined();
    const grant = block!.replace('path "secret/data/secure-proxy/services/mail"', `path "${harness.mount}/data/svc/mail"`);
    expect(grant).toContain(`${harness.mount}/data/svc/mail`);
    const readOnly = `path "${harness.mount}/data/svc/*" { capabilities = ["read"] }\npath "sys/internal/ui/mounts/${harness.mount}" { capabilities = ["read"] }\n`;
    await vaultCall(harness.vault, 'PUT', `sys/policies/acl/${harness.vault.prefix}-proxy`, { policy: `${readOnly}\n${grant}` });
    const res = await send('/forward/mail/messages');
    expect(res.status).toBe(200);
    const stored = (await vaultCall<{ data: { data: Record<string, string> } }>(harness.vault, 'GET', `${harness.mount}/data/svc/mail`)).data.data;
    expect(stored.refresh_token).not.toBe(refreshToken);
    rotatedRefreshTokens.push(stored.refresh_token);
    expect((await as.stats()).token.refresh_token).toBe(1);
  });

  it('counts token endpoint activity in /metrics', async () => {
    const metrics = (await rawRequest(listening.url, { path: '/metrics' })).body.toString();
    expect(metrics).toMatch(/secure_proxy_upstream_tokens_total\{service="crm",grant="client_credentials",kind="mint"\} 1/);
    expect(metrics).toMatch(/secure_proxy_upstream_tokens_total\{service="crm-wrong",grant="client_credentials",kind="failure"\} 1/);
    responses.push(await rawRequest(listening.url, { path: '/metrics' }));
  });

  it('secure-proxy check mints a token or signs a probe per service (and rotates the refresh token, storing it)', async () => {
    const before = (await as.stats()).token.client_credentials;
    const file = join(dir, 'proxy.json');
    writeFileSync(file, JSON.stringify(config));
    const result = await runCli(['check', '--json', '--config', file], { env: cleanEnv({ VAULT_SECRET_ID: harness.appRole.secretId }) });
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(Object.fromEntries(report.services.map((s) => [s.name, s.code]))).toEqual({
      crm: null,
      'crm-wrong': 'UPSTREAM_TOKEN_FAILED',
      mail: null,
      hooks: null,
      aws: null,
    });
    expect((await as.stats()).token.client_credentials - before).toBe(2); // crm and crm-wrong
    expect((await as.stats()).errors.filter((e) => e === 'invalid_grant')).toEqual([]); // the refresh token check used was the stored one
    rotatedRefreshTokens.push(
      (await vaultCall<{ data: { data: Record<string, string> } }>(harness.vault, 'GET', `${harness.mount}/data/svc/mail`)).data.data.refresh_token,
    );
    responses.push({ status: 0, headers: {}, body: Buffer.alloc(0), transcript: `${result.stdout}\n${result.stderr}` });
  });

  it('shows no secret of any new kind in responses, logs, metrics or the check output', async () => {
    const accessTokens = [...new Set(api.seen.map((s) => s.token))];
    expect(accessTokens.length).toBeGreaterThan(0);
    expect(new Set(rotatedRefreshTokens).size).toBe(2);
    const values = [
      CRM.client_secret,
      MAIL.client_secret,
      WRONG_SECRET,
      refreshToken,
      ...rotatedRefreshTokens,
      HMAC_KEY,
      AWS_SECRET,
      AWS_SESSION,
      PROXY_TOKEN,
      ...accessTokens,
    ];
    const places: Record<string, string> = {
      responses: responses.map((r) => r.transcript).join('\n'),
      logs: t.logs.text(),
    };
    expect(places.logs).toContain('upstream token'); // the token events are logged (at debug, warn for failures)
    for (const [place, text] of Object.entries(places)) {
      for (const value of values) {
        const at = text.indexOf(value);
        expect({ place, leaked: at === -1 ? null : text.slice(Math.max(0, at - 200), at + value.length + 20) }).toEqual({ place, leaked: null });
      }
    }
  });
});
