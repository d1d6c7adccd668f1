/**
 * Failures of `secure-proxy migrate`. Each says which input or which service was wrong and
 * why, and never holds a secret value. The command line maps them to exit codes: bad usage or
 * unreadable input 2, a refused Vault write 1.
 */

/** Bad flags or a bad service map: exit 2. */
export class MigrateUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrateUsageError';
  }
}

/** An input that could not be read as workflows: exit 2, naming the file (or URL) and why. */
export class UnreadableInputError extends Error {
  readonly input: string;

  constructor(input: string, why: string) {
    super(`cannot read ${input}: ${why}`);
    this.name = 'UnreadableInputError';
    this.input = input;
  }
}

/** Vault refused or could not take a secret, or holds a different one already: exit 1. */
export class MigrateVaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrateVaultError';
  }
}
