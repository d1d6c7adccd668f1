/**
 * The Vault a test talks to: a real one when VAULT_ADDR and VAULT_TOKEN are both set (so
 * anyone with a Vault can prove the suites against it), otherwise a fresh in-memory
 * emulator on loopback.
 */
import { randomBytes } from 'node:crypto';
import { startVaultEmulator, type VaultEmulator } from '../../dev/src/vault-emulator';

/** A Vault for one test file. */
export interface VaultTarget {
  /** Base URL without /v1 (VAULT_ADDR form). */
  address: string;
  rootToken: string;
  /** The emulator, or null against a real Vault (then fault knobs are unavailable). */
  emulator: VaultEmulator | null;
  /** Unique per call ('t' + hex): namespace mounts, policies and paths with it. */
  prefix: string;
  /**
   * Registers cleanup to run on close() against a real Vault (unmounting, deleting
   * policies...), last registered first. On the emulator nothing is run: its state dies
   * with it. Setup helpers in vault-setup.ts register their own cleanup.
   */
  defer(cleanup: () => Promise<unknown>): void;
  /** Runs the cleanups (real Vault) or stops the emulator. */
  close(): Promise<void>;
}

/** True when the suites run against a real Vault (VAULT_ADDR and VAULT_TOKEN set). */
export function usingRealVault(): boolean {
  return Boolean(process.env.VAULT_ADDR && process.env.VAULT_TOKEN);
}

/** Starts (or connects to) the Vault for a test file. */
export async function startVaultTarget(): Promise<VaultTarget> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  if (usingRealVault()) {
    const cleanups: Array<() => Promise<unknown>> = [];
    return {
      address: (process.env.VAULT_ADDR as string).replace(/\/+$/, ''),
      rootToken: process.env.VAULT_TOKEN as string,
      emulator: null,
      prefix,
      defer: (cleanup) => {
        cleanups.push(cleanup);
      },
      close: async () => {
        const failures: string[] = [];
        for (const cleanup of cleanups.reverse()) {
          await cleanup().catch((err: unknown) => failures.push(err instanceof Error ? err.message : String(err)));
        }
        // A leftover mount or policy on a shared Vault should be visible, not fail the suite.
        if (failures.length > 0) console.warn(`vault-target: ${failures.length} cleanup step(s) failed:\n  ${failures.join('\n  ')}`);
      },
    };
  }
  const emulator = await startVaultEmulator();
  return {
    address: emulator.url,
    rootToken: emulator.rootToken,
    emulator,
    prefix,
    defer: () => undefined,
    close: () => emulator.close(),
  };
}
