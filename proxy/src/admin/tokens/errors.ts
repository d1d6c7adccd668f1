/**
 * The two ways a `secure-proxy token` command fails, mapped to the CLI's exit codes: a usage
 * or config problem the admin fixes on the command line (2), and a Vault or runtime failure (1)
 * whose message says that Vault refused and why.
 */
import { TokenStoreError } from '../../auth/vault-records/kv-records';

/** Bad arguments or a config that cannot serve the command: exit 2. */
export class TokenAdminUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenAdminUsageError';
  }
}

/** Vault refused, was unreachable, or a record cannot be used: exit 1. */
export class TokenAdminFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenAdminFailure';
  }
}

/** Words an admin can act on for a failed Vault call on the token records. */
export function explainStoreError(err: TokenStoreError): TokenAdminFailure {
  if (err.forbidden) {
    const verb = err.operation === 'list' ? 'list' : err.operation === 'write' ? 'write' : 'read';
    return new TokenAdminFailure(
      `Vault refused: ${err.message}. Your Vault token may not ${verb} ${err.apiPath}; see docs/vault-admin.md ("The token-management policy").`,
    );
  }
  return new TokenAdminFailure(`Vault failed: ${err.message}`);
}

/** Turns a TokenStoreError into its admin-facing failure; anything else passes through. */
export function asAdminError(err: unknown): unknown {
  return err instanceof TokenStoreError ? explainStoreError(err) : err;
}
