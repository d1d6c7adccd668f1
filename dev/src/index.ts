/**
 * Dev mode and the Vault HTTP-API emulator. The proxy's `secure-proxy serve` loads this
 * package only when it runs without a config inside a clone of the repository; tests and the
 * bench use the emulator directly.
 */
export { runDevMode, type DevModeOptions } from './dev-mode';
export { startVaultEmulator, type VaultEmulator, type VaultEmulatorOptions, type VaultFaults } from './vault-emulator';
export { startSampleUpstream, type SampleUpstream } from './sample-upstream';
