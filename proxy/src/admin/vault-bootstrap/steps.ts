/**
 * The bootstrap's steps, each "read what is there, write only what is missing or different":
 * the KV mount, the auth method, the policies, the role, and (Kubernetes) the auth method's
 * config. Run twice, the second run changes nothing. With `dryRun` the reads happen and the
 * writes are returned instead of made.
 */
import { POLICIES, readPolicyFile, renderPolicy, type PolicyName, type PolicyPlace } from './policies';
import { BootstrapFailure, type AdminApi, type VaultCall } from './vault-api';
import { durationSeconds, type BootstrapOptions } from './options';

/** What one step found or did. */
export interface Change {
  status: 'created' | 'updated' | 'unchanged' | 'todo';
  /** What it is about, e.g. "policy secure-proxy". */
  subject: string;
  /** Why, or what differed. */
  detail?: string;
  /** The write made (or, in a dry run, the write that would be made). */
  call?: VaultCall;
}

export interface BootstrapResult {
  changes: Change[];
  /** Facts worth printing that are no change: the AppRole role id, next steps. */
  notes: string[];
}

type Body = Record<string, unknown>;

/** Runs every step in order; the first failure stops the run (what was done before it is reported in the error). */
export async function bootstrapVault(api: AdminApi, options: BootstrapOptions, dryRun: boolean): Promise<BootstrapResult> {
  const changes: Change[] = [];
  const notes: string[] = [];
  const apply = async (change: Change): Promise<void> => {
    if (change.call !== undefined && !dryRun) {
      try {
        await api.write(change.call);
      } catch (err) {
        if (err instanceof BootstrapFailure && changes.some((c) => c.status === 'created' || c.status === 'updated')) {
          const done = changes.filter((c) => c.status === 'created' || c.status === 'updated').map((c) => c.subject);
          throw new BootstrapFailure(`${err.message}. Done before this: ${done.join(', ')}; run again once fixed (finished steps are skipped).`);
        }
        throw err;
      }
    }
    changes.push(change);
  };

  const kv = await kvMountStep(api, options);
  await apply(kv.change);
  const auth = await authMethodStep(api, options);
  await apply(auth);

  const place: PolicyPlace = { kvMount: options.kvMount, kvVersion: kv.version, servicesPath: options.servicesPath, recordsPath: options.recordsPath };
  const proxyPolicies: PolicyName[] = [POLICIES.proxy, ...(options.tokenStore ? [POLICIES.tokenRecords] : [])];
  for (const name of [...proxyPolicies, ...(options.adminPolicy ? [POLICIES.admin] : [])]) {
    await apply(await policyStep(api, options.policyPrefix + name, renderPolicy(readPolicyFile(name), place)));
  }

  // On a dry run against a fresh Vault the auth mount does not exist yet: its role cannot exist either.
  const authPending = auth.status === 'created';
  const rolePath = `auth/${options.authMount}/role/${options.role}`;
  const current = authPending ? null : await api.read(rolePath);
  await apply(
    roleStep(
      options,
      rolePath,
      current,
      proxyPolicies.map((name) => options.policyPrefix + name),
    ),
  );

  if (options.auth === 'kubernetes') {
    const config = authPending ? null : await api.read(`auth/${options.authMount}/config`);
    const change = kubernetesConfigStep(options, config);
    if (change !== null) await apply(change);
    notes.push(
      `Run the proxy's pods as service account ${options.serviceAccount} in namespace ${options.namespace}; proxy config: vault.auth: { method: kubernetes, role: ${options.role}${options.authMount === 'kubernetes' ? '' : `, mount: ${options.authMount}`} }.`,
    );
  } else {
    const roleId = dryRun ? null : await api.read(`${rolePath}/role-id`);
    const id = (roleId?.data as Body | undefined)?.role_id;
    if (typeof id === 'string') notes.push(`AppRole role id (not secret on its own): ${id}`);
    notes.push(
      `Issue a secret id for the proxy (it is a secret: deliver it like one, never in the config file): vault write -f ${rolePath}/secret-id. ` +
        `Proxy config: vault.auth: { method: approle, roleId: "\${VAULT_ROLE_ID}", secretId: "\${VAULT_SECRET_ID}"${options.authMount === 'approle' ? '' : `, mount: ${options.authMount}`} }.`,
    );
  }
  notes.push(
    `Proxy config: vault.kvMount: ${options.kvMount}; service secrets go under ${options.servicesPath}/${options.tokenStore ? `; tokenStore.path: ${options.recordsPath}` : ''}.`,
  );
  return { changes, notes };
}

/** The mount's table entry from a sys/mounts or sys/auth listing (Vault puts it under data, and at the top level for old clients). */
function tableEntry(listing: Body | null, path: string): Body | undefined {
  const table = (listing?.data ?? listing) as Body | undefined;
  const entry = table?.[`${path}/`];
  return entry !== null && typeof entry === 'object' ? (entry as Body) : undefined;
}

async function kvMountStep(api: AdminApi, options: BootstrapOptions): Promise<{ change: Change; version: 1 | 2 }> {
  const subject = `KV secrets engine at ${options.kvMount}/`;
  const entry = tableEntry(await api.read('sys/mounts'), options.kvMount);
  if (entry === undefined) {
    return {
      version: 2,
      change: {
        status: 'created',
        subject: `KV v2 secrets engine at ${options.kvMount}/`,
        call: {
          method: 'POST',
          path: `sys/mounts/${options.kvMount}`,
          body: { type: 'kv', options: { version: '2' }, description: 'secure-proxy: API secrets and proxy token records' },
          needs: 'create, update',
        },
      },
    };
  }
  if (entry.type !== 'kv' && entry.type !== 'generic') {
    throw new BootstrapFailure(
      `${options.kvMount}/ is a "${String(entry.type)}" secrets engine, not KV: pass --kv-mount with the KV mount the proxy should read`,
    );
  }
  const version = (entry.options as Body | null | undefined)?.version === '2' ? 2 : 1;
  return { version, change: { status: 'unchanged', subject, detail: `KV v${version}, already mounted` } };
}

async function authMethodStep(api: AdminApi, options: BootstrapOptions): Promise<Change> {
  const subject = `${options.auth} auth method at auth/${options.authMount}/`;
  const entry = tableEntry(await api.read('sys/auth'), options.authMount);
  if (entry === undefined) {
    return {
      status: 'created',
      subject,
      call: {
        method: 'POST',
        path: `sys/auth/${options.authMount}`,
        body: { type: options.auth, description: 'secure-proxy' },
        needs: 'create, update and sudo',
      },
    };
  }
  if (entry.type !== options.auth) {
    throw new BootstrapFailure(
      `auth/${options.authMount}/ is a "${String(entry.type)}" auth method, not ${options.auth}: pass --auth-mount with a free path or the ${options.auth} mount to use`,
    );
  }
  return { status: 'unchanged', subject, detail: 'already enabled' };
}

async function policyStep(api: AdminApi, name: string, text: string): Promise<Change> {
  const path = `sys/policies/acl/${name}`;
  const current = await api.read(path);
  const currentText = (current?.data as Body | undefined)?.policy;
  const call: VaultCall = { method: 'PUT', path, body: { policy: text }, needs: current === null ? 'create' : 'update' };
  if (current === null) return { status: 'created', subject: `policy ${name}`, call };
  if (currentText === text) return { status: 'unchanged', subject: `policy ${name}`, detail: 'same text' };
  return { status: 'updated', subject: `policy ${name}`, detail: 'its text differed from the shipped policy and is replaced', call };
}

/** The role fields the bootstrap manages, as sent. */
function desiredRole(options: BootstrapOptions, policies: string[]): Body {
  const token = { token_policies: policies, token_ttl: options.tokenTtl, token_max_ttl: options.tokenMaxTtl };
  if (options.auth === 'approle') return { ...token, secret_id_ttl: options.secretIdTtl };
  return { bound_service_account_names: [options.serviceAccount], bound_service_account_namespaces: [options.namespace], ...token };
}

/** Field by field, what differs between the role Vault has and the one wanted ("token_ttl 3600s → 1h"). */
function roleDifferences(current: Body, desired: Body): string[] {
  const differences: string[] = [];
  for (const [field, wanted] of Object.entries(desired)) {
    const have = current[field];
    const same = Array.isArray(wanted)
      ? Array.isArray(have) && sameSet(have as unknown[], wanted as unknown[])
      : typeof have === 'number' && have === durationSeconds(String(wanted));
    if (!same)
      differences.push(
        `${field} ${Array.isArray(have) ? `[${have.join(', ')}]` : typeof have === 'number' ? `${have}s` : 'unset'} → ${Array.isArray(wanted) ? `[${wanted.join(', ')}]` : String(wanted)}`,
      );
  }
  return differences;
}

function sameSet(a: unknown[], b: unknown[]): boolean {
  return a.map(String).sort().join(',') === b.map(String).sort().join(',');
}

function roleStep(options: BootstrapOptions, path: string, current: Body | null, policies: string[]): Change {
  const subject = `${options.auth === 'approle' ? 'AppRole' : 'Kubernetes'} role ${options.role} (auth/${options.authMount}/)`;
  const desired = desiredRole(options, policies);
  const call: VaultCall = { method: 'POST', path, body: desired, needs: current === null ? 'create' : 'update' };
  if (current === null) return { status: 'created', subject, detail: `policies ${policies.join(', ')}`, call };
  const differences = roleDifferences((current.data ?? {}) as Body, desired);
  if (differences.length === 0) return { status: 'unchanged', subject, detail: `policies ${policies.join(', ')}` };
  return { status: 'updated', subject, detail: differences.join('; '), call };
}

function kubernetesConfigStep(options: BootstrapOptions, config: Body | null): Change | null {
  const subject = `Kubernetes auth config (auth/${options.authMount}/config)`;
  const host = (config?.data as Body | undefined)?.kubernetes_host;
  if (typeof host === 'string' && host !== '') {
    if (options.kubernetesHost !== undefined && options.kubernetesHost !== host) {
      return {
        status: 'todo',
        subject,
        detail: `it names ${host}, not ${options.kubernetesHost}; left as it is (change it with vault write auth/${options.authMount}/config)`,
      };
    }
    return { status: 'unchanged', subject, detail: `kubernetes_host ${host}` };
  }
  if (options.kubernetesHost === undefined) {
    return {
      status: 'todo',
      subject,
      detail: `not configured: pass --kubernetes-host, or run vault write auth/${options.authMount}/config kubernetes_host=https://kubernetes.default.svc:443 (docs/vault-admin.md)`,
    };
  }
  return {
    status: 'created',
    subject,
    detail: `kubernetes_host ${options.kubernetesHost}`,
    call: { method: 'POST', path: `auth/${options.authMount}/config`, body: { kubernetes_host: options.kubernetesHost }, needs: 'create, update' },
  };
}
