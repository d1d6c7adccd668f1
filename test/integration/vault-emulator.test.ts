/**
 * Fidelity suite for the Vault emulator: drives the target over raw HTTP and through the
 * real node-vault client and asserts what real Vault (1.15+, dev server) answers. Runs
 * unchanged against a real Vault when VAULT_ADDR and VAULT_TOKEN (a root token) are set;
 * cases that need fault injection run on the emulator only.
 */
import nodeVault from 'node-vault';
import { startVaultTarget, type VaultTarget } from '../support/vault-target';
import {
  createAppRole,
  createKubernetesRole,
  createToken,
  deleteSecretLatest,
  describeEmulatorOnly,
  destroySecretId,
  destroySecretVersions,
  enableAppRole,
  enableKubernetesAuth,
  enableKv,
  itEmulatorOnly,
  newSecretId,
  revokeToken,
  serviceAccountJwt,
  setRateLimitQuota,
  sleep,
  vaultCall,
  vaultFetch,
  writePolicy,
  writeSecret,
  type VaultResponse,
} from '../support/vault-setup';

const PERMISSION_DENIED = { errors: ['permission denied'] };
const INVALID_TOKEN = { errors: ['2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n'] };
const ACL_DENIED = { errors: ['1 error occurred:\n\t* permission denied\n\n'] };
const ENVELOPE_KEYS = ['auth', 'data', 'lease_duration', 'lease_id', 'mount_type', 'renewable', 'request_id', 'warnings', 'wrap_info'];
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const INVALID_V2_PATH = (cmd: string): string =>
  `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${cmd}' for this operation.`;
const cappedWarning = (asked: string): RegExp =>
  new RegExp(`^TTL of "${asked}" exceeded the effective max_ttl of "(2m|1m5\\ds)"; TTL value is capped accordingly$`);

let target: VaultTarget;
let kv2: string;
let kv1: string;

/** Raw call with the root token unless another token (or null) is given. */
function call<T = any>(method: string, path: string, body?: unknown, token?: string | null, headers?: Record<string, string>): Promise<VaultResponse<T>> {
  return vaultFetch<T>(target, method, path, body, token === undefined ? target.rootToken : token, headers);
}

beforeAll(async () => {
  target = await startVaultTarget();
  kv2 = `${target.prefix}-kv2`;
  kv1 = `${target.prefix}-kv1`;
  await enableKv(target, kv2, 2);
  await enableKv(target, kv1, 1);
});

afterAll(async () => {
  await target?.close();
});

describe('dev server defaults', () => {
  it('accepts the root token, which never expires', async () => {
    const res = await call('GET', 'auth/token/lookup-self');
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ policies: ['root'], ttl: 0, expire_time: null, path: 'auth/token/root', creation_ttl: 0, orphan: true });
    expect(res.body.data).not.toHaveProperty('renewable');
    expect(res.body.mount_type).toBe('token');
  });

  it('mounts secret/ as KV v2 and token auth at auth/token/', async () => {
    const ui = await call('GET', 'sys/internal/ui/mounts/secret/some/path');
    expect(ui.status).toBe(200);
    expect(ui.body.data).toMatchObject({ type: 'kv', path: 'secret/', options: { version: '2' } });
    const auth = await call('GET', 'sys/auth');
    expect(auth.status).toBe(200);
    // sys/auth copies its data to the top level as well, like real Vault.
    expect(auth.body.data['token/'].type).toBe('token');
    expect(auth.body['token/'].type).toBe('token');
    const mounts = await call('GET', 'sys/mounts');
    expect(mounts.body.data[`${kv2}/`]).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(mounts.body[`${kv2}/`].type).toBe('kv');
  });

  it('answers JSON with Cache-Control: no-store, even on errors and 204s', async () => {
    const ok = await call('GET', 'auth/token/lookup-self');
    const denied = await call('GET', `${kv2}/data/x`, undefined, null);
    const noContent = await call('POST', `${kv1}/headers`, { a: 'b' });
    for (const res of [ok, denied]) {
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect(noContent.status).toBe(204);
    expect(noContent.headers.get('cache-control')).toBe('no-store');
  });
});

describe('authentication', () => {
  it('refuses a request without a token with a bare "permission denied"', async () => {
    const res = await call('GET', `${kv2}/data/anything`, undefined, null);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(PERMISSION_DENIED);
  });

  it('refuses an unknown token with "permission denied" and "invalid token"', async () => {
    const res = await call('GET', `${kv2}/data/anything`, undefined, 'hvs.AAAAAAAAAAAAAAAAAAAAAAAA');
    expect(res.status).toBe(403);
    expect(res.body).toEqual(INVALID_TOKEN);
  });

  it('accepts Authorization: Bearer as well as X-Vault-Token', async () => {
    const res = await call('GET', 'auth/token/lookup-self', undefined, null, { Authorization: `Bearer ${target.rootToken}` });
    expect(res.status).toBe(200);
    expect(res.body.data.policies).toEqual(['root']);
  });

  it('treats a revoked token as invalid', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-none`], ttl: '1h' });
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).status).toBe(200);
    await revokeToken(target, token);
    const res = await call('GET', 'auth/token/lookup-self', undefined, token);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(INVALID_TOKEN);
  });
});

describe('ACL policies', () => {
  let reader: string;

  beforeAll(async () => {
    for (const path of ['app/one', 'app/forbidden', 'team/shared', 'team/nested/shared', 'other/x']) await writeSecret(target, kv2, path, { v: path }, 2);
    await writePolicy(target, `${target.prefix}-reader`, {
      path: {
        [`${kv2}/data/app/*`]: { capabilities: ['read', 'list'] },
        [`${kv2}/data/app/forbidden`]: { capabilities: ['deny'] },
        [`${kv2}/data/+/shared`]: { capabilities: ['read'] },
        [`${kv2}/metadata/app/`]: { capabilities: ['list'] },
        [`${kv2}/metadata/team`]: { capabilities: ['list'] }, // an exact rule without the slash also grants list on team/
      },
    });
    reader = await createToken(target, { policies: [`${target.prefix}-reader`], ttl: '1h' });
  });

  it('grants a trailing-* glob, an exact path and a + segment wildcard', async () => {
    expect((await call('GET', `${kv2}/data/app/one`, undefined, reader)).status).toBe(200);
    expect((await call('GET', `${kv2}/data/team/shared`, undefined, reader)).status).toBe(200);
    const list = await call('GET', `${kv2}/metadata/app/?list=true`, undefined, reader);
    expect(list.status).toBe(200);
    expect(list.body.data.keys).toEqual(['forbidden', 'one']);
    const teamList = await call('GET', `${kv2}/metadata/team/?list=true`, undefined, reader);
    expect(teamList.body.data.keys).toEqual(['nested/', 'shared']);
  });

  it('denies what the policy does not grant, with a one-error multierror', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['GET', `${kv2}/data/app/forbidden`], // deny beats the glob
      ['GET', `${kv2}/data/team/nested/shared`], // + matches exactly one segment
      ['GET', `${kv2}/data/other/x`],
      ['POST', `${kv2}/data/app/one`, { data: { v: 'x' } }], // read does not allow update
      ['GET', `${kv2}/metadata/?list=true`],
      ['GET', 'sys/mounts'],
    ];
    for (const [method, path, body] of cases) {
      const res = await call(method, path, body, reader);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 403, body: ACL_DENIED });
    }
  });

  it('lets deny in one policy override a grant of the same path in another', async () => {
    await writePolicy(target, `${target.prefix}-deny-app`, { path: { [`${kv2}/data/app/*`]: { capabilities: ['deny'] } } });
    const token = await createToken(target, { policies: [`${target.prefix}-reader`, `${target.prefix}-deny-app`], ttl: '1h' });
    expect((await call('GET', `${kv2}/data/app/one`, undefined, token)).body).toEqual(ACL_DENIED);
    expect((await call('GET', `${kv2}/data/team/shared`, undefined, token)).status).toBe(200);
  });

  it('picks the most specific of several matching wildcard rules', async () => {
    await writeSecret(target, kv2, 'prio/x', { v: 1 }, 2);
    await writeSecret(target, kv2, 'prio/x/y', { v: 1 }, 2);
    await writeSecret(target, kv2, 'prio/secret-1', { v: 1 }, 2);
    await writePolicy(target, `${target.prefix}-prio`, {
      path: {
        [`${kv2}/data/prio/*`]: { capabilities: ['deny'] },
        [`${kv2}/data/prio/+`]: { capabilities: ['read'] }, // same wildcard position, no trailing * → wins
        [`${kv2}/data/prio/secret*`]: { capabilities: ['deny'] }, // wildcard later → wins over prio/+
      },
    });
    const token = await createToken(target, { policies: [`${target.prefix}-prio`], ttl: '1h' });
    expect((await call('GET', `${kv2}/data/prio/x`, undefined, token)).status).toBe(200);
    expect((await call('GET', `${kv2}/data/prio/x/y`, undefined, token)).status).toBe(403);
    expect((await call('GET', `${kv2}/data/prio/secret-1`, undefined, token)).status).toBe(403);
  });

  it('tells create from update using the existence check', async () => {
    await writePolicy(target, `${target.prefix}-dropbox`, { path: { [`${kv2}/data/inbox/*`]: { capabilities: ['create'] } } });
    const token = await createToken(target, { policies: [`${target.prefix}-dropbox`], ttl: '1h' });
    expect((await call('POST', `${kv2}/data/inbox/a`, { data: { n: 1 } }, token)).status).toBe(200);
    const again = await call('POST', `${kv2}/data/inbox/a`, { data: { n: 2 } }, token);
    expect(again.status).toBe(403);
    expect(again.body).toEqual(ACL_DENIED);
  });

  it('lets the default policy look up, renew and revoke itself, and nothing else', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-none`], ttl: '1h' });
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).status).toBe(200);
    expect((await call('POST', 'auth/token/renew-self', {}, token)).status).toBe(200);
    expect((await call('GET', 'sys/mounts', undefined, token)).body).toEqual(ACL_DENIED);
    expect((await call('POST', 'auth/token/create', {}, token)).body).toEqual(ACL_DENIED);
    expect((await call('POST', 'auth/token/revoke-self', undefined, token)).status).toBe(204);
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).body).toEqual(INVALID_TOKEN);
  });

  it('stores, lists and deletes policies at sys/policies/acl and the sys/policy alias', async () => {
    const name = `${target.prefix}-roundtrip`;
    const text = JSON.stringify({ path: { [`${kv2}/data/rt`]: { capabilities: ['read'] } } });
    expect((await call('PUT', `sys/policies/acl/${name}`, { policy: text })).status).toBe(204);
    const read = await call('GET', `sys/policies/acl/${name}`);
    expect(read.body.data).toEqual({ name, policy: text });
    const legacy = await call('GET', `sys/policy/${name}`);
    expect(legacy.body.rules).toBe(text);
    expect(legacy.body.data).toEqual({ name, rules: text });
    const list = await call('GET', 'sys/policies/acl?list=true');
    expect(list.body.data.keys).toEqual(expect.arrayContaining([name, 'default', 'root']));
    expect((await call('DELETE', `sys/policy/${name}`)).status).toBe(204);
    const gone = await call('GET', `sys/policies/acl/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ errors: [] });
  });

  it('rejects policy text that does not parse', async () => {
    const res = await call('PUT', `sys/policies/acl/${target.prefix}-broken`, { policy: '{"path": {' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatch(/^failed to parse policy/);
  });
});

describe('KV v2', () => {
  it('answers a write with the version metadata inside the standard envelope', async () => {
    const first = await call('POST', `${kv2}/data/env/svc`, { data: { token: 'one' } });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(ENVELOPE_KEYS);
    expect(first.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null, mount_type: 'kv' });
    expect(typeof first.body.request_id).toBe('string');
    expect(first.body.data).toEqual({ created_time: expect.stringMatching(RFC3339), custom_metadata: null, deletion_time: '', destroyed: false, version: 1 });
    const second = await call('POST', `${kv2}/data/env/svc`, { data: { token: 'two' } });
    expect(second.body.data.version).toBe(2);
  });

  it('reads the latest version, or the one asked for', async () => {
    await writeSecret(target, kv2, 'read/svc', { token: 'old' }, 2);
    await writeSecret(target, kv2, 'read/svc', { token: 'new', extra: 1 }, 2);
    const latest = await call('GET', `${kv2}/data/read/svc`);
    expect(latest.status).toBe(200);
    expect(latest.body.data.data).toEqual({ extra: 1, token: 'new' });
    expect(latest.body.data.metadata).toEqual({
      created_time: expect.stringMatching(RFC3339),
      custom_metadata: null,
      deletion_time: '',
      destroyed: false,
      version: 2,
    });
    const v1 = await call('GET', `${kv2}/data/read/svc?version=1`);
    expect(v1.body.data.data).toEqual({ token: 'old' });
    const missingVersion = await call('GET', `${kv2}/data/read/svc?version=99`);
    expect(missingVersion.status).toBe(404);
    expect(missingVersion.body).toEqual({ errors: [] });
  });

  it('answers a missing secret with 404 and an empty error list', async () => {
    const res = await call('GET', `${kv2}/data/does/not/exist`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [] });
  });

  it('enforces check-and-set', async () => {
    await writeSecret(target, kv2, 'cas/svc', { v: 1 }, 2);
    const stale = await call('POST', `${kv2}/data/cas/svc`, { data: { v: 2 }, options: { cas: 0 } });
    expect(stale.status).toBe(400);
    expect(stale.body).toEqual({ errors: ['check-and-set parameter did not match the current version'] });
    const fresh = await call('POST', `${kv2}/data/cas/svc`, { data: { v: 2 }, options: { cas: 1 } });
    expect(fresh.body.data.version).toBe(2);
  });

  it('answers a soft-deleted latest version with 404, data and metadata, and no errors key', async () => {
    await writeSecret(target, kv2, 'del/svc', { v: 1 }, 2);
    await deleteSecretLatest(target, kv2, 'del/svc');
    const res = await call('GET', `${kv2}/data/del/svc`);
    expect(res.status).toBe(404);
    expect(res.body).not.toHaveProperty('errors');
    expect(res.body.data.data).toBeNull();
    expect(res.body.data.metadata).toMatchObject({ version: 1, destroyed: false, deletion_time: expect.stringMatching(RFC3339) });
    expect((await call('POST', `${kv2}/undelete/del/svc`, { versions: [1] })).status).toBe(204);
    const back = await call('GET', `${kv2}/data/del/svc`);
    expect(back.status).toBe(200);
    expect(back.body.data.data).toEqual({ v: 1 });
  });

  it('deletes chosen versions through delete/ and leaves the others readable', async () => {
    await writeSecret(target, kv2, 'delv/svc', { v: 1 }, 2);
    await writeSecret(target, kv2, 'delv/svc', { v: 2 }, 2);
    expect((await call('POST', `${kv2}/delete/delv/svc`, { versions: [1] })).status).toBe(204);
    expect((await call('GET', `${kv2}/data/delv/svc?version=1`)).status).toBe(404);
    expect((await call('GET', `${kv2}/data/delv/svc`)).body.data.data).toEqual({ v: 2 });
    const noVersions = await call('POST', `${kv2}/delete/delv/svc`, {});
    expect(noVersions.status).toBe(400);
  });

  it('answers a destroyed version with 404 and destroyed: true, for good', async () => {
    await writeSecret(target, kv2, 'destroy/svc', { v: 1 }, 2);
    await destroySecretVersions(target, kv2, 'destroy/svc', [1]);
    await call('POST', `${kv2}/undelete/destroy/svc`, { versions: [1] });
    const res = await call('GET', `${kv2}/data/destroy/svc`);
    expect(res.status).toBe(404);
    expect(res.body).not.toHaveProperty('errors');
    expect(res.body.data).toEqual({ data: null, metadata: expect.objectContaining({ destroyed: true, deletion_time: '', version: 1 }) });
  });

  it('reads and deletes metadata, and lists folders with a trailing slash', async () => {
    await writeSecret(target, kv2, 'tree/a', { v: 1 }, 2);
    await writeSecret(target, kv2, 'tree/a', { v: 2 }, 2);
    await writeSecret(target, kv2, 'tree/sub/b', { v: 1 }, 2);
    const meta = await call('GET', `${kv2}/metadata/tree/a`);
    expect(meta.body.data).toMatchObject({ current_version: 2, oldest_version: 0, max_versions: 0, cas_required: false });
    expect(Object.keys(meta.body.data.versions).sort()).toEqual(['1', '2']);
    const list = await call('GET', `${kv2}/metadata/tree/?list=true`);
    expect(list.body.data.keys).toEqual(['a', 'sub/']);
    const listNoSlash = await call('GET', `${kv2}/metadata/tree?list=1`);
    expect(listNoSlash.body.data.keys).toEqual(['a', 'sub/']);
    const empty = await call('GET', `${kv2}/metadata/no-such-folder/?list=true`);
    expect(empty.status).toBe(404);
    expect(empty.body).toEqual({ errors: [] });
    expect((await call('DELETE', `${kv2}/metadata/tree/a`)).status).toBe(204);
    const gone = await call('GET', `${kv2}/data/tree/a`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ errors: [] });
  });

  it('answers a path outside data/ and metadata/ with 404 and only a warning', async () => {
    const read = await call('GET', `${kv2}/tree/sub/b`);
    expect(read.status).toBe(404);
    expect(read.body).not.toHaveProperty('errors');
    expect(read.body.data).toBeNull();
    expect(read.body.warnings).toEqual([INVALID_V2_PATH('get')]);
    const write = await call('POST', `${kv2}/tree/sub/b`, { v: 1 });
    expect(write.status).toBe(404);
    expect(write.body.warnings).toEqual([INVALID_V2_PATH('put')]);
  });

  it('merges a PATCH into a new version and insists on the merge-patch content type', async () => {
    await writeSecret(target, kv2, 'patch/svc', { keep: 'k', drop: 'd' }, 2);
    const wrongType = await call('PATCH', `${kv2}/data/patch/svc`, { data: { add: 'a' } });
    expect(wrongType.status).toBe(415);
    const patched = await call('PATCH', `${kv2}/data/patch/svc`, { data: { add: 'a', drop: null } }, undefined, {
      'Content-Type': 'application/merge-patch+json',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data.version).toBe(2);
    expect((await call('GET', `${kv2}/data/patch/svc`)).body.data.data).toEqual({ add: 'a', keep: 'k' });
  });
});

describe('KV v1', () => {
  it('writes with 204 and reads with the default lease duration', async () => {
    expect((await call('POST', `${kv1}/svc/token`, { token: 'abc' })).status).toBe(204);
    const read = await call('GET', `${kv1}/svc/token`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ data: { token: 'abc' }, lease_id: '', renewable: false, lease_duration: 2764800, mount_type: 'kv' });
  });

  it('lists, deletes, and answers missing keys with 404 and an empty error list', async () => {
    await writeSecret(target, kv1, 'list/a', { v: 1 }, 1);
    await writeSecret(target, kv1, 'list/dir/b', { v: 1 }, 1);
    expect((await call('GET', `${kv1}/list/?list=true`)).body.data.keys).toEqual(['a', 'dir/']);
    expect((await call('DELETE', `${kv1}/list/a`)).status).toBe(204);
    const gone = await call('GET', `${kv1}/list/a`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ errors: [] });
  });
});

describe('mounts', () => {
  it('refuses to mount over an existing mount', async () => {
    const res = await call('POST', `sys/mounts/${kv2}`, { type: 'kv', options: { version: '2' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toContain('path is already in use at');
  });

  it('describes the mount containing a path in sys/internal/ui/mounts (longest prefix)', async () => {
    const v2 = await call('GET', `sys/internal/ui/mounts/${kv2}/a/b/c`);
    expect(v2.body.data).toMatchObject({ type: 'kv', path: `${kv2}/`, options: { version: '2' } });
    const v1 = await call('GET', `sys/internal/ui/mounts/${kv1}/a`);
    expect(v1.body.data).toMatchObject({ type: 'kv', path: `${kv1}/`, options: { version: '1' } });
  });

  it('hides a mount from a token without any capability under it', async () => {
    await writePolicy(target, `${target.prefix}-kv1only`, { path: { [`${kv1}/*`]: { capabilities: ['read'] } } });
    const token = await createToken(target, { policies: [`${target.prefix}-kv1only`], ttl: '1h' });
    expect((await call('GET', `sys/internal/ui/mounts/${kv1}/x`, undefined, token)).status).toBe(200);
    const hidden = await call('GET', `sys/internal/ui/mounts/${kv2}/x`, undefined, token);
    expect(hidden.status).toBe(403);
    expect(hidden.body.errors[0]).toContain('permission denied');
  });

  it('unmounts with 204, after which the path has no handler', async () => {
    const mount = `${target.prefix}-tmp`;
    await call('POST', `sys/mounts/${mount}`, { type: 'kv', options: { version: '1' } });
    expect((await call('DELETE', `sys/mounts/${mount}`)).status).toBe(204);
    const res = await call('GET', `${mount}/x`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: [`no handler for route "${mount}/x". route entry not found.`] });
  });
});

describe('tokens', () => {
  it('creates a token with its policies plus default, and the asked TTL', async () => {
    const res = await call('POST', 'auth/token/create', { policies: [`${target.prefix}-p`], ttl: '1h' });
    expect(res.status).toBe(200);
    expect(res.body.auth).toMatchObject({
      policies: ['default', `${target.prefix}-p`],
      token_policies: ['default', `${target.prefix}-p`],
      lease_duration: 3600,
      renewable: true,
      token_type: 'service',
      orphan: false,
    });
    expect(res.body.auth.client_token).toMatch(/^hvs\./);
    expect(typeof res.body.auth.accessor).toBe('string');
    target.defer(() => revokeToken(target, res.body.auth.client_token));
  });

  it('reports the remaining TTL and expiry on lookup-self', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: '1h' });
    const res = await call('GET', 'auth/token/lookup-self', undefined, token);
    expect(res.body.data).toMatchObject({ creation_ttl: 3600, explicit_max_ttl: 0, renewable: true, path: 'auth/token/create', display_name: 'token' });
    expect(res.body.data.ttl).toBeGreaterThan(3590);
    expect(res.body.data.ttl).toBeLessThanOrEqual(3600);
    expect(res.body.data.expire_time).toMatch(RFC3339);
    const expiresIn = Date.parse(res.body.data.expire_time) - Date.now();
    expect(expiresIn).toBeGreaterThan(3590_000);
    expect(expiresIn).toBeLessThanOrEqual(3601_000);
  });

  it('renews by the asked increment, given in seconds or as a duration', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: 60 });
    const seconds = await call('POST', 'auth/token/renew-self', { increment: 300 }, token);
    expect(seconds.body.auth.lease_duration).toBe(300);
    expect(seconds.body.warnings).toBeNull();
    const duration = await call('POST', 'auth/token/renew-self', { increment: '15m' }, token);
    expect(duration.body.auth.lease_duration).toBe(900);
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).body.data.ttl).toBeGreaterThan(890);
  });

  it('caps a renewal at explicit_max_ttl and says so in a warning', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: 60, explicitMaxTtl: 120 });
    const res = await call('POST', 'auth/token/renew-self', { increment: '1h' }, token);
    expect(res.status).toBe(200);
    expect(res.body.auth.lease_duration).toBeGreaterThanOrEqual(118);
    expect(res.body.auth.lease_duration).toBeLessThanOrEqual(120);
    expect(res.body.warnings).toContainEqual(expect.stringMatching(cappedWarning('1h')));
  });

  it('refuses to renew a non-renewable token', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: 60, renewable: false });
    const res = await call('POST', 'auth/token/renew-self', { increment: 60 }, token);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: ['lease is not renewable'] });
  });

  it("revokes a token's children with it", async () => {
    await writePolicy(target, `${target.prefix}-creator`, { path: { 'auth/token/create': { capabilities: ['update'] } } });
    const parent = await createToken(target, { policies: [`${target.prefix}-creator`], ttl: '1h' });
    const child = await call('POST', 'auth/token/create', { ttl: '1h' }, parent);
    expect(child.status).toBe(200);
    expect(child.body.auth.policies).toEqual(['default', `${target.prefix}-creator`]);
    const childToken = child.body.auth.client_token as string;
    const escalate = await call('POST', 'auth/token/create', { policies: [`${target.prefix}-creator`, `${target.prefix}-other`] }, parent);
    expect(escalate.status).toBe(400);
    expect(escalate.body).toEqual({ errors: ['child policies must be subset of parent'] });
    await revokeToken(target, parent);
    expect((await call('GET', 'auth/token/lookup-self', undefined, childToken)).body).toEqual(INVALID_TOKEN);
  });

  it('expires a token by the wall clock', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: '2s' });
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).status).toBe(200);
    await sleep(2600);
    const res = await call('GET', 'auth/token/lookup-self', undefined, token);
    expect(res.status).toBe(403);
    expect(res.body).toEqual(INVALID_TOKEN);
  });
});

describe('AppRole', () => {
  let mount: string;
  let role: string;
  let policy: string;
  let roleId: string;
  let secretId: string;

  beforeAll(async () => {
    mount = `${target.prefix}-approle`;
    role = 'svc';
    policy = `${target.prefix}-approle-reader`;
    await writePolicy(target, policy, { path: { [`${kv2}/data/app/*`]: { capabilities: ['read'] } } });
    await enableAppRole(target, mount);
    ({ roleId, secretId } = await createAppRole(target, mount, role, { policies: [policy], tokenTtl: 60, tokenMaxTtl: '2m' }));
  });

  it('issues secret ids with their accessor and TTL', async () => {
    const res = await call('POST', `auth/${mount}/role/${role}/secret-id`, {});
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data).sort()).toEqual(['secret_id', 'secret_id_accessor', 'secret_id_num_uses', 'secret_id_ttl']);
    expect(res.body.data.secret_id_ttl).toBe(0);
  });

  it('logs in without a token and returns the auth block', async () => {
    const res = await call('POST', `auth/${mount}/login`, { role_id: roleId, secret_id: secretId }, null);
    expect(res.status).toBe(200);
    expect(res.body.auth).toMatchObject({
      policies: ['default', policy],
      token_policies: ['default', policy],
      lease_duration: 60,
      renewable: true,
      metadata: { role_name: role },
      token_type: 'service',
      orphan: true,
    });
    expect(res.body.mount_type).toBe('approle');
    const lookup = await call('GET', 'auth/token/lookup-self', undefined, res.body.auth.client_token);
    expect(lookup.body.data).toMatchObject({ path: `auth/${mount}/login`, meta: { role_name: role }, creation_ttl: 60 });
    expect((await call('GET', `${kv2}/data/app/one`, undefined, res.body.auth.client_token)).status).toBe(200);
  });

  it('refuses a wrong secret id, an unknown role id and a missing secret id', async () => {
    const wrongSecret = await call('POST', `auth/${mount}/login`, { role_id: roleId, secret_id: '00000000-0000-0000-0000-000000000000' }, null);
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body).toEqual({ errors: ['invalid role or secret ID'] });
    const wrongRole = await call('POST', `auth/${mount}/login`, { role_id: 'nope', secret_id: secretId }, null);
    expect(wrongRole.body).toEqual({ errors: ['invalid role or secret ID'] });
    const missing = await call('POST', `auth/${mount}/login`, { role_id: roleId }, null);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ errors: ['missing secret_id'] });
  });

  it('stops accepting a destroyed secret id while a new one works (rotation)', async () => {
    const old = await newSecretId(target, mount, role);
    const fresh = await newSecretId(target, mount, role);
    await destroySecretId(target, mount, role, old);
    expect((await call('POST', `auth/${mount}/login`, { role_id: roleId, secret_id: old }, null)).body).toEqual({ errors: ['invalid role or secret ID'] });
    expect((await call('POST', `auth/${mount}/login`, { role_id: roleId, secret_id: fresh }, null)).status).toBe(200);
  });

  it("caps renewals at the role's token_max_ttl with a warning", async () => {
    const login = await call('POST', `auth/${mount}/login`, { role_id: roleId, secret_id: secretId }, null);
    const token = login.body.auth.client_token as string;
    const plain = await call('POST', 'auth/token/renew-self', {}, token);
    expect(plain.body.auth.lease_duration).toBe(60);
    const capped = await call('POST', 'auth/token/renew-self', { increment: '1h' }, token);
    expect(capped.body.auth.lease_duration).toBeGreaterThanOrEqual(118);
    expect(capped.body.auth.lease_duration).toBeLessThanOrEqual(120);
    expect(capped.body.warnings).toContainEqual(expect.stringMatching(cappedWarning('1h')));
  });

  it('works through node-vault approleLogin with a mount point', async () => {
    const client = nodeVault({ endpoint: target.address, noCustomHTTPVerbs: true, requestOptions: { timeout: 5000 } });
    const login = await client.approleLogin({ mount_point: mount, role_id: roleId, secret_id: secretId });
    expect(login.auth.policies).toEqual(['default', policy]);
    expect(client.token).toBe(login.auth.client_token);
    const self = await client.tokenLookupSelf();
    expect(self.data.meta).toEqual({ role_name: role });
    const renewed = await client.tokenRenewSelf({ increment: 30 });
    expect(renewed.auth.lease_duration).toBe(30);
  });
});

describeEmulatorOnly('Kubernetes auth (emulator: no signature check, no TokenReview)', () => {
  let mount: string;

  beforeAll(async () => {
    mount = `${target.prefix}-k8s`;
    await enableKubernetesAuth(target, mount);
    await createKubernetesRole(target, mount, 'proxy', {
      serviceAccountNames: ['secure-proxy'],
      namespaces: ['tools', 'ops-*'],
      policies: ['k8s-reader'],
      tokenTtl: '10m',
    });
  });

  it('logs in with the legacy service-account claims', async () => {
    const res = await call('POST', `auth/${mount}/login`, { role: 'proxy', jwt: serviceAccountJwt({ name: 'secure-proxy', namespace: 'tools' }) }, null);
    expect(res.status).toBe(200);
    expect(res.body.auth).toMatchObject({
      policies: ['default', 'k8s-reader'],
      lease_duration: 600,
      renewable: true,
      metadata: { role: 'proxy', service_account_name: 'secure-proxy', service_account_namespace: 'tools' },
    });
  });

  it('logs in with a projected token and glob-matched namespace', async () => {
    const jwt = serviceAccountJwt({ name: 'secure-proxy', namespace: 'ops-eu', projected: true });
    const res = await call('POST', `auth/${mount}/login`, { role: 'proxy', jwt }, null);
    expect(res.status).toBe(200);
    expect(res.body.auth.metadata.service_account_namespace).toBe('ops-eu');
  });

  it('refuses other service accounts, namespaces, roles and malformed requests', async () => {
    const login = (body: object): Promise<VaultResponse> => call('POST', `auth/${mount}/login`, body, null);
    expect((await login({ role: 'proxy', jwt: serviceAccountJwt({ name: 'other', namespace: 'tools' }) })).body).toEqual({
      errors: ['service account name not authorized'],
    });
    const wrongNs = await login({ role: 'proxy', jwt: serviceAccountJwt({ name: 'secure-proxy', namespace: 'default' }) });
    expect(wrongNs.status).toBe(403);
    expect(wrongNs.body).toEqual({ errors: ['namespace not authorized'] });
    const noRole = await login({ role: 'nope', jwt: serviceAccountJwt({ name: 'secure-proxy', namespace: 'tools' }) });
    expect(noRole.status).toBe(400);
    expect(noRole.body).toEqual({ errors: ['invalid role name "nope"'] });
    expect((await login({ role: 'proxy' })).body).toEqual({ errors: ['missing jwt'] });
    const badRole = await call('POST', `auth/${mount}/role/bad`, { bound_service_account_namespaces: ['x'] });
    expect(badRole.status).toBe(400);
    expect(badRole.body).toEqual({ errors: ['"bound_service_account_names" can not be empty'] });
  });

  it('an update of a role changes only the fields it sends, as in Vault', async () => {
    expect(
      (
        await call('POST', `auth/${mount}/role/merge`, {
          bound_service_account_names: ['a'],
          bound_service_account_namespaces: ['n'],
          token_policies: ['p'],
          token_ttl: '1h',
        })
      ).status,
    ).toBe(204);
    expect((await call('POST', `auth/${mount}/role/merge`, { token_max_ttl: '4h' })).status).toBe(204);
    expect((await call('GET', `auth/${mount}/role/merge`)).body.data).toMatchObject({
      bound_service_account_names: ['a'],
      bound_service_account_namespaces: ['n'],
      token_policies: ['p'],
      token_ttl: 3600,
      token_max_ttl: 14400,
    });
  });

  it('works through node-vault kubernetesLogin with a mount point', async () => {
    const client = nodeVault({ endpoint: target.address, noCustomHTTPVerbs: true, requestOptions: { timeout: 5000 } });
    const res = await client.kubernetesLogin({ mount_point: mount, role: 'proxy', jwt: serviceAccountJwt({ name: 'secure-proxy', namespace: 'tools' }) });
    expect(client.token).toBe(res.auth.client_token);
  });
});

describe('health, seal and unseal', () => {
  it('reports an active, unsealed node on sys/health without a token', async () => {
    const res = await call('GET', 'sys/health', undefined, null);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(typeof res.body.version).toBe('string');
    expect(typeof res.body.server_time_utc).toBe('number');
    expect((await call('GET', 'sys/health?activecode=202', undefined, null)).status).toBe(202);
  });

  it('refuses sys/seal to a token without sudo', async () => {
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: '1h' });
    const res = await call('PUT', 'sys/seal', undefined, token);
    expect(res.status).toBe(403);
    expect((await call('GET', 'sys/health', undefined, null)).body.sealed).toBe(false);
  });

  itEmulatorOnly('seals: 503 "Vault is sealed" everywhere but health, seal-status and unseal, until unsealed', async () => {
    const emulator = target.emulator!;
    const token = await createToken(target, { policies: [`${target.prefix}-p`], ttl: '1h' });
    expect((await call('PUT', 'sys/seal')).status).toBe(204);
    const healthRes = await call('GET', 'sys/health', undefined, null);
    expect(healthRes.status).toBe(503);
    expect(healthRes.body).toMatchObject({ initialized: true, sealed: true, standby: true });
    expect((await call('GET', 'sys/health?sealedcode=200', undefined, null)).status).toBe(200);
    expect((await call('GET', 'sys/seal-status', undefined, null)).body).toMatchObject({ sealed: true, t: 1, n: 1, progress: 0 });
    for (const path of [`${kv2}/data/app/one`, 'auth/token/lookup-self']) {
      const res = await call('GET', path);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ errors: ['Vault is sealed'] });
    }
    const client = nodeVault({ endpoint: target.address, token: target.rootToken, requestOptions: { timeout: 5000 } });
    // node-vault resolves health() even on 503; callers must read `sealed`.
    expect(await client.health()).toMatchObject({ sealed: true });
    const wrongKey = await call('PUT', 'sys/unseal', { key: Buffer.alloc(32, 7).toString('base64') }, null);
    expect(wrongKey.status).toBe(400);
    expect(wrongKey.body).toEqual({ errors: ['Unseal failed, invalid key'] });
    const unsealed = await call('PUT', 'sys/unseal', { key: emulator.unsealKey }, null);
    expect(unsealed.status).toBe(200);
    expect(unsealed.body.sealed).toBe(false);
    // Tokens and data survive a seal, as in Vault.
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).status).toBe(200);
    expect((await call('GET', `${kv2}/data/app/one`)).status).toBe(200);
  });
});

describe('rate limit quotas', () => {
  it('answers 429 past the rate, with Retry-After and X-Ratelimit-* once headers are enabled', async () => {
    const mount = `${target.prefix}-rl`;
    await enableKv(target, mount, 2);
    await writeSecret(target, mount, 'svc', { v: 1 }, 2);
    await setRateLimitQuota(target, `${target.prefix}-rl`, { rate: 2, interval: '30s', path: `${mount}/` });
    expect((await call('GET', `${mount}/data/svc`)).status).toBe(200);
    expect((await call('GET', `${mount}/data/svc`)).status).toBe(200);
    const limited = await call('GET', `${mount}/data/svc`);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [`request path "${mount}/data/svc": rate limit quota exceeded`] });
    expect(limited.headers.get('retry-after')).toBeNull();
    // Other mounts are not limited by this quota.
    expect((await call('GET', `${kv2}/data/app/one`)).status).toBe(200);

    await vaultCall(target, 'POST', 'sys/quotas/config', { enable_rate_limit_response_headers: true });
    target.defer(() => vaultCall(target, 'POST', 'sys/quotas/config', { enable_rate_limit_response_headers: false }));
    const withHeaders = await call('GET', `${mount}/data/svc`);
    expect(withHeaders.status).toBe(429);
    expect(withHeaders.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(withHeaders.headers.get('x-ratelimit-limit')).toBe('2');
    expect(withHeaders.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(withHeaders.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
    expect(Number(withHeaders.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    await vaultCall(target, 'POST', 'sys/quotas/config', { enable_rate_limit_response_headers: false });

    expect((await call('DELETE', `sys/quotas/rate-limit/${target.prefix}-rl`)).status).toBe(204);
    expect((await call('GET', `${mount}/data/svc`)).status).toBe(200);
  });
});

describe('request handling', () => {
  it('rejects a body that is not JSON', async () => {
    const res = await call('POST', `${kv2}/data/bad`, '{"data": {');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: ['error parsing JSON'] });
  });

  it('answers an unknown path inside a mount with 404 "unsupported path"', async () => {
    const res = await call('GET', 'auth/token/no-such-endpoint');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ errors: ['1 error occurred:\n\t* unsupported path\n\n'] });
  });

  it('answers a wrong method on a known path with 405 "unsupported operation"', async () => {
    const res = await call('DELETE', 'auth/token/lookup-self');
    expect(res.status).toBe(405);
    expect(res.body).toEqual({ errors: ['1 error occurred:\n\t* unsupported operation\n\n'] });
  });

  it('rejects a list flag that is not a boolean', async () => {
    const res = await call('GET', `${kv2}/metadata/app/?list=maybe`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: [] });
  });
});

describe('node-vault client against the target', () => {
  it('reads KV v2 data under data.data and lists with GET ?list', async () => {
    const client = nodeVault({ endpoint: target.address, token: target.rootToken, noCustomHTTPVerbs: true, requestOptions: { timeout: 5000 } });
    const read = await client.read(`${kv2}/data/app/one`);
    expect(read.data.data).toEqual({ v: 'app/one' });
    const list = await client.list(`${kv2}/metadata/app`);
    expect(list.data.keys).toEqual(expect.arrayContaining(['forbidden', 'one']));
    await client.write(`${kv2}/data/nv/written`, { data: { a: 1 } });
    expect((await client.read(`${kv2}/data/nv/written`)).data.data).toEqual({ a: 1 });
  });

  it("rejects with statusCode and Vault's first error as the message", async () => {
    const client = nodeVault({ endpoint: target.address, token: target.rootToken, noCustomHTTPVerbs: true, requestOptions: { timeout: 5000 } });
    const missing = await client.read(`${kv2}/data/nv/missing`).catch((err: unknown) => err);
    expect(missing).toMatchObject({ message: 'Status 404', response: { statusCode: 404, body: { errors: [] } } });
    const token = await createToken(target, { policies: [`${target.prefix}-none`], ttl: '1h' });
    const denied = await nodeVault({ endpoint: target.address, token, requestOptions: { timeout: 5000 } })
      .read(`${kv2}/data/app/one`)
      .catch((err: unknown) => err);
    expect(denied).toMatchObject({ message: ACL_DENIED.errors[0], response: { statusCode: 403 } });
  });
});

describeEmulatorOnly('fault injection', () => {
  afterEach(() => target.emulator!.faults.reset());

  it('delays answers by latencyMs', async () => {
    target.emulator!.faults.latencyMs = 300;
    const started = Date.now();
    expect((await call('GET', 'sys/health', undefined, null)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('redirects like a standby with forwarding disabled, and health says standby', async () => {
    const faults = target.emulator!.faults;
    faults.standbyRedirectTo = 'http://127.0.0.2:8200/';
    const res = await call('GET', `${kv2}/data/app/one?version=1`);
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`http://127.0.0.2:8200/v1/${kv2}/data/app/one?version=1`);
    expect(res.body).toBeNull();
    const healthRes = await call('GET', 'sys/health', undefined, null);
    expect(healthRes.status).toBe(429);
    expect(healthRes.body.standby).toBe(true);
    expect((await call('GET', 'sys/health?standbyok=true', undefined, null)).status).toBe(200);
    faults.reset();
    expect((await call('GET', `${kv2}/data/app/one`)).status).toBe(200);
  });

  it('fails the next N requests (never sys/health) with the given answer', async () => {
    const faults = target.emulator!.faults;
    faults.failNext(2, 503, { errors: ['Vault is sealed'] }, { 'Retry-After': '3' });
    const first = await call('GET', `${kv2}/data/app/one`);
    expect(first.status).toBe(503);
    expect(first.body).toEqual({ errors: ['Vault is sealed'] });
    expect(first.headers.get('retry-after')).toBe('3');
    expect((await call('GET', 'sys/health', undefined, null)).status).toBe(200);
    expect((await call('GET', `${kv2}/data/app/one`)).status).toBe(503);
    expect((await call('GET', `${kv2}/data/app/one`)).status).toBe(200);
  });

  it('can answer non-JSON text or drop the connection', async () => {
    const faults = target.emulator!.faults;
    faults.failNext(1, 502, '<html>bad gateway</html>');
    const html = await call('GET', `${kv2}/data/app/one`);
    expect(html.status).toBe(502);
    expect(html.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(html.body.nonJson).toBe('<html>bad gateway</html>');
    faults.failNext(1, 0);
    await expect(call('GET', `${kv2}/data/app/one`)).rejects.toThrow();
    expect((await call('GET', `${kv2}/data/app/one`)).status).toBe(200);
  });

  it('records every request without its query, and can forget them', async () => {
    const emulator = target.emulator!;
    emulator.clearRequests();
    const since = Date.now();
    await call('GET', `${kv2}/data/app/one?version=1`);
    await call('GET', 'sys/health', undefined, null);
    const until = Date.now();
    expect(emulator.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', `/v1/${kv2}/data/app/one`],
      ['GET', '/v1/sys/health'],
    ]);
    expect(emulator.requests.every((r) => r.at >= since && r.at <= until)).toBe(true);
    emulator.clearRequests();
    expect(emulator.requests).toHaveLength(0);
  });
});
