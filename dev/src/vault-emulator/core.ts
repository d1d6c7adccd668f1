/**
 * The emulator's shared state, handed to every backend: policies, tokens, mount tables,
 * quotas and the seal. Kept as a plain interface so backends depend on it by type only.
 */
import type { PolicyStore } from './acl';
import type { MountTable } from './mounts';
import type { RateLimitQuotas } from './quotas';
import type { TokenStore } from './tokens';

/** The Vault version the emulator reports (its error texts follow Vault 1.17). */
export const EMULATED_VERSION = '1.17.6';

/** State shared by the HTTP pipeline and all backends of one emulator. */
export interface EmulatorCore {
  readonly rootToken: string;
  /** The single dev unseal key (base64), as `vault server -dev` prints it. */
  readonly unsealKey: string;
  sealed: boolean;
  readonly clusterName: string;
  readonly clusterId: string;
  readonly policies: PolicyStore;
  readonly tokens: TokenStore;
  readonly secretMounts: MountTable;
  readonly authMounts: MountTable;
  readonly quotas: RateLimitQuotas;
}
