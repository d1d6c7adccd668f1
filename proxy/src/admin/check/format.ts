/**
 * Renders a check report: a table for people, JSON for machines. Both show the same facts
 * and only what the report holds (names, codes, safe messages), so neither can print a secret.
 */
import type { CaFileReport, CheckReport, KvReport, LoginReport, TokenClientReport, TokenStoreReport } from './report';

/** The report as pretty-printed JSON, with a trailing newline. */
export function formatCheckJson(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function describeLogin(login: LoginReport): string {
  if (login.error !== null) return `FAILED (${login.error.code}) with ${login.method}: ${login.error.message}`;
  const ttl = login.ttlSeconds === null ? 'TTL unknown' : login.ttlSeconds === 0 ? 'never expires' : `TTL ${login.ttlSeconds}s`;
  const renewable = login.renewable === null ? '' : login.renewable ? ', renewable' : ', not renewable';
  const policies = login.policies === null ? 'policies unknown (lookup-self not allowed)' : `policies: ${login.policies.join(', ') || '(none)'}`;
  return `ok with ${login.method}; token ${ttl}${renewable}; ${policies}`;
}

function describeKv(kv: KvReport): string {
  if (kv.error !== null) return `"${kv.mount}": ${kv.error.code}: ${kv.error.message}`;
  return `"${kv.mount}": KV v${String(kv.version)} (${kv.source})`;
}

/** Pads every column but the last to its widest cell. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** The report as a table for a terminal, with a trailing newline. */
export function formatCheckText(report: CheckReport): string {
  const { login, kv } = report.vault;
  const lines = columns([
    ['Vault', report.vault.address + (report.vault.namespace === null ? '' : ` (namespace ${report.vault.namespace})`)],
    ['Login', describeLogin(login)],
    ['KV mount', describeKv(kv)],
  ]);
  lines.push('');
  // Messages are long; under the row they keep the table readable.
  lines.push(
    ...withMessages(
      ['SERVICE', 'RESULT', 'SECRET', 'INJECT'],
      report.services.map((s) => ({ cells: [s.name, s.code ?? 'ok', s.secret, s.inject], message: s.message })),
    ),
  );
  if (report.services.length === 0) lines.push('(no services configured)');
  if (report.caFiles.length > 0) lines.push('', ...caFileLines(report.caFiles));
  if (report.tokenStore !== null) lines.push('', ...tokenStoreLines(report.tokenStore));
  if (report.warnings.length > 0) {
    lines.push('', 'Warnings:', ...report.warnings.map((w) => `  - ${w}`));
  }
  lines.push('', summary(report));
  return `${lines.join('\n')}\n`;
}

/** Rows with a message line under each row that has one. */
function withMessages(header: readonly string[], rows: ReadonlyArray<{ cells: readonly string[]; message: string | null }>): string[] {
  const table = columns([header, ...rows.map((row) => row.cells)]);
  const lines = [table[0]];
  rows.forEach((row, i) => {
    lines.push(table[i + 1]);
    if (row.message !== null) lines.push(`    ${row.message}`);
  });
  return lines;
}

function caFileLines(files: readonly CaFileReport[]): string[] {
  return withMessages(
    ['CA FILE', 'RESULT', 'USED BY', 'CERTIFICATES'],
    files.map((file) => {
      const until = file.certificates.map((cert) => cert.notAfter).sort()[0];
      const certificates = file.certificates.length === 0 ? '—' : `${file.certificates.length}, first expiry ${until}`;
      return { cells: [file.path, file.ok ? 'ok' : 'FAILED', file.usedBy.join(', '), certificates], message: file.problem };
    }),
  );
}

function describeTokens(client: TokenClientReport): string {
  const parts = [`${client.validTokens} valid`];
  const rotated = client.expiringSoon.filter((token) => token.replacedBy !== null).length;
  const soon = client.expiringSoon.length - rotated;
  if (soon > 0) parts.push(`${soon} expiring soon`);
  if (rotated > 0) parts.push(`${rotated} rotated (in grace)`);
  if (client.expiredTokens > 0) parts.push(`${client.expiredTokens} expired`);
  if (client.nextExpiry !== null) parts.push(`next expiry ${client.nextExpiry}`);
  return parts.join(', ');
}

function tokenStoreLines(store: TokenStoreReport): string[] {
  if (store.error !== null) return [`Token store  "${store.location}": ${store.error.code}: ${store.error.message}`];
  const head = `Token store  "${store.location}": ${store.clients.length} client record${store.clients.length === 1 ? '' : 's'}`;
  if (store.clients.length === 0) return [head];
  const rows = store.clients.map((client) => ({
    // A record that could not be read or parsed has no tokens to count.
    cells: [
      client.client,
      client.code ?? 'ok',
      client.services.join(', ') || '—',
      client.ok || client.code === 'PROXY_TOKEN_EXPIRED' ? describeTokens(client) : '—',
    ],
    message: client.message,
  }));
  return [head, ...withMessages(['CLIENT', 'RESULT', 'SERVICES', 'TOKENS'], rows)];
}

/** The last line: OK or FAILED and what failed. */
function summary(report: CheckReport): string {
  const good = report.services.filter((s) => s.ok).length;
  const parts = [`${good} of ${report.services.length} services ok`];
  if (!report.vault.login.ok) parts.push('the Vault login failed');
  const badFiles = report.caFiles.filter((file) => !file.ok).length;
  if (badFiles > 0) parts.push(`${badFiles} CA file${badFiles === 1 ? '' : 's'} unusable`);
  const store = report.tokenStore;
  if (store !== null && store.error !== null) parts.push('the token records could not be read');
  const badClients = store?.clients.filter((client) => !client.ok).length ?? 0;
  if (badClients > 0) parts.push(`${badClients} token record${badClients === 1 ? '' : 's'} with no usable token`);
  return `${report.ok ? 'OK' : 'FAILED'}: ${parts.join('; ')}`;
}
