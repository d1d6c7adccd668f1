/**
 * `migrate rewrite --to-vault`: puts each service's secret into Vault KV v2 at the service's
 * secret path, as an admin (VAULT_ADDR, VAULT_TOKEN; VAULT_CACERT and VAULT_NAMESPACE when
 * set), through the proxy's own Vault session (node-vault, timeouts, TLS, redirect handling).
 *
 * Safe by default:
 * - every path is read first; a path that already holds the same fields is left alone, and a
 *   path holding a different value is a conflict: nothing at all is written unless `--force`;
 * - writes are check-and-set (`options.cas` = the version read), so a value changed by
 *   someone else in between is never overwritten;
 * - with `--force`, the fields the migration sets replace theirs and other fields are kept.
 * Messages name paths and versions, never values.
 */
import { caBundleProblem } from '../../config/ca-bundle';
import type { VaultConfig } from '../../config/schema';
import { ProxyEvents } from '../../observability/events';
import { classifyVaultError, type VaultFailure } from '../../vault/errors';
import { detectKvVersion, encodePath, kvApiPath, trimSlashes } from '../../vault/kv';
import { readKvVersion, writeKvIfVersion } from '../../vault/kv-writer';
import { VaultSession } from '../../vault/session';
import { MigrateUsageError, MigrateVaultError } from './errors';
import type { ServicePlan } from './rewrite';

type Env = Readonly<Record<string, string | undefined>>;

/** Where and as whom to write. */
export interface VaultAccess {
  config: VaultConfig;
  mount: string;
}

/** Vault access from the environment, checked before anything is read or written. */
export function vaultAccessOf(env: Env, kvMount: string): VaultAccess {
  const address = env.VAULT_ADDR?.trim() ?? '';
  const token = env.VAULT_TOKEN?.trim() ?? '';
  if (address === '' || token === '') throw new MigrateUsageError('--to-vault needs VAULT_ADDR and an admin token in VAULT_TOKEN');
  if (!URL.canParse(address) || !['http:', 'https:'].includes(new URL(address).protocol)) {
    throw new MigrateUsageError(`VAULT_ADDR must be an absolute http(s) URL, got "${address}"`);
  }
  const caFile = env.VAULT_CACERT?.trim() || undefined;
  const caProblem = caFile === undefined ? null : caBundleProblem(caFile);
  if (caProblem !== null) throw new MigrateUsageError(`VAULT_CACERT ${caFile}: ${caProblem}`);
  const mount = trimSlashes(kvMount);
  if (mount === '') throw new MigrateUsageError('--kv-mount must name a KV v2 mount, e.g. secret');
  return {
    mount,
    config: {
      address,
      auth: { method: 'token', token },
      kvMount: mount,
      kvVersion: 2,
      timeoutMs: 10_000,
      renewFraction: 2 / 3,
      ...(caFile === undefined ? {} : { caFile }),
      ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
    },
  };
}

function why(failure: VaultFailure): string {
  switch (failure.kind) {
    case 'forbidden':
      return `permission denied (${failure.status}): the token needs create, read and update on the path`;
    case 'not_found':
      return 'not found';
    case 'bad_request':
      return 'Vault refused the request (400)';
    case 'unavailable':
    case 'error':
      return failure.reason;
  }
}

interface Stored {
  /** Current fields, or null when the path holds no live version. */
  data: Record<string, unknown> | null;
  /** The version a check-and-set write must name (0: never written). */
  version: number;
}

async function readStored(session: VaultSession, apiPath: string, display: string): Promise<Stored> {
  try {
    const stored = await readKvVersion(session, apiPath);
    return { data: stored.fields, version: stored.version ?? 0 };
  } catch (err) {
    throw new MigrateVaultError(`reading ${display}: ${why(classifyVaultError(err))}; nothing was written`);
  }
}

type Action =
  | { service: string; display: string; apiPath: string; body: Record<string, string>; version: number; kind: 'create' | 'replace' }
  | { service: string; display: string; kind: 'same' };

function holdsSame(stored: Record<string, unknown>, data: Record<string, string>): boolean {
  return Object.entries(data).every(([field, value]) => stored[field] === value);
}

/**
 * Stores the secrets of the planned services, telling `report` a line per service as it goes.
 * Throws MigrateVaultError on a conflict without `force` (before any write), a refusal or an
 * unreachable Vault.
 */
export async function storeServiceSecrets(
  access: VaultAccess,
  services: ReadonlyMap<string, ServicePlan>,
  force: boolean,
  report: (line: string) => void,
): Promise<void> {
  const session = new VaultSession({ vault: access.config, events: new ProxyEvents() });
  try {
    await session.start();
    const readiness = session.readiness();
    if (!readiness.ready)
      throw new MigrateVaultError(`cannot use Vault at ${access.config.address}: ${readiness.reason ?? 'the token was refused'}; nothing was written`);
    const version = await detectKvVersion(session, access.mount).catch((err: unknown) => {
      throw new MigrateVaultError(`cannot tell the KV version of mount "${access.mount}": ${(err as Error).message}; nothing was written`);
    });
    if (version !== 2) throw new MigrateVaultError(`mount "${access.mount}" is KV version 1; --to-vault writes with check-and-set, which needs KV version 2`);

    const actions: Action[] = [];
    const conflicts: string[] = [];
    for (const [service, plan] of services) {
      const display = `${access.mount}/${plan.mapping.secret}`;
      const apiPath = encodePath(kvApiPath(access.mount, 2, 'data', trimSlashes(plan.mapping.secret)));
      const stored = await readStored(session, apiPath, display);
      if (stored.data !== null && holdsSame(stored.data, plan.data)) actions.push({ service, display, kind: 'same' });
      else if (stored.data === null) actions.push({ service, display, apiPath, body: plan.data, version: stored.version, kind: 'create' });
      else {
        if (!force) conflicts.push(`${display} (version ${stored.version}) already holds a different value for service ${service}`);
        actions.push({
          service,
          display,
          apiPath,
          body: { ...(stored.data as Record<string, string>), ...plan.data },
          version: stored.version,
          kind: 'replace',
        });
      }
    }
    if (conflicts.length > 0) {
      throw new MigrateVaultError(`${conflicts.join('; ')}. Nothing was written: check which value is current, then run again with --force to replace it`);
    }

    let written = 0;
    for (const action of actions) {
      if (action.kind === 'same') {
        report(`vault: ${action.display} already holds this secret for service ${action.service}; left as it is`);
        continue;
      }
      let reason: string | null = null;
      try {
        if (!(await writeKvIfVersion(session, action.apiPath, action.body, action.version))) {
          reason = `it changed since it was read (check-and-set at version ${action.version} refused); run again`;
        }
      } catch (err) {
        reason = why(classifyVaultError(err));
      }
      if (reason !== null) {
        throw new MigrateVaultError(
          `writing ${action.display}: ${reason}${written > 0 ? ` (${written} path(s) above were written)` : '; nothing was written'}`,
        );
      }
      written += 1;
      report(`vault: ${action.kind === 'create' ? 'stored' : 'replaced (--force)'} the secret of service ${action.service} at ${action.display}`);
    }
  } finally {
    await session.stop();
  }
}
