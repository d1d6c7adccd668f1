/**
 * The token records of `secure-proxy check` (when `tokenStore` is set): listed and read with
 * the proxy's own Vault login, so a policy that lacks `list` or `read` shows here and not in
 * production. Each record is judged by the code the proxy serves it with (grantsFromRecords,
 * expiryWindow): a record the proxy would refuse, or whose tokens all expired, is a problem;
 * tokens expiring within tokenExpiryWarningSeconds and services the config does not define
 * are warnings. Ids, dates and names only, never a hash.
 */
import { expiryWindow } from '../../auth/expiry-window';
import type { ClientTokens, TokenExpiry } from '../../auth/token-index';
import { grantsFromRecords } from '../../auth/vault-records/grants';
import { createTokenRecordStore, TokenStoreError, type TokenRecordStore } from '../../auth/vault-records/kv-records';
import type { ProxyConfig, TokenStoreConfig } from '../../config/schema';
import type { KvSession, KvVersion } from '../../vault/kv';
import type { CheckProblem, TokenClientReport, TokenStoreReport } from './report';

function problemOf(err: unknown): CheckProblem {
  if (!(err instanceof TokenStoreError)) throw err;
  return { code: err.forbidden ? 'VAULT_FORBIDDEN' : 'VAULT_UNAVAILABLE', message: err.message };
}

/** The report of a token store that was not read (the Vault login failed). */
export function tokenStoreNotChecked(config: ProxyConfig, tokenStore: TokenStoreConfig, why: CheckProblem): TokenStoreReport {
  return { location: `${config.vault.kvMount}/${tokenStore.path}`, ok: false, error: why, expiryWarningSeconds: config.tokenExpiryWarningSeconds, clients: [] };
}

interface ReadRecords {
  records: Array<{ client: string; raw: unknown }>;
  unreadable: TokenClientReport[];
}

async function readRecords(store: TokenRecordStore, names: readonly string[]): Promise<ReadRecords> {
  const records: ReadRecords['records'] = [];
  const unreadable: TokenClientReport[] = [];
  for (const client of names) {
    try {
      records.push({ client, raw: (await store.read(client)).raw });
    } catch (err) {
      const problem = problemOf(err);
      unreadable.push({ ...emptyClient(client), ok: false, code: problem.code, message: `${problem.message}; the proxy refuses this client's tokens` });
    }
  }
  return { records, unreadable };
}

function emptyClient(client: string): TokenClientReport {
  return { client, ok: true, code: null, message: null, services: [], validTokens: 0, expiringSoon: [], expiredTokens: 0, nextExpiry: null };
}

/** One served client: its valid, expiring and expired tokens at `now`. */
function clientReport(client: ClientTokens, now: number, windowSeconds: number, warnings: string[]): TokenClientReport {
  const tokens: TokenExpiry[] = client.tokens.map((token) => ({
    clientId: client.clientId,
    tokenId: token.id,
    expiresAt: token.expiresAt,
    fromConfigFile: false,
    replacedBy: token.replacedBy ?? null,
  }));
  const window = expiryWindow(tokens, now, windowSeconds * 1000);
  const standing = window.clients[0];
  const expired = tokens.filter((token) => token.expiresAt !== null && token.expiresAt.getTime() <= now).length;
  const valid = tokens.length - expired;
  const report: TokenClientReport = {
    ...emptyClient(client.clientId),
    services: [...client.services],
    validTokens: valid,
    expiringSoon: window.expiring.map((token) => ({ id: token.tokenId, expiresAt: (token.expiresAt as Date).toISOString(), replacedBy: token.replacedBy })),
    expiredTokens: expired,
    nextExpiry: standing === undefined || standing.earliestExpiryMs === null ? null : new Date(standing.earliestExpiryMs).toISOString(),
  };
  const name = `client "${client.clientId}"`;
  if (tokens.length === 0) {
    warnings.push(`${name} has no tokens (all revoked); issue one with secure-proxy token create --client ${client.clientId} --add`);
  } else if (valid === 0) {
    report.ok = false;
    report.code = 'PROXY_TOKEN_EXPIRED';
    report.message = `every token of ${name} has expired; issue a new one with secure-proxy token rotate --client ${client.clientId}, or delete the record`;
  }
  for (const token of report.expiringSoon) {
    // A token a rotation replaced ends on purpose: nothing to warn about.
    if (token.replacedBy === null) {
      warnings.push(
        `${name}: token ${token.id ?? '(no id)'} expires at ${token.expiresAt}; rotate it with secure-proxy token rotate --client ${client.clientId}`,
      );
    }
  }
  return report;
}

/** Lists and reads every record with the check's session and judges each one. */
export async function checkTokenStore(
  config: ProxyConfig,
  tokenStore: TokenStoreConfig,
  session: KvSession,
  kvVersion: KvVersion | undefined,
  now: number,
  warnings: string[],
): Promise<TokenStoreReport> {
  const store = createTokenRecordStore(session, { mount: config.vault.kvMount, path: tokenStore.path, version: kvVersion });
  const base = { location: store.location, expiryWarningSeconds: config.tokenExpiryWarningSeconds };
  let names: string[];
  try {
    names = await store.listClients();
  } catch (err) {
    return { ...base, ok: false, error: problemOf(err), clients: [] };
  }
  const { records, unreadable } = await readRecords(store, names);
  const { clients, problems } = grantsFromRecords({
    staticClients: new Set(Object.keys(config.clients)),
    knownServices: new Set(Object.keys(config.services)),
    records,
  });
  const reports = [...unreadable, ...clients.map((client) => clientReport(client, now, config.tokenExpiryWarningSeconds, warnings))];
  for (const problem of problems) {
    if (problem.kind === 'malformed') {
      reports.push({ ...emptyClient(problem.client), ok: false, code: 'PROXY_TOKEN_INVALID', message: problem.message });
    } else {
      warnings.push(`token record of client "${problem.client}": ${problem.message}`);
    }
  }
  reports.sort((a, b) => a.client.localeCompare(b.client));
  return { ...base, ok: reports.every((client) => client.ok), error: null, clients: reports };
}
