/**
 * The shape of a `secure-proxy check` run: what the check found out about the Vault login,
 * the KV mount and every service's secret. It is printed as a table or as JSON, so it holds
 * names, codes and safe messages only: never a secret value, a Vault token or a secret id.
 */
import type { ErrorCode } from '../../contract/contract';
import type { KvVersion } from '../../vault';

/** A problem, with the contract code the proxy would answer with and a message safe to print. */
export interface CheckProblem {
  code: ErrorCode;
  message: string;
}

/** The Vault login with the configured auth method, and what Vault says about the token. */
export interface LoginReport {
  method: 'token' | 'approle' | 'kubernetes';
  ok: boolean;
  /** Why the login failed; null when it worked. */
  error: CheckProblem | null;
  /** Seconds left on the token; 0 when it never expires; null when unknown. */
  ttlSeconds: number | null;
  renewable: boolean | null;
  /** The token's policies, or null when lookup-self is not allowed (or the login failed). */
  policies: string[] | null;
}

/** The KV mount holding the service secrets. */
export interface KvReport {
  mount: string;
  /** null when it could not be detected. */
  version: KvVersion | null;
  /** `configured` when vault.kvVersion is set, so no detection happened. */
  source: 'configured' | 'detected';
  error: CheckProblem | null;
}

/** One service: can the proxy read its secret and build the credential from it? */
export interface ServiceReport {
  name: string;
  /** `<kvMount>/<secret path>`: a name, not a value. */
  secret: string;
  /** Redacted description of the injection, e.g. "bearer token from field 'token'". */
  inject: string;
  ok: boolean;
  /** SECRET_NOT_FOUND, VAULT_FORBIDDEN, SECRET_FIELD_MISSING, VAULT_UNAVAILABLE...; null when ok. */
  code: ErrorCode | null;
  message: string | null;
}

/** Everything one check found. `ok` is false when anything would make a request fail. */
export interface CheckReport {
  ok: boolean;
  vault: {
    address: string;
    namespace: string | null;
    login: LoginReport;
    kv: KvReport;
  };
  services: ServiceReport[];
  /** Things that work now but deserve a look; they do not fail the check. */
  warnings: string[];
}
