/**
 * An in-memory Vault HTTP-API emulator, behaving like `vault server -dev` (status codes,
 * JSON bodies, headers) for what the proxy uses: KV v1/v2, tokens, AppRole, Kubernetes auth
 * (without signature checks), ACL policies, mounts, seal/unseal, health and rate limit
 * quotas. Dev mode uses it as its secret store; the test suites use it when no real Vault
 * is configured. It listens on loopback by default and is NOT a secure secret store.
 *
 * The modules behind it live in ./vault-emulator/ (one job each: pipeline, logical layer,
 * ACL, tokens, KV engines, auth methods, sys, quotas, faults).
 */
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { FaultState, type VaultFaults } from './vault-emulator/faults';
import { createPipeline, type RequestRecord } from './vault-emulator/server';
import { createCore } from './vault-emulator/state';
import { newTokenId } from './vault-emulator/tokens';

/** Fault knobs of a running emulator (latency, standby redirect, canned failures). */
export type { VaultFaults } from './vault-emulator/faults';

/** Where the emulator listens and which root token it accepts. */
export interface VaultEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default: a random `hvs.` + 24 characters, like a dev server's root token. */
  rootToken?: string;
  /** Serve HTTPS with this PEM certificate and key (to prove a client's CA settings); default plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** A running emulator. */
export interface VaultEmulator {
  /** Base URL, e.g. http://127.0.0.1:43123 (VAULT_ADDR form, without /v1). */
  readonly url: string;
  readonly rootToken: string;
  /** The dev unseal key (base64) that `PUT sys/unseal` accepts after `PUT sys/seal`. */
  readonly unsealKey: string;
  /** Test-only knobs for what the real Vault API cannot express. */
  readonly faults: VaultFaults;
  /** Every request received (path without query), for counting Vault calls. */
  readonly requests: ReadonlyArray<{ method: string; path: string; at: number }>;
  clearRequests(): void;
  /** Closes the server and every open socket, so a test runner can exit. */
  close(): Promise<void>;
}

/** Starts an emulator; resolves once it listens. */
export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const host = options.host ?? '127.0.0.1';
  const rootToken = options.rootToken ?? newTokenId();
  const core = createCore(rootToken);
  const faults = new FaultState();
  const requests: RequestRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const pipeline = createPipeline({ core, faults, requests, sleep });
  const server = options.tls === undefined ? createServer(pipeline) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, pipeline);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const scheme = options.tls === undefined ? 'http' : 'https';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
      // Requests parked in an injected delay would otherwise hold the event loop open.
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    });
    return closing;
  };

  return {
    url,
    rootToken,
    unsealKey: core.unsealKey,
    faults,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    close,
  };
}
