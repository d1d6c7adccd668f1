/**
 * KV reads through the real node-vault client (with our transport) against the Vault
 * emulator, or a real Vault when VAULT_ADDR/VAULT_TOKEN are set.
 */
import { startVaultEmulator } from '../../dev/src/vault-emulator';
import { ProxyError } from '../../proxy/src/contract/proxy-error';
import { createKvReader } from '../../proxy/src/vault/kv';
import { VaultSession } from '../../proxy/src/vault/session';
import type { VaultConfig } from '../../proxy/src/config/schema';
import { deadPort, recordEvents, startRecordingServer, vaultConfig, waitFor, type EventLog } from '../support/secrets-harness';
import { createToken, deleteSecretLatest, destroySecretVersions, enableKv, itEmulatorOnly, vaultCall, writePolicy, writeSecret } from '../support/vault-setup';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';

let target: VaultTarget;
let log: EventLog;
let kv1: string;
let kv2: string;
let readerToken: string;
/** Session with a policy that reads only `<kv2>/data/app/*` and `<kv1>/app/*`. */
let session: VaultSession;
/** Session with the root token, for reads the narrow policy could not even attempt. */
let rootSession: VaultSession;
const sessions: VaultSession[] = [];
const errors: string[] = [];

/**
 * vault.timeoutMs of the sessions that must fail without waiting for it: a refusal has to come
 * far sooner than a quarter of this, which no busy machine makes a plain connect take.
 */
const PATIENT_TIMEOUT_MS = 60_000;

const SECRET = 'ghp-SECRET-value-1';
const LEGACY = 'legacy-SECRET-value';

async function newSession(config: Partial<VaultConfig> & Pick<VaultConfig, 'auth'>, eventLog: EventLog = log): Promise<VaultSession> {
  const s = new VaultSession({ vault: vaultConfig(target, config), events: eventLog.events });
  sessions.push(s);
  await s.start();
  return s;
}

/** The ProxyError a promise rejects with (recorded for the leak check). */
async function failure(promise: Promise<unknown>): Promise<ProxyError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof ProxyError)) throw err;
  errors.push(err.message, JSON.stringify(err.headers));
  return err;
}

beforeAll(async () => {
  target = await startVaultTarget();
  log = recordEvents();
  kv1 = `${target.prefix}-kv1`;
  kv2 = `${target.prefix}-kv2`;
  await enableKv(target, kv1, 1);
  await enableKv(target, kv2, 2);
  await writeSecret(target, kv2, 'app/github', { token: SECRET, port: 8443, enabled: true, nested: { a: 1 }, nothing: null }, 2);
  await writeSecret(target, kv1, 'app/legacy', { token: LEGACY }, 1);
  await writePolicy(target, `${target.prefix}-reader`, {
    path: { [`${kv2}/data/app/*`]: { capabilities: ['read'] }, [`${kv1}/app/*`]: { capabilities: ['read'] } },
  });
  readerToken = await createToken(target, { policies: [`${target.prefix}-reader`], ttl: '1h' });
  session = await newSession({ auth: { method: 'token', token: readerToken }, kvMount: kv2 });
  rootSession = await newSession({ auth: { method: 'token', token: target.rootToken }, kvMount: kv2 });
});

afterEach(() => target.emulator?.faults.reset());

afterAll(async () => {
  for (const s of sessions) await s.stop();
  // No token and no secret value in any event or error message.
  const seen = `${log.text()}\n${errors.join('\n')}`;
  for (const secret of [readerToken, target.rootToken, SECRET, LEGACY]) expect(seen).not.toContain(secret);
  await target.close();
});

const mountsCalls = () => log.calls.filter((c) => c.operation === 'mounts').length;

describe('KV reads through node-vault', () => {
  it('KV v2: returns data.data, numbers and booleans as strings, objects and null dropped', async () => {
    expect(session.readiness()).toEqual({ ready: true, reason: null });
    const reader = createKvReader(session, { mount: kv2 });
    expect(await reader.read('app/github')).toEqual({ token: SECRET, port: '8443', enabled: 'true' });
  });

  it('KV v1: the version is detected from sys/internal/ui/mounts once, then data is returned', async () => {
    const before = mountsCalls();
    const reader = createKvReader(session, { mount: kv1 });
    expect(await reader.read('app/legacy')).toEqual({ token: LEGACY });
    expect(await reader.read('app/legacy')).toEqual({ token: LEGACY });
    expect(mountsCalls() - before).toBe(1);
  });

  it('a configured kvVersion skips detection', async () => {
    const before = mountsCalls();
    const reader = createKvReader(session, { mount: kv2, version: 2 });
    expect((await reader.read('app/github')).token).toBe(SECRET);
    expect(mountsCalls()).toBe(before);
  });

  it('missing secret (404 {"errors":[]}) → SECRET_NOT_FOUND naming the path', async () => {
    const err = await failure(createKvReader(session, { mount: kv2 }).read('app/missing'));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toBe(`secret ${kv2}/app/missing does not exist in Vault`);
  });

  it('latest version deleted (404 with metadata, no errors) → SECRET_NOT_FOUND saying deleted', async () => {
    await writeSecret(target, kv2, 'app/deleted', { token: 'x' }, 2);
    await deleteSecretLatest(target, kv2, 'app/deleted');
    const err = await failure(createKvReader(session, { mount: kv2 }).read('app/deleted'));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toContain(`latest version of secret ${kv2}/app/deleted was deleted`);
  });

  it('latest version destroyed → SECRET_NOT_FOUND saying destroyed', async () => {
    const version = await writeSecret(target, kv2, 'app/destroyed', { token: 'x' }, 2);
    await destroySecretVersions(target, kv2, 'app/destroyed', [version as number]);
    const err = await failure(createKvReader(session, { mount: kv2 }).read('app/destroyed'));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toContain(`latest version of secret ${kv2}/app/destroyed was destroyed`);
  });

  it('a v1-style path on a v2 mount (404 with only warnings) → SECRET_NOT_FOUND about the KV version', async () => {
    const err = await failure(createKvReader(rootSession, { mount: kv2, version: 1 }).read('app/github'));
    expect(err.code).toBe('SECRET_NOT_FOUND');
    expect(err.message).toContain("wrong for the mount's KV engine");
    expect(err.message).toContain('vault.kvVersion');
  });

  it('policy without read → VAULT_FORBIDDEN naming the path; the live token is kept', async () => {
    const before = { auth: log.auth.length, lookups: log.calls.filter((c) => c.operation === 'lookup').length };
    const err = await failure(createKvReader(session, { mount: kv2, version: 2 }).read('other/secret'));
    expect(err.code).toBe('VAULT_FORBIDDEN');
    expect(err.message).toContain(`"read" on ${kv2}/data/other/secret`);
    // The dead-token check looked the token up, found it alive, and changed nothing.
    const lookups = log.calls.filter((c) => c.operation === 'lookup').slice(before.lookups);
    expect(lookups.map((c) => c.outcome)).toEqual(['ok']);
    expect(log.auth.length).toBe(before.auth);
    expect(session.readiness().ready).toBe(true);
  });

  itEmulatorOnly('sealed Vault (503) → VAULT_UNAVAILABLE; readiness recovers after unseal without traffic', async () => {
    const emulator = target.emulator!;
    const reader = createKvReader(session, { mount: kv2, version: 2 });
    await vaultCall(target, 'PUT', 'sys/seal');
    try {
      const err = await failure(reader.read('app/github'));
      expect(err.code).toBe('VAULT_UNAVAILABLE');
      expect(err.message).toContain('503');
      expect(session.readiness()).toMatchObject({ ready: false, reason: expect.stringContaining('503') });
    } finally {
      await vaultCall(target, 'PUT', 'sys/unseal', { key: emulator.unsealKey });
    }
    await waitFor('readiness after unseal', () => session.readiness().ready, 4000);
    expect((await reader.read('app/github')).token).toBe(SECRET);
  });

  itEmulatorOnly('rate limited (429) → VAULT_UNAVAILABLE carrying Retry-After', async () => {
    target.emulator!.faults.failNext(1, 429, { errors: ['request path "x": rate limit quota exceeded'] }, { 'Retry-After': '3' });
    const err = await failure(createKvReader(session, { mount: kv2, version: 2 }).read('app/github'));
    expect(err.code).toBe('VAULT_UNAVAILABLE');
    expect(err.message).toContain('429');
    expect(err.headers).toEqual({ 'Retry-After': '3' });
  });

  it('nothing listening at vault.address → not ready and VAULT_UNAVAILABLE at once, not at vault.timeoutMs', async () => {
    const startedAt = Date.now();
    const down = await newSession({
      address: `http://127.0.0.1:${await deadPort()}`,
      auth: { method: 'token', token: readerToken },
      timeoutMs: PATIENT_TIMEOUT_MS,
    });
    expect(down.readiness()).toMatchObject({ ready: false, reason: expect.stringContaining('refused') });
    const err = await failure(createKvReader(down, { mount: kv2, version: 2 }).read('app/github'));
    expect(err.code).toBe('VAULT_UNAVAILABLE');
    expect(err.message).toContain('refused the connection');
    expect(Date.now() - startedAt).toBeLessThan(PATIENT_TIMEOUT_MS / 4);
  });

  it('Vault going away after start → VAULT_UNAVAILABLE at once, not at vault.timeoutMs', async () => {
    const gone = await startVaultEmulator();
    const s = await newSession({ address: gone.url, auth: { method: 'token', token: gone.rootToken }, timeoutMs: PATIENT_TIMEOUT_MS });
    expect(s.readiness().ready).toBe(true);
    await vaultCall({ address: gone.url, rootToken: gone.rootToken }, 'POST', 'sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await gone.close();
    const startedAt = Date.now();
    const err = await failure(createKvReader(s, { mount: 'kv', version: 2 }).read('app/github'));
    expect(err.code).toBe('VAULT_UNAVAILABLE');
    expect(Date.now() - startedAt).toBeLessThan(PATIENT_TIMEOUT_MS / 4);
    expect(s.readiness().ready).toBe(false);
  });

  itEmulatorOnly('slow Vault (latency above timeoutMs) → VAULT_UNAVAILABLE within about the timeout', async () => {
    const slow = await newSession({ auth: { method: 'token', token: readerToken }, timeoutMs: 300 });
    target.emulator!.faults.latencyMs = 2000;
    const startedAt = Date.now();
    const err = await failure(createKvReader(slow, { mount: kv2, version: 2 }).read('app/github'));
    const elapsed = Date.now() - startedAt;
    // The emulator would have answered with the secret after 2000 ms: this error is the timeout's.
    expect(err.code).toBe('VAULT_UNAVAILABLE');
    expect(err.message).toContain('did not answer');
    expect(elapsed).toBeGreaterThanOrEqual(250);
  });

  itEmulatorOnly('standby 307 is refused: the redirect target never sees a request or the token', async () => {
    const elsewhere = await startRecordingServer();
    try {
      target.emulator!.faults.standbyRedirectTo = elsewhere.url;
      const err = await failure(createKvReader(session, { mount: kv2, version: 2 }).read('app/github'));
      expect(err.code).toBe('VAULT_UNAVAILABLE');
      expect(err.message).toContain(new URL(elsewhere.url).host);
      expect(err.message).toContain('point vault.address at the active node or the load balancer');
      expect(err.message).not.toContain(readerToken);
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });
});
