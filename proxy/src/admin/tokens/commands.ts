/**
 * The token lifecycle operations behind `secure-proxy token create | rotate | revoke | list`,
 * on an open record store. Each checks its arguments against the proxy config first, then
 * changes one client's record through a check-and-set update. New tokens go to their sink
 * only after Vault accepted the record holding their hash; the token itself is never
 * returned to the caller, logged or kept. Every change to an existing record is reported as
 * a RecordChange (before → after), which the CLI prints.
 */
import { generateToken } from '../../auth/token-format';
import { NAME_SHAPE, type ProxyConfig } from '../../config/schema';
import type { TokenRecordStore } from '../../auth/vault-records/kv-records';
import { emptyRecord, parseTokenRecord, type StoredToken, type TokenRecord } from '../../auth/vault-records/record';
import { didYouMean } from '../../shared/suggest';
import { TokenAdminFailure, TokenAdminUsageError } from './errors';
import { addToken, grant, inheritedTtl, revokeAll, revokeById, rotate } from './record-math';
import { diffRecords, type RecordChange } from './record-diff';
import type { TokenSink } from './token-output';
import { updateRecord, type UpdateOutcome } from './update-record';
import { applyWorkflowRules, type WorkflowRuleChanges } from './workflow-grants';

/** Where the new token's lifetime came from: --ttl, the client's newest token, or the default. */
export type TtlSource = { from: 'flag' | 'default' } | { from: 'stored' | 'span'; tokenId: string };

/** What an issuing command reports (never the token). */
export interface IssuedReport {
  client: string;
  id: string;
  expiresAt: string | null;
  services: readonly string[];
  /** The record before → after; null when the command created the client's record. */
  change: RecordChange | null;
  ttl: TtlSource;
  /** `create --add --services`: services the record keeps although --services did not name them (--add never removes). */
  kept: readonly string[];
  checkedAndSet: boolean;
}

/** Refuses client names the proxy would not serve from Vault. */
export function checkClientName(config: ProxyConfig, client: string): void {
  if (!NAME_SHAPE.test(client)) {
    throw new TokenAdminUsageError(`--client must be 1-64 letters, digits, ".", "_" and "-", starting with a letter or digit, got "${client}"`);
  }
  if (Object.hasOwn(config.clients, client)) {
    throw new TokenAdminUsageError(
      `client "${client}" is defined in the config file's clients, which wins over a Vault record; pick another name or remove it there`,
    );
  }
}

/**
 * Refuses services that are neither defined by the proxy config nor in `alsoKnown` (the
 * record's own services, which ungrant may remove after the config dropped them), naming
 * every unknown one and the closest known name.
 */
export function checkServices(config: ProxyConfig, services: readonly string[], alsoKnown: readonly string[] = []): void {
  if (services.length === 0) throw new TokenAdminUsageError('--services must name at least one service, e.g. --services github,stripe');
  const known = new Set([...Object.keys(config.services), ...alsoKnown]);
  const unknown = services.filter((service) => !known.has(service));
  if (unknown.length > 0) {
    const defined = Object.keys(config.services).sort().join(', ') || 'none';
    const named = unknown.map((service) => `"${service}"${didYouMean(service, known)}`);
    throw new TokenAdminUsageError(`unknown service${unknown.length > 1 ? 's' : ''} ${named.join(', ')}; the config defines: ${defined}`);
  }
}

/** The before → after of a write to an existing record; null when the record is new or nothing was written. */
export function changeOf(client: string, outcome: UpdateOutcome<unknown>): RecordChange | null {
  return outcome.before === null || outcome.after === null ? null : diffRecords(client, outcome.before, outcome.after, outcome.now);
}

interface Issued {
  record: TokenRecord;
  ttl: TtlSource;
  kept?: readonly string[];
}

/** Generates a token, stores its hash through `change`, then hands the token to the sink. */
async function issue(
  store: TokenRecordStore,
  sink: TokenSink,
  client: string,
  change: (current: TokenRecord | null, now: number, token: { id: string; hash: string }) => Issued,
): Promise<IssuedReport> {
  const generated = generateToken();
  const { id, hash } = generated;
  let outcome;
  try {
    outcome = await updateRecord(store, client, (current, now) => {
      const changed = change(current, now, { id, hash });
      return { record: changed.record, result: changed };
    });
  } catch (err) {
    await sink.abandon();
    throw err;
  }
  await sink.deliver(generated.token);
  const { record, ttl, kept } = outcome.result;
  return {
    client,
    id,
    expiresAt: record.tokens.find((t) => t.id === id)?.expiresAt ?? null,
    services: record.services,
    change: changeOf(client, outcome),
    ttl,
    kept: kept ?? [],
    checkedAndSet: outcome.checkedAndSet,
  };
}

export interface CreateOptions {
  client: string;
  /** Required for a new client; with `add`, granted in addition to the client's services (never replacing them). */
  services: string[] | undefined;
  ttlMs: number | null;
  add: boolean;
  /** `--workflows`: narrows services to listed workflows (their services are granted too). */
  workflows?: WorkflowRuleChanges;
}

/**
 * `token create`: a new client record with one token, or (`add`) one more token for a client.
 * `--add --services` merges: the named services are granted on top of the record's, none is
 * removed (removing is `token ungrant`), so a script that repeats its original create line
 * can never cut a running n8n off a service.
 */
export function createToken(config: ProxyConfig, store: TokenRecordStore, sink: TokenSink, options: CreateOptions): Promise<IssuedReport> {
  checkClientName(config, options.client);
  if (options.services !== undefined) checkServices(config, options.services);
  else if (!options.add) throw new TokenAdminUsageError('--services is required for a new client, e.g. --services github,stripe');
  return issue(store, sink, options.client, (current, now, token) => {
    if (current !== null && !options.add) {
      throw new TokenAdminUsageError(
        `client "${options.client}" already has a record; use --add to give it another token, "token grant" to change its services, or "token rotate" to replace its tokens`,
      );
    }
    if (current === null && options.services === undefined) {
      throw new TokenAdminUsageError(`client "${options.client}" has no record yet; pass --services to create it`);
    }
    const requested = options.services ?? [];
    const base = current === null ? emptyRecord(requested) : grant(current, requested).record;
    const kept = current === null || options.services === undefined ? [] : current.services.filter((service) => !requested.includes(service));
    const narrowed = applyWorkflowRules(base, options.workflows ?? {});
    return { record: addToken(narrowed, token, now, options.ttlMs), ttl: { from: 'flag' }, kept };
  });
}

export interface RotateOptions {
  client: string;
  graceMs: number;
  /** undefined: the lifetime of the client's newest token, else `defaultTtlMs`. */
  ttlMs: number | null | undefined;
  defaultTtlMs: number | null;
}

/** `token rotate`: a new token now; older valid tokens end after the grace period. */
export function rotateToken(config: ProxyConfig, store: TokenRecordStore, sink: TokenSink, options: RotateOptions): Promise<IssuedReport> {
  checkClientName(config, options.client);
  return issue(store, sink, options.client, (current, now, token) => {
    if (current === null) throw new TokenAdminFailure(`client "${options.client}" has no record in ${store.location}; create it with "token create"`);
    let ttlMs = options.ttlMs;
    let ttl: TtlSource = { from: 'flag' };
    if (ttlMs === undefined) {
      const inherited = inheritedTtl(current);
      ttlMs = inherited.from === 'none' ? options.defaultTtlMs : inherited.ttlMs;
      ttl = inherited.from === 'none' ? { from: 'default' } : { from: inherited.from, tokenId: inherited.tokenId };
    }
    return { record: rotate(current, token, now, options.graceMs, ttlMs), ttl };
  });
}

function parseRecordOrNull(raw: unknown): TokenRecord | null {
  if (raw === null) return null;
  const parsed = parseTokenRecord(raw);
  return parsed.ok ? parsed.record : null;
}

export interface RevokedReport {
  client: string;
  revoked: StoredToken[];
  /** The record before → after; null when nothing was written. */
  change: RecordChange | null;
}

/** `token revoke --id`: finds the client holding the token and removes it. */
export async function revokeTokenById(store: TokenRecordStore, id: string): Promise<RevokedReport> {
  for (const client of await store.listClients()) {
    // A malformed record is skipped: the proxy accepts none of its tokens anyway. Vault failures end the search.
    const parsed = parseRecordOrNull((await store.read(client)).raw);
    if (parsed?.tokens.some((t) => t.id === id) !== true) continue;
    const outcome = await updateRecord(store, client, (current) => {
      // Deleted since the search: writing would bring the record back, empty, so nothing is written.
      if (current === null) return { record: null, result: [] };
      const change = revokeById(current, id);
      return { record: change.record, result: change.revoked };
    });
    if (outcome.result.length > 0) return { client, revoked: outcome.result, change: changeOf(client, outcome) };
  }
  throw new TokenAdminFailure(`no token with id "${id}" in ${store.location}`);
}

/** `token revoke --client --all`: removes every token of the client; its record (services) stays. */
export async function revokeAllTokens(config: ProxyConfig, store: TokenRecordStore, client: string): Promise<RevokedReport> {
  checkClientName(config, client);
  const outcome = await updateRecord(store, client, (current) => {
    if (current === null) throw new TokenAdminFailure(`client "${client}" has no record in ${store.location}`);
    const change = revokeAll(current);
    return { record: change.record, result: change.revoked };
  });
  return { client, revoked: outcome.result, change: changeOf(client, outcome) };
}

/** One client's tokens for `token list`, or why its record cannot be shown. */
export type ListedClient = { client: string; tokens: StoredToken[]; problem: null } | { client: string; tokens: []; problem: string };

/** `token list`: every client's tokens (or one client's). */
export async function listTokens(store: TokenRecordStore, client: string | undefined): Promise<ListedClient[]> {
  const names = client === undefined ? await store.listClients() : [client];
  const listed: ListedClient[] = [];
  for (const name of names) {
    const stored = await store.read(name);
    if (stored.raw === null) {
      if (client !== undefined) listed.push({ client: name, tokens: [], problem: 'no record' });
      continue;
    }
    const parsed = parseTokenRecord(stored.raw);
    listed.push(
      parsed.ok
        ? { client: name, tokens: parsed.record.tokens, problem: null }
        : { client: name, tokens: [], problem: `malformed record: ${parsed.problems.join('; ')}` },
    );
  }
  return listed;
}
