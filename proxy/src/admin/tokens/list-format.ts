/**
 * `token list` output: a table for people, JSON for scripts. Ids, times and states only (a
 * token a rotation cut short says so, and which token replaced it),
 * never a hash. When a token was last used is not in the records (the proxy's audit log and
 * metrics know it), so that column says so with "—".
 */
import { humanDuration } from './durations';
import type { ListedClient } from './commands';
import { tokenState, type TokenState } from './record-math';

const UNKNOWN = '—';

interface Row {
  client: string;
  id: string;
  createdAt: string | null;
  expiresAt: string | null;
  state: string;
  /** The token that replaced this one when a rotation cut it short (JSON only). */
  replacedBy: string | null;
}

function describeState(state: TokenState): string {
  switch (state.state) {
    case 'expiring':
      return `expiring in ${humanDuration(state.inMs)}`;
    case 'rotated':
      // Its grace period: nothing to do unless something still uses it.
      return `rotated${state.replacedBy === null ? '' : ` to ${state.replacedBy}`}, ends in ${humanDuration(state.inMs)}`;
    default:
      return state.state;
  }
}

function rowsOf(listed: readonly ListedClient[], now: number): Row[] {
  const rows: Row[] = [];
  for (const entry of listed) {
    if (entry.problem !== null) {
      rows.push({ client: entry.client, id: UNKNOWN, createdAt: null, expiresAt: null, state: entry.problem, replacedBy: null });
      continue;
    }
    if (entry.tokens.length === 0) rows.push({ client: entry.client, id: UNKNOWN, createdAt: null, expiresAt: null, state: 'no tokens', replacedBy: null });
    for (const token of entry.tokens) {
      const state = tokenState(token, now);
      rows.push({
        client: entry.client,
        id: token.id,
        createdAt: token.createdAt,
        expiresAt: token.expiresAt,
        state: describeState(state),
        replacedBy: token.replacedBy ?? null,
      });
    }
  }
  return rows;
}

/** A fixed-width table with a header line. */
export function formatListText(listed: readonly ListedClient[], now: number = Date.now()): string {
  const header = ['CLIENT', 'ID', 'CREATED', 'EXPIRES', 'STATE', 'LAST USED'];
  const lines = rowsOf(listed, now).map((row) => [
    row.client,
    row.id,
    row.createdAt ?? UNKNOWN,
    row.expiresAt ?? (row.createdAt === null ? UNKNOWN : 'never'),
    row.state,
    UNKNOWN,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  return (
    [header, ...lines]
      .map((line) =>
        line
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** One JSON document: `{"tokens": [{client, id, createdAt, expiresAt, state, replacedBy, lastUsed: null}], "problems": [...]}`. */
export function formatListJson(listed: readonly ListedClient[], now: number = Date.now()): string {
  const tokens = rowsOf(
    listed.filter((entry) => entry.problem === null),
    now,
  )
    .filter((row) => row.id !== UNKNOWN)
    .map((row) => ({ ...row, lastUsed: null }));
  const problems = listed.filter((entry) => entry.problem !== null).map((entry) => ({ client: entry.client, problem: entry.problem }));
  return `${JSON.stringify({ tokens, problems }, null, 2)}\n`;
}
