/**
 * Helpers for the Vault session / KV integration suites: building a VaultConfig for a
 * target, recording events (and proving no secret or token ever appears in them), polling,
 * a port with nothing listening, and revoking the tokens an auth mount issued.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VaultConfig } from '../../proxy/src/config/schema';
import { ProxyEvents, type AuthEvent, type CacheEvent, type VaultCallEvent } from '../../proxy/src/observability/events';
import { vaultCall } from './vault-setup';
import type { VaultTarget } from './vault-target';

/** A validated-shape VaultConfig pointing at the target, with test-friendly defaults. */
export function vaultConfig(target: Pick<VaultTarget, 'address'>, overrides: Partial<VaultConfig> & Pick<VaultConfig, 'auth'>): VaultConfig {
  return { address: target.address, kvMount: 'secret', timeoutMs: 10_000, renewFraction: 2 / 3, ...overrides };
}

/** Every event of one bus, in order. */
export interface EventLog {
  events: ProxyEvents;
  calls: VaultCallEvent[];
  auth: AuthEvent[];
  cache: CacheEvent[];
  /** Everything recorded, serialised: for "never contains X" assertions. */
  text(): string;
}

/** Subscribes to every event of `events` (a new bus by default). */
export function recordEvents(events: ProxyEvents = new ProxyEvents()): EventLog {
  const log: EventLog = {
    events,
    calls: [],
    auth: [],
    cache: [],
    text: () => JSON.stringify({ calls: log.calls, auth: log.auth, cache: log.cache }),
  };
  events.on('vault:call', (e) => log.calls.push(e));
  events.on('vault:auth', (e) => log.auth.push(e));
  events.on('secret:cache', (e) => log.cache.push(e));
  return log;
}

/**
 * Polls every `pollMs` until `check` is true; fails with `what` after `timeoutMs`, so a broken
 * test ends. The deadline is for broken code, not a pace: a passing wait returns as soon as the
 * check holds, so the default is long enough for a machine busy with other work.
 */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Whether an async `check` comes true before `timeoutMs` (polled every 100 ms). For outcomes
 * that need a request or a Vault read to observe; the caller asserts the result. The default
 * deadline is for a loaded machine, not a pace.
 */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A loopback port that was just bound and released: nothing listens there. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A loopback HTTP server that records every request it gets (a would-be redirect target). */
export interface RecordingServer {
  url: string;
  received: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** Starts a RecordingServer on an ephemeral loopback port. */
export async function startRecordingServer(): Promise<RecordingServer> {
  const received: RecordingServer['received'] = [];
  const server: Server = createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"data":{"token":"from-the-wrong-host"}}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Revokes every token issued by logins at `auth/<authMount>/` (listing accessors with the
 * root token); works on the emulator and on a real Vault, touching only that mount's tokens.
 */
export async function revokeTokensIssuedBy(target: VaultTarget, authMount: string): Promise<number> {
  const list = await vaultCall<{ data: { keys: string[] } }>(target, 'GET', 'auth/token/accessors?list=true');
  let revoked = 0;
  for (const accessor of list.data.keys) {
    const info = await vaultCall<{ data: { path: string } }>(target, 'POST', 'auth/token/lookup-accessor', { accessor });
    if (info.data.path.startsWith(`auth/${authMount}/`)) {
      await vaultCall(target, 'POST', 'auth/token/revoke-accessor', { accessor });
      revoked += 1;
    }
  }
  return revoked;
}
