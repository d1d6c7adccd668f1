/**
 * The token directory's re-reads on a miss, against an in-memory record store whose reads the
 * test holds and releases, so the order of "read started", "token written" and "token used"
 * is exact. The integration suites (token-lifecycle, token-rotation-load) cover the same
 * paths against the Vault emulator, where this order is left to timing.
 */
import { generateToken, type GeneratedToken } from '../../../proxy/src/auth/token-format';
import { createLogger, createMemoryTransport } from '../../../proxy/src/observability/logger';
import { ProxyEvents } from '../../../proxy/src/observability/events';
import { SecretRedactor } from '../../../proxy/src/observability/redaction';
import { TokenStoreDirectory } from '../../../proxy/src/auth/vault-records/directory';
import type { StoredRecord, TokenRecordStore } from '../../../proxy/src/auth/vault-records/kv-records';

const INTERVAL_MS = 1000;

/** Records in memory; each `listClients` waits until the test releases it. */
class HeldStore implements TokenRecordStore {
  readonly location = 'kv/secure-proxy/clients';
  readonly records = new Map<string, unknown>();
  lists = 0;
  private readonly held: Array<() => void> = [];

  listClients(): Promise<string[]> {
    this.lists += 1;
    const names = [...this.records.keys()];
    // The names are taken when the read starts: a record written after that is not in this read.
    return new Promise((resolve) => this.held.push(() => resolve(names)));
  }

  async read(client: string): Promise<StoredRecord> {
    return { raw: this.records.get(client) ?? null, casVersion: 1 };
  }

  async write(): Promise<void> {
    throw new Error('not used');
  }

  /** Lets every read started so far finish. */
  async releaseAll(): Promise<void> {
    while (this.held.length > 0) this.held.shift()!();
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  add(client: string, token: GeneratedToken): void {
    const now = new Date().toISOString();
    this.records.set(client, { services: ['echo'], tokens: [{ id: token.id, hash: token.hash, createdAt: now, expiresAt: null }] });
  }
}

function directoryWith(store: HeldStore, clock: { now: number }): TokenStoreDirectory {
  return new TokenStoreDirectory({
    config: { path: 'secure-proxy/clients', refreshSeconds: 3600, missRefreshIntervalMs: INTERVAL_MS },
    staticClients: {},
    knownServices: new Set(['echo']),
    store,
    events: new ProxyEvents(),
    logger: createLogger({ level: 'error', redactor: new SecretRedactor(), transports: [createMemoryTransport()] }),
    now: () => clock.now,
  });
}

/** Waits for a miss's re-read while releasing every read it starts. */
async function settleMiss(store: HeldStore, pending: Promise<void> | null): Promise<void> {
  expect(pending).not.toBeNull();
  let done = false;
  void pending!.then(() => (done = true));
  while (!done) await store.releaseAll();
}

describe('TokenStoreDirectory re-reads on a miss', () => {
  let store: HeldStore;
  let directory: TokenStoreDirectory;
  const clock = { now: 0 };

  beforeEach(async () => {
    store = new HeldStore();
    clock.now = 1_000_000;
    directory = directoryWith(store, clock);
    const start = directory.start();
    await store.releaseAll();
    await start;
  });

  afterEach(() => directory.stop());

  it('a token written while a scheduled read runs is found by a re-read that starts after the miss', async () => {
    clock.now += 10 * INTERVAL_MS;
    const scheduled = directory.refresh('schedule');
    const token = generateToken();
    store.add('n8n', token); // written after the scheduled read listed the records
    expect(directory.lookup(token.token)).toEqual({ ok: false, reason: 'unknown' });

    await settleMiss(store, directory.refreshAfterMiss());
    await scheduled;

    expect(directory.lookup(token.token)).toMatchObject({ ok: true, client: { id: 'n8n', tokenId: token.id } });
    expect(store.lists).toBe(3); // start, schedule, and the miss's own re-read
  });

  it('a scheduled read does not hold off the next miss re-read', async () => {
    clock.now += 10 * INTERVAL_MS;
    const scheduled = directory.refresh('schedule');
    await store.releaseAll();
    await scheduled;
    const token = generateToken();
    store.add('n8n', token);

    await settleMiss(store, directory.refreshAfterMiss()); // right after the scheduled read

    expect(directory.lookup(token.token)).toMatchObject({ ok: true });
  });

  it('misses within missRefreshIntervalMs of the last miss re-read get none: a flood costs one read per interval', async () => {
    clock.now += 10 * INTERVAL_MS;
    await settleMiss(store, directory.refreshAfterMiss());
    const listsAfterFirst = store.lists;

    clock.now += INTERVAL_MS - 1;
    for (let i = 0; i < 200; i++) expect(directory.refreshAfterMiss()).toBeNull();
    expect(store.lists).toBe(listsAfterFirst);

    clock.now += 1;
    await settleMiss(store, directory.refreshAfterMiss());
    expect(store.lists).toBe(listsAfterFirst + 1);
  });

  it('misses waiting on a running read share one re-read after it', async () => {
    clock.now += 10 * INTERVAL_MS;
    const scheduled = directory.refresh('schedule');
    const waiting = Array.from({ length: 50 }, () => directory.refreshAfterMiss());
    expect(waiting.filter((read) => read === null)).toHaveLength(0);
    await settleMiss(
      store,
      Promise.all(waiting as Promise<void>[]).then(() => undefined),
    );
    await scheduled;
    expect(store.lists).toBe(3); // start, schedule, one shared miss re-read
  });
});
