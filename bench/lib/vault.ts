/**
 * The Vault side of the bench: the emulator, in the runner's process (it is idle once the
 * proxy's cache is warm, which is exactly what the bench checks by counting its requests),
 * seeded through Vault's HTTP API like dev mode does.
 */
import type { VaultEmulator } from '../../dev/src/vault-emulator.js';
import { vaultEmulatorModule } from './proxy-dist.ts';

/** Starts the emulator and writes `{ [field]: value }` at `secret/<path>` (KV v2) with the root token. */
export async function startSeededVault(path: string, data: Record<string, string>): Promise<VaultEmulator> {
  const vault = await vaultEmulatorModule().startVaultEmulator();
  const response = await fetch(`${vault.url}/v1/secret/data/${path}`, {
    method: 'POST',
    headers: { 'x-vault-token': vault.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  if (!response.ok) {
    await vault.close();
    throw new Error(`seeding the Vault emulator failed at secret/data/${path} (${response.status})`);
  }
  return vault;
}
