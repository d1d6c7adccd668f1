/**
 * What `secure-proxy vault bootstrap` sets up, and the checks on each option before Vault is
 * contacted. Defaults are the names docs/vault-admin.md uses, so a bootstrap with no options
 * produces exactly the guide's setup.
 */
import { DEFAULT_TOKEN_RECORDS_PATH } from '../../config/schema';

export type BootstrapAuth = 'approle' | 'kubernetes';

export interface BootstrapOptions {
  auth: BootstrapAuth;
  /** Mount path of the auth method (without `auth/`); defaults to the method's name. */
  authMount: string;
  /** The AppRole role or Kubernetes role the proxy logs in with. */
  role: string;
  kvMount: string;
  /** Folder of the service secrets under the KV mount. */
  servicesPath: string;
  /** Folder of the proxy token records (tokenStore.path). */
  recordsPath: string;
  /** Grant the proxy list/read on the token records (tokenStore). */
  tokenStore: boolean;
  /** Write the token-management policy for the people or pipelines that issue proxy tokens. */
  adminPolicy: boolean;
  /** Put in front of every policy name (several proxies in one Vault). */
  policyPrefix: string;
  tokenTtl: string;
  tokenMaxTtl: string;
  /** AppRole only. */
  secretIdTtl: string;
  /** Kubernetes only: the service account and namespace the role is bound to. */
  serviceAccount: string;
  namespace: string | undefined;
  /** Kubernetes only: written to auth/<mount>/config when that is not configured yet. */
  kubernetesHost: string | undefined;
}

export const BOOTSTRAP_DEFAULTS = {
  auth: 'approle',
  role: 'secure-proxy',
  kvMount: 'secret',
  servicesPath: 'secure-proxy/services',
  recordsPath: DEFAULT_TOKEN_RECORDS_PATH,
  tokenStore: true,
  adminPolicy: true,
  policyPrefix: '',
  tokenTtl: '1h',
  tokenMaxTtl: '4h',
  secretIdTtl: '720h',
  serviceAccount: 'secure-proxy',
} as const;

/** Bad options: exit 2, nothing was sent to Vault. */
export class BootstrapUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BootstrapUsageError';
  }
}

/** A mount or folder path: segments of letters, digits, `.`, `_`, `-`, no leading or trailing slash. */
const VAULT_PATH = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9._-]+)*$/;
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Vault's duration syntax as the role endpoints take it: "90s", "30m", "1h30m", "720h", "30d" (days alone), or plain seconds. */
const VAULT_DURATION = /^(?:\d+|\d+d|(?:\d+h)?(?:\d+m)?(?:\d+s)?)$/;

/** Seconds of a Vault duration already checked by {@link checkOptions}. */
export function durationSeconds(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  if (/^\d+d$/.test(value)) return Number(value.slice(0, -1)) * 86400;
  const part = (unit: string): number => Number(new RegExp(`(\\d+)${unit}`).exec(value)?.[1] ?? 0);
  return part('h') * 3600 + part('m') * 60 + part('s');
}

/** Checks every option, all problems in one error. */
export function checkOptions(options: BootstrapOptions): BootstrapOptions {
  const problems: string[] = [];
  const path = (flag: string, value: string): void => {
    if (!VAULT_PATH.test(value)) problems.push(`${flag} must be a Vault path like "secret" or "team/kv" (no leading or trailing slash), got "${value}"`);
  };
  path('--kv-mount', options.kvMount);
  path('--auth-mount', options.authMount);
  path('--services-path', options.servicesPath);
  path('--records-path', options.recordsPath);
  if (!ROLE_NAME.test(options.role)) problems.push(`--role must be 1-128 letters, digits, ".", "_" or "-", got "${options.role}"`);
  if (options.policyPrefix !== '' && !/^[a-z0-9][a-z0-9._-]*$/.test(options.policyPrefix)) {
    problems.push(`--policy-prefix must be lower-case letters, digits, ".", "_" or "-" (Vault lower-cases policy names), got "${options.policyPrefix}"`);
  }
  for (const [flag, value] of [
    ['--token-ttl', options.tokenTtl],
    ['--token-max-ttl', options.tokenMaxTtl],
    ['--secret-id-ttl', options.secretIdTtl],
  ] as const) {
    if (!VAULT_DURATION.test(value) || value === '') problems.push(`${flag} must be a duration like 30m, 1h, 1h30m or 30d, got "${value}"`);
  }
  if (problems.length === 0 && durationSeconds(options.tokenMaxTtl) > 0 && durationSeconds(options.tokenTtl) > durationSeconds(options.tokenMaxTtl)) {
    problems.push(`--token-ttl (${options.tokenTtl}) must not be longer than --token-max-ttl (${options.tokenMaxTtl})`);
  }
  if (options.auth === 'kubernetes') {
    if (options.namespace === undefined)
      problems.push('--namespace is required with --auth kubernetes: the namespace of the proxy pods, e.g. --namespace automation');
    if (!ROLE_NAME.test(options.serviceAccount)) problems.push(`--service-account must be a service account name, got "${options.serviceAccount}"`);
    if (options.kubernetesHost !== undefined && !/^https?:\/\/\S+$/.test(options.kubernetesHost)) {
      problems.push(`--kubernetes-host must be the API server URL, e.g. https://kubernetes.default.svc:443, got "${options.kubernetesHost}"`);
    }
  }
  if (problems.length > 0) throw new BootstrapUsageError(problems.join('; '));
  return options;
}
