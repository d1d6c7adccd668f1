/**
 * The Vault session (login, renewal, dead-token recovery, readiness) through the real
 * node-vault client against the Vault emulator, or a real Vault when VAULT_ADDR/VAULT_TOKEN
 * are set. TTLs are a few seconds so renewal and expiry happen within the test.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import NodeVault from 'node-vault';
import type { VaultConfig } from '../../proxy/src/config/schema';
import { ProxyError } from '../../proxy/src/contract/proxy-error';
import { LoginRefusedError } from '../../proxy/src/secrets/login-refused';
import { leaseFromLogin, type AuthStrategy } from '../../proxy/src/vault/auth';
import { createKvReader } from '../../proxy/src/vault/kv';
import { VaultSession } from '../../proxy/src/vault/session';
import { ANONYMOUS_REQUEST, createVaultTransport } from '../../proxy/src/vault/transport';
import { deadPort, recordEvents, revokeTokensIssuedBy, startRecordingServer, vaultConfig, waitFor, type EventLog } from '../support/secrets-harness';
import {
  createAppRole,
  createKubernetesRole,
  createToken,
  enableAppRole,
  enableKubernetesAuth,
  enableKv,
  itEmulatorOnly,
  revokeToken,
  serviceAccountJwt,
  writePolicy,
  writeSecret,
} from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

const SECRET = 'api-SECRET-value-42';
/** Deadline of a wait for something the session does on its own schedule: for a broken session, not a pace. */
const DEADLINE_MS = 15_000;

let target: VaultTarget;
let kv: string;
let policy: string;
let tmp: string;
let mounts = 0;
/** Every token and secret id the tests hand out, for the leak check. */
const credentials: string[] = [];
const logs: EventLog[] = [];
const running: VaultSession[] = [];

function start(
  config: Partial<VaultConfig> & Pick<VaultConfig, 'auth'>,
  strategy?: AuthStrategy,
): { session: VaultSession; log: EventLog; ready: Promise<void> } {
  const log = recordEvents();
  logs.push(log);
  const session = new VaultSession({ vault: vaultConfig(target, { kvMount: kv, ...config }), events: log.events, strategy });
  running.push(session);
  return { session, log, ready: session.start() };
}

const read = (session: VaultSession) => createKvReader(session, { mount: kv, version: 2 }).read('app/s');

/** A fresh AppRole mount and role (tokens revocable per mount without touching other tests). */
async function appRole(tokenTtl: number | string, tokenMaxTtl: number | string): Promise<{ mount: string; auth: VaultConfig['auth'] }> {
  mounts += 1;
  const mount = `${target.prefix}-approle${mounts}`;
  await enableAppRole(target, mount);
  const { roleId, secretId } = await createAppRole(target, mount, 'proxy', { policies: [policy], tokenTtl, tokenMaxTtl });
  credentials.push(secretId);
  return { mount, auth: { method: 'approle', roleId, secretId, mount } };
}

const count = (log: EventLog, operation: string, outcome?: string) =>
  log.calls.filter((c) => c.operation === operation && (outcome === undefined || c.outcome === outcome)).length;
const states = (log: EventLog) => log.auth.map((a) => a.state);

beforeAll(async () => {
  target = await startVaultTarget();
  credentials.push(target.rootToken);
  kv = `${target.prefix}-kv`;
  policy = `${target.prefix}-reader`;
  await enableKv(target, kv, 2);
  await writeSecret(target, kv, 'app/s', { token: SECRET }, 2);
  await writePolicy(target, policy, { path: { [`${kv}/data/*`]: { capabilities: ['read'] } } });
  tmp = await mkdtemp(join(tmpdir(), 'vault-session-'));
});

afterEach(async () => {
  target.emulator?.faults.reset();
  for (const s of running.splice(0)) await s.stop();
});

afterAll(async () => {
  const seen = logs.map((l) => l.text()).join('\n');
  for (const secret of [...credentials, SECRET]) expect(seen).not.toContain(secret);
  await rm(tmp, { recursive: true, force: true });
  await target.close();
});

describe('VaultSession', () => {
  it('AppRole: logs in at auth/<mount>/login, is ready, reads; stop() makes it not ready', async () => {
    const { auth } = await appRole('1h', '2h');
    const { session, log, ready } = start({ auth });
    await ready;
    expect(session.readiness()).toEqual({ ready: true, reason: null });
    expect(log.auth).toEqual([{ state: 'authenticated', method: 'approle', ttlSeconds: 3600, reason: null }]);
    expect(count(log, 'login', 'ok')).toBe(1);
    expect(await read(session)).toEqual({ token: SECRET });
    await session.stop();
    expect(session.readiness()).toEqual({ ready: false, reason: 'the Vault session is stopped' });
  });

  it('AppRole: a revoked token is noticed on 403, one re-login serves all concurrent reads, and they succeed', async () => {
    const { mount, auth } = await appRole('1h', '2h');
    const { session, log, ready } = start({ auth });
    await ready;
    expect(await revokeTokensIssuedBy(target, mount)).toBe(1);
    const results = await Promise.all(Array.from({ length: 5 }, () => read(session)));
    expect(results).toEqual(Array(5).fill({ token: SECRET }));
    expect(count(log, 'login', 'ok')).toBe(2);
    expect(count(log, 'lookup', 'invalid_token')).toBe(1);
    expect(states(log)).toEqual(['authenticated', 'expired', 'relogin']);
    expect(session.readiness().ready).toBe(true);
  });

  it('token auth: a revoked token makes readiness false and reads fail fast with VAULT_UNAVAILABLE, marked as refused by Vault', async () => {
    const token = await createToken(target, { policies: [policy], ttl: '1h' });
    credentials.push(token);
    const { session, log, ready } = start({ auth: { method: 'token', token } });
    await ready;
    expect(session.readiness().ready).toBe(true);
    await revokeToken(target, token);
    const err = await read(session).catch((e: unknown) => e);
    // Refused, not unreachable: the cache must not serve a stale copy over it.
    expect(err).toBeInstanceOf(LoginRefusedError);
    expect(err).toMatchObject({ code: 'VAULT_UNAVAILABLE', message: expect.stringMatching(/^Vault refused the proxy's login, .*no longer valid/) });
    expect(session.readiness()).toEqual({ ready: false, reason: expect.stringContaining('configure a new token') });
    expect(states(log)).toEqual(['authenticated', 'expired']);
    // Nothing can replace a static token: later reads do not even call Vault.
    const calls = log.calls.length;
    await expect(read(session)).rejects.toBeInstanceOf(LoginRefusedError);
    expect(log.calls.length).toBe(calls);
  });

  it('Vault unreachable: reads fail with VAULT_UNAVAILABLE that is not a refusal (the cache may bridge it)', async () => {
    const { session, ready } = start({ address: `http://127.0.0.1:${await deadPort()}`, auth: { method: 'token', token: 'hvs.NotAValidTokenAtAll00000' } });
    await ready;
    const err = await read(session).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect(err).not.toBeInstanceOf(LoginRefusedError);
    expect(err).toMatchObject({ code: 'VAULT_UNAVAILABLE', message: expect.stringContaining('refused the connection') });
  });

  it('token auth: an invalid token at start → not ready', async () => {
    const { session, ready } = start({ auth: { method: 'token', token: 'hvs.NotAValidTokenAtAll00000' } });
    await ready;
    expect(session.readiness()).toEqual({ ready: false, reason: expect.stringContaining('no longer valid') });
  });

  it('renewal capped by the max TTL: AppRole logs in again in time; a static token renews on the returned TTL, then runs out', async () => {
    const { auth } = await appRole(3, 4);
    const role = start({ auth });
    const token = await createToken(target, { policies: [policy], ttl: 3, explicitMaxTtl: 4, renewable: true });
    credentials.push(token);
    const fixed = start({ auth: { method: 'token', token } });
    const startedAt = Date.now();
    await Promise.all([role.ready, fixed.ready]);

    const capped = (log: EventLog) => log.auth.some((a) => a.state === 'renewed' && /capped/.test(a.reason ?? ''));
    await Promise.all([
      waitFor('AppRole capped renewal', () => capped(role.log), DEADLINE_MS),
      waitFor('static token capped renewal', () => capped(fixed.log), DEADLINE_MS),
    ]);
    await waitFor('AppRole re-login', () => states(role.log).includes('relogin'), DEADLINE_MS);
    await waitFor('static token to run out', () => !fixed.session.readiness().ready, DEADLINE_MS);
    expect(fixed.session.readiness().reason).toContain('end of its TTL');

    // Past the first AppRole token's max TTL, the session still reads with its new token.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 4500 - Date.now())));
    expect(await read(role.session)).toEqual({ token: SECRET });
    expect(role.session.readiness().ready).toBe(true);
    expect(states(role.log).filter((s) => s === 'failed' || s === 'expired')).toEqual([]);
  });

  it('a non-renewable token is replaced by a new login before it expires, never renewed', async () => {
    // A "login" that mints non-renewable 2 s tokens with the root token, on the real client.
    const mint: AuthStrategy = {
      method: 'approle',
      canRelogin: true,
      operation: 'login',
      async authenticate(client) {
        const response: unknown = await client.write(
          'auth/token/create',
          { policies: [policy], ttl: '2s', renewable: false },
          { headers: { 'X-Vault-Token': target.rootToken } },
        );
        const lease = leaseFromLogin(response);
        client.token = (response as { auth: { client_token: string } }).auth.client_token;
        return lease;
      },
    };
    const { session, log, ready } = start({ auth: { method: 'token', token: 'unused' } }, mint);
    await ready;
    await waitFor('two logins that replaced the first token', () => count(log, 'login', 'ok') >= 3, DEADLINE_MS);
    expect(session.readiness().ready).toBe(true);
    expect(await read(session)).toEqual({ token: SECRET });
    expect(count(log, 'renew')).toBe(0);
    expect(states(log).filter((s) => s === 'expired' || s === 'failed')).toEqual([]);
  });

  itEmulatorOnly('renewal refused (400 "lease is not renewable") → AppRole logs in again', async () => {
    const { auth } = await appRole(2, '1h');
    const { session, log, ready } = start({ auth });
    await ready;
    // The idle session's next Vault request is its renewal.
    target.emulator!.faults.failNext(1, 400, { errors: ['lease is not renewable'] });
    await waitFor('re-login after refused renewal', () => states(log).includes('relogin'), DEADLINE_MS);
    expect(count(log, 'renew', 'error')).toBe(1);
    expect(log.auth.find((a) => a.state === 'failed')?.reason).toContain('refused to renew');
    expect(session.readiness().ready).toBe(true);
  });

  itEmulatorOnly('Kubernetes: logs in at auth/<mount>/login with the JWT file read at each login', async () => {
    const mount = `${target.prefix}-k8s`;
    await enableKubernetesAuth(target, mount);
    await createKubernetesRole(target, mount, 'proxy', { serviceAccountNames: ['secure-proxy'], namespaces: ['n8n'], policies: [policy] });
    const jwtPath = join(tmp, 'token');
    const wrong = serviceAccountJwt({ name: 'someone-else', namespace: 'n8n', projected: true });
    const right = serviceAccountJwt({ name: 'secure-proxy', namespace: 'n8n', projected: true });
    credentials.push(wrong, right);
    await writeFile(jwtPath, `${wrong}\n`);
    target.emulator!.clearRequests();
    const { session, log, ready } = start({ auth: { method: 'kubernetes', role: 'proxy', jwtPath, mount } });
    await ready;
    expect(session.readiness()).toEqual({ ready: false, reason: expect.stringContaining('refused the kubernetes login (403)') });
    // The projected token rotates on disk; the next login attempt must read the new one.
    await writeFile(jwtPath, `${right}\n`);
    await waitFor('Kubernetes login with the rotated JWT', () => session.readiness().ready, DEADLINE_MS);
    expect(await read(session)).toEqual({ token: SECRET });
    const logins = target.emulator!.requests.filter((r) => r.path.endsWith('/login')).map((r) => r.path);
    expect(new Set(logins)).toEqual(new Set([`/v1/auth/${mount}/login`]));
    expect(states(log)).toEqual(['failed', 'authenticated']);
  });

  it('login requests never carry the previous token; other calls do', async () => {
    const recorder = await startRecordingServer();
    const transport = createVaultTransport({ timeoutMs: 10_000 });
    try {
      const client = NodeVault({ endpoint: recorder.url, token: 'hvs.previous-token', 'request-promise': transport.requestPromise });
      await client.approleLogin({ role_id: 'r', secret_id: 's', mount_point: 'approle', requestOptions: { [ANONYMOUS_REQUEST]: true } });
      await client.read('secret/data/x');
      expect(recorder.received.map((r) => [r.url, r.headers['x-vault-token'] ?? null])).toEqual([
        ['/v1/auth/approle/login', null],
        ['/v1/secret/data/x', 'hvs.previous-token'],
      ]);
    } finally {
      transport.close();
      await recorder.close();
    }
  });

  it('a failed call rejects with an error that holds no token, however deeply inspected', async () => {
    const transport = createVaultTransport({ timeoutMs: 1000 });
    try {
      const client = NodeVault({ endpoint: `http://127.0.0.1:${await deadPort()}`, token: 'hvs.must-not-leak', 'request-promise': transport.requestPromise });
      const err = await client.read('secret/data/x').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'VaultTransportError', code: 'ECONNREFUSED' });
      expect(inspect(err, { depth: Infinity, showHidden: true })).not.toContain('must-not-leak');
    } finally {
      transport.close();
    }
  });
});
