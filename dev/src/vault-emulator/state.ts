/**
 * Builds a fresh emulator core in the state `vault server -dev` starts in: unsealed, the
 * given root token, `secret/` as KV v2, token auth, the default policy.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PolicyStore } from './acl';
import type { EmulatorCore } from './core';
import { mountDevDefaults } from './engines';
import { MountTable } from './mounts';
import { RateLimitQuotas } from './quotas';
import { sysBackend } from './sys';
import { TokenStore } from './tokens';

/** A new core with dev defaults mounted. */
export function createCore(rootToken: string): EmulatorCore {
  const core: EmulatorCore = {
    rootToken,
    unsealKey: randomBytes(32).toString('base64'),
    sealed: false,
    clusterName: `vault-cluster-${randomBytes(4).toString('hex')}`,
    clusterId: randomUUID(),
    policies: new PolicyStore(),
    tokens: new TokenStore(rootToken),
    secretMounts: new MountTable(''),
    authMounts: new MountTable('auth/'),
    quotas: new RateLimitQuotas(),
  };
  mountDevDefaults(core, sysBackend(core));
  return core;
}
