/**
 * What a token command changed in an existing client's record, as the admin reads it on
 * stderr: the services and the token ids before → after, and each token added, cut short or
 * removed. Ids, times and service names only; a record's hashes never appear.
 */
import type { StoredToken, TokenRecord } from '../../auth/vault-records/record';
import { describeWorkflowChange } from './workflow-grants';

/** One client's record before and after a write, token by token. */
export interface RecordChange {
  client: string;
  servicesBefore: readonly string[];
  servicesAfter: readonly string[];
  /** The per-service workflow rules before and after (absent: none). */
  workflowsBefore?: TokenRecord['workflows'];
  workflowsAfter?: TokenRecord['workflows'];
  tokensBefore: readonly string[];
  tokensAfter: readonly string[];
  added: StoredToken[];
  /** Tokens still in the record whose expiry moved earlier (a rotation's grace, or ended now). */
  ended: Array<{ id: string; expiresAt: string | null; was: string | null }>;
  /** Tokens no longer in the record: revoked, or pruned long after they expired. */
  removed: Array<{ id: string; expiredAt: string | null }>;
}

/** Compares the record as read with the record as written (`now` tells a pruned token from a revoked one). */
export function diffRecords(client: string, before: TokenRecord, after: TokenRecord, now: number): RecordChange {
  const beforeById = new Map(before.tokens.map((token) => [token.id, token]));
  const afterIds = new Set(after.tokens.map((token) => token.id));
  const ended: RecordChange['ended'] = [];
  for (const token of after.tokens) {
    const was = beforeById.get(token.id);
    if (was !== undefined && was.expiresAt !== token.expiresAt) ended.push({ id: token.id, expiresAt: token.expiresAt, was: was.expiresAt });
  }
  return {
    client,
    servicesBefore: before.services,
    servicesAfter: after.services,
    workflowsBefore: before.workflows,
    workflowsAfter: after.workflows,
    tokensBefore: before.tokens.map((token) => token.id),
    tokensAfter: after.tokens.map((token) => token.id),
    added: after.tokens.filter((token) => !beforeById.has(token.id)),
    ended,
    removed: before.tokens
      .filter((token) => !afterIds.has(token.id))
      .map((token) => ({ id: token.id, expiredAt: token.expiresAt !== null && Date.parse(token.expiresAt) <= now ? token.expiresAt : null })),
  };
}

function names(list: readonly string[]): string {
  return list.length === 0 ? '(none)' : list.join(', ');
}

function beforeAfter(before: readonly string[], after: readonly string[]): string {
  const same = before.length === after.length && before.every((item, i) => item === after[i]);
  return same ? `${names(after)} (unchanged)` : `${names(before)} → ${names(after)}`;
}

/** The lines printed on stderr for a change to an existing client's record. */
export function describeChange(change: RecordChange): string[] {
  return [
    `client "${change.client}", before → after:`,
    `  services: ${beforeAfter(change.servicesBefore, change.servicesAfter)}`,
    ...[describeWorkflowChange(change.workflowsBefore, change.workflowsAfter)].filter((line) => line !== null),
    `  tokens:   ${beforeAfter(change.tokensBefore, change.tokensAfter)}`,
    ...change.added.map((token) => `  + token ${token.id} added, ${token.expiresAt === null ? 'never expires' : `expires ${token.expiresAt}`}`),
    ...change.ended.map((token) => `  ~ token ${token.id} now expires ${token.expiresAt ?? 'never'} (was ${token.was ?? 'never'})`),
    ...change.removed.map((token) =>
      token.expiredAt === null ? `  - token ${token.id} revoked` : `  - token ${token.id} removed (expired ${token.expiredAt}, kept 7 days)`,
    ),
  ];
}
