/**
 * The catalog: which backend serves each mount type the emulator supports, and the dev
 * server's initial mounts (`secret/` as KV v2, `cubbyhole/`, `identity/`, `sys/`,
 * `auth/token/`).
 */
import { appRoleBackend } from './auth-approle';
import { kubernetesBackend } from './auth-kubernetes';
import { tokenBackend } from './auth-token';
import { EMULATED_VERSION, type EmulatorCore } from './core';
import { badRequest } from './http';
import { KvV1Backend } from './kv-v1';
import { KvV2Backend } from './kv-v2';
import type { Backend } from './logical';
import type { MountSpec } from './mounts';

/** A backend that serves nothing: for mounts that only need to exist in listings. */
const EMPTY_BACKEND: Backend = { routes: [] };

/**
 * A secrets-engine mount spec for `POST sys/mounts/<path>`. Only KV is supported; `kv-v2`
 * is accepted as Vault accepts it (type kv, options.version 2).
 */
export function secretEngineSpec(path: string, type: string, rawOptions: unknown, description: string): MountSpec {
  const options = stringOptions(rawOptions);
  let kvType = type;
  if (type === 'kv-v2') {
    kvType = 'kv';
    options.version = '2';
  }
  if (kvType !== 'kv') throw badRequest(`plugin not found in the catalog: ${type}`);
  const v2 = options.version === '2';
  return {
    path,
    type: 'kv',
    description,
    // Vault stores no options when none were given (a v1 mount then shows options null).
    options: Object.keys(options).length > 0 ? options : null,
    backend: v2 ? new KvV2Backend() : new KvV1Backend(),
    runningVersion: 'v0.20.0+builtin',
  };
}

/** An auth-method mount spec for `POST sys/auth/<path>`: approle or kubernetes. */
export function authMethodSpec(core: EmulatorCore, path: string, type: string, rawOptions: unknown, description: string): MountSpec {
  const options = stringOptions(rawOptions);
  const normalized = `${path.replace(/^\/+|\/+$/g, '')}/`;
  let backend: Backend;
  if (type === 'approle') backend = appRoleBackend(core, normalized);
  else if (type === 'kubernetes') backend = kubernetesBackend(core, normalized);
  else if (type === 'token') throw badRequest('token credential backend cannot be instantiated');
  else throw badRequest(`plugin not found in the catalog: ${type}`);
  return {
    path,
    type,
    description,
    options: Object.keys(options).length > 0 ? options : null,
    backend,
    runningVersion: type === 'kubernetes' ? 'v0.20.0+builtin' : `v${EMULATED_VERSION}+builtin.vault`,
  };
}

/** Mounts what `vault server -dev` starts with. */
export function mountDevDefaults(core: EmulatorCore, sysBackend: Backend): void {
  core.secretMounts.add({
    path: 'cubbyhole/',
    type: 'cubbyhole',
    description: 'per-token private secret storage',
    options: null,
    backend: EMPTY_BACKEND,
    runningVersion: `v${EMULATED_VERSION}+builtin.vault`,
  });
  core.secretMounts.add({
    path: 'identity/',
    type: 'identity',
    description: 'identity store',
    options: null,
    backend: EMPTY_BACKEND,
    runningVersion: `v${EMULATED_VERSION}+builtin.vault`,
  });
  core.secretMounts.add(secretEngineSpec('secret/', 'kv', { version: '2' }, 'key/value secret storage'));
  core.secretMounts.add({
    path: 'sys/',
    type: 'system',
    description: 'system endpoints used for control, policy and debugging',
    options: null,
    backend: sysBackend,
    runningVersion: `v${EMULATED_VERSION}+builtin.vault`,
  });
  core.authMounts.add({
    path: 'token/',
    type: 'token',
    description: 'token based credentials',
    options: null,
    backend: tokenBackend(core),
    runningVersion: `v${EMULATED_VERSION}+builtin.vault`,
  });
}

/** Vault keeps mount options as a string map. */
function stringOptions(raw: unknown): Record<string, string> {
  if (!raw || typeof raw !== 'object') return {};
  return Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}
