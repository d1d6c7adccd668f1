/**
 * The sys endpoints Vault serves outside its logical router: health, seal-status, seal,
 * unseal and leader. They work while sealed and have their own status and body rules.
 */
import type { EmulatorCore } from './core';
import { EMULATED_VERSION } from './core';
import { VaultError, badRequest, errorReply, multiError, parseJsonObject, type VaultReply } from './http';

const BUILD_DATE = '2024-09-26T14:58:57Z';

/**
 * GET/HEAD sys/health: 200 active, 429 standby, 503 sealed, with Vault's query overrides
 * (`activecode`, `standbycode`, `sealedcode`, `uninitcode`, `standbyok`, ...).
 */
export function health(core: EmulatorCore, method: string, query: URLSearchParams, standby: boolean): VaultReply {
  if (method !== 'GET' && method !== 'HEAD') return errorReply(405, []);
  const code = (field: string, fallback: number): number | null => {
    const raw = query.get(field);
    if (raw === null) return fallback;
    const n = Number(raw);
    return Number.isInteger(n) && raw.trim() !== '' ? n : null;
  };
  const sealedCode = code('sealedcode', 503);
  const standbyCode = code('standbycode', 429);
  const activeCode = code('activecode', 200);
  const uninitCode = code('uninitcode', 501);
  const perfStandbyCode = code('performancestandbycode', 473);
  if (sealedCode === null || standbyCode === null || activeCode === null || uninitCode === null || perfStandbyCode === null) return errorReply(400, []);
  // A sealed node reports standby too, as Vault's core does.
  const isStandby = standby || core.sealed;
  let status = activeCode;
  if (core.sealed) status = sealedCode;
  else if (isStandby && !query.has('standbyok')) status = standbyCode;
  const body: Record<string, unknown> = {
    initialized: true,
    sealed: core.sealed,
    standby: isStandby,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: EMULATED_VERSION,
    enterprise: false,
    echo_duration_ms: 0,
    clock_skew_ms: 0,
    replication_primary_canary_age_ms: 0,
    removed_from_cluster: false,
  };
  if (!core.sealed) {
    body.cluster_name = core.clusterName;
    body.cluster_id = core.clusterId;
  }
  if (method === 'HEAD') return { status, headers: { 'Content-Type': 'application/json' } };
  return { status, body };
}

/** sys/seal-status body (also what unseal answers). */
export function sealStatus(core: EmulatorCore): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: 'shamir',
    initialized: true,
    sealed: core.sealed,
    t: 1,
    n: 1,
    progress: 0,
    nonce: '',
    version: EMULATED_VERSION,
    build_date: BUILD_DATE,
    migration: false,
    recovery_seal: false,
    storage_type: 'inmem',
    removed_from_cluster: false,
  };
  if (!core.sealed) {
    body.cluster_name = core.clusterName;
    body.cluster_id = core.clusterId;
  }
  return body;
}

/**
 * PUT/POST sys/seal: needs a token with `sudo` + `update` on sys/seal (root does). Sealing
 * a sealed Vault is a no-op 204.
 */
export function seal(core: EmulatorCore, method: string, clientToken: string | null): VaultReply {
  if (method !== 'PUT' && method !== 'POST') return errorReply(405, []);
  if (core.sealed) return { status: 204 };
  if (!clientToken) return errorReply(403, ['permission denied']);
  const token = core.tokens.lookup(clientToken);
  if (!token) return errorReply(403, [multiError('permission denied', 'invalid token')]);
  if (!core.policies.acl(token.policies).allows('sys/seal', 'update', true)) return errorReply(403, [multiError('permission denied')]);
  core.sealed = true;
  return { status: 204 };
}

/**
 * PUT/POST sys/unseal with `{"key": "<base64 or hex>"}` or `{"reset": true}`. The dev
 * unseal key (one share, threshold one) unseals at once; any other key is Vault's
 * "Unseal failed, invalid key".
 */
export function unseal(core: EmulatorCore, method: string, rawBody: string): VaultReply {
  if (method !== 'PUT' && method !== 'POST') return errorReply(405, []);
  const body = parseJsonObject(rawBody, 'raw') ?? {};
  if (body.reset === true) return { status: 200, body: sealStatus(core) };
  const key = typeof body.key === 'string' ? body.key : '';
  if (key === '') throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
  if (!core.sealed) return { status: 200, body: sealStatus(core) };
  const given = decodeKey(key);
  if (given === null) throw badRequest("'key' must be a valid hex or base64 string");
  if (!given.equals(Buffer.from(core.unsealKey, 'base64'))) throw new VaultError(400, ['Unseal failed, invalid key']);
  core.sealed = false;
  return { status: 200, body: sealStatus(core) };
}

/** GET sys/leader for a node without HA, as the dev server answers. */
export function leader(method: string): VaultReply {
  if (method !== 'GET') return errorReply(405, []);
  return {
    status: 200,
    body: {
      ha_enabled: false,
      is_self: false,
      active_time: '0001-01-01T00:00:00Z',
      leader_address: '',
      leader_cluster_address: '',
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
    },
  };
}

function decodeKey(key: string): Buffer | null {
  if (/^[0-9a-fA-F]+$/.test(key) && key.length % 2 === 0) return Buffer.from(key, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return Buffer.from(key, 'base64');
  return null;
}
