/**
 * The shape of a `secure-proxy check` run: what the check found out about the Vault login,
 * the KV mount, every service's secret, the CA files and the token records. It is printed as
 * a table or as JSON, so it holds names, codes and safe messages only: never a secret value,
 * a Vault token, a secret id or a proxy token's hash.
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

/** A PEM CA bundle named by `vault.caFile` or a service's `caFile`, and the certificates in it. */
export interface CaFileReport {
  path: string;
  /** The config fields naming it, e.g. `vault.caFile`, `services.github.caFile`. */
  usedBy: string[];
  /** False when the file cannot be read or none of its certificates is valid now. */
  ok: boolean;
  problem: string | null;
  certificates: Array<{ subject: string; notBefore: string; notAfter: string }>;
}

/** One client's token record, as the proxy would serve it. */
export interface TokenClientReport {
  client: string;
  /** False when none of the client's tokens would be accepted: malformed or unreadable record, or every token expired. */
  ok: boolean;
  /** PROXY_TOKEN_INVALID (malformed), PROXY_TOKEN_EXPIRED (every token expired), VAULT_FORBIDDEN...; null when ok. */
  code: ErrorCode | null;
  message: string | null;
  /** The services the proxy grants it (those the config defines). */
  services: string[];
  /** Tokens the proxy accepts now. */
  validTokens: number;
  /** Valid tokens expiring within tokenExpiryWarningSeconds, soonest first; `replacedBy` set when a rotation already replaced it. */
  expiringSoon: Array<{ id: string | null; expiresAt: string; replacedBy: string | null }>;
  /** Tokens past their expiry (kept in the record for 7 days). */
  expiredTokens: number;
  /** Earliest expiry among the valid tokens; null when none of them expires. */
  nextExpiry: string | null;
}

/** The token records in Vault (`tokenStore`), read with the proxy's own login. */
export interface TokenStoreReport {
  /** `<kvMount>/<tokenStore.path>`. */
  location: string;
  ok: boolean;
  /** Why the records could not be listed (or were not checked); null when listed. */
  error: CheckProblem | null;
  /** tokenExpiryWarningSeconds, the window `expiringSoon` uses. */
  expiryWarningSeconds: number;
  clients: TokenClientReport[];
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
  /** Every caFile of the config (Vault's and the services'), once per path. */
  caFiles: CaFileReport[];
  /** The token records; null when the config has no tokenStore. */
  tokenStore: TokenStoreReport | null;
  /** Things that work now but deserve a look; they do not fail the check. */
  warnings: string[];
}
