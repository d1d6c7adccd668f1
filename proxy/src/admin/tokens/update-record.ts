/**
 * Read-modify-write of one client's record with KV v2 check-and-set: the write names the
 * version it read, so two admins (or a cron job and an admin) rotating at once cannot lose
 * each other's token. When Vault refuses because the record moved on, the change is applied
 * again to the newer record (p-retry, a few quick attempts with jitter).
 *
 * KV v1 has no check-and-set: writes there are last-writer-wins, which the caller is told.
 */
import pRetry from 'p-retry';
import { TokenStoreError, type TokenRecordStore } from '../../auth/vault-records/kv-records';
import { parseTokenRecord, type TokenRecord } from '../../auth/vault-records/record';
import { TokenAdminFailure } from './errors';
import { prune } from './record-math';

/** Attempts after the first when the record keeps moving under us. */
const CONFLICT_RETRIES = 4;

/** The record changed between our read and our write. */
class RecordMoved extends Error {}

/** What a change decides: the record to write (null: write nothing), and what to report once it is written. */
export interface RecordChange<T> {
  record: TokenRecord | null;
  result: T;
}

export interface UpdateOutcome<T> {
  result: T;
  /** False on KV v1, where the write could not be checked against concurrent writers. */
  checkedAndSet: boolean;
  /** The record as read (null: there was none) and as written, pruned (null: nothing was written). */
  before: TokenRecord | null;
  after: TokenRecord | null;
  /** The time the change was computed with. */
  now: number;
}

/**
 * Applies `change` to the client's current record (null when there is none) and writes the
 * result, pruning long-expired tokens; a change that returns no record writes nothing.
 * `change` may throw to refuse (it is not retried).
 */
export async function updateRecord<T>(
  store: TokenRecordStore,
  client: string,
  change: (current: TokenRecord | null, now: number) => RecordChange<T>,
): Promise<UpdateOutcome<T>> {
  let refusedAtVersion: number | null = null;
  return pRetry(
    async () => {
      const stored = await store.read(client);
      if (refusedAtVersion !== null && stored.casVersion === refusedAtVersion) {
        // Refused although nobody else wrote: not a conflict, so trying again cannot help.
        throw new TokenAdminFailure(
          `Vault refused: writing the record of client "${client}" was rejected (400) although it did not change; check the mount's KV settings`,
        );
      }
      let current: TokenRecord | null = null;
      if (stored.raw !== null) {
        const parsed = parseTokenRecord(stored.raw);
        if (!parsed.ok) {
          throw new TokenAdminFailure(
            `the record of client "${client}" in ${store.location} is malformed (${parsed.problems.join('; ')}); fix it in Vault or delete it, then try again`,
          );
        }
        current = parsed.record;
      }
      const now = Date.now();
      const { record, result } = change(current, now);
      const checkedAndSet = stored.casVersion !== null;
      if (record === null) return { result, checkedAndSet, before: current, after: null, now };
      const written = prune(record, now);
      try {
        await store.write(client, written, stored.casVersion);
      } catch (err) {
        if (err instanceof TokenStoreError && err.failure?.kind === 'bad_request' && stored.casVersion !== null) {
          refusedAtVersion = stored.casVersion;
          throw new RecordMoved(`the record of client "${client}" changed while it was being written`);
        }
        throw err;
      }
      return { result, checkedAndSet, before: current, after: written, now };
    },
    {
      retries: CONFLICT_RETRIES,
      minTimeout: 10,
      maxTimeout: 200,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof RecordMoved,
    },
  ).catch((err: unknown) => {
    if (err instanceof RecordMoved) {
      throw new TokenAdminFailure(`${err.message} ${CONFLICT_RETRIES + 1} times in a row (others are writing it right now); run the command again`);
    }
    throw err;
  });
}
