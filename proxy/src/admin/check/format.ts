/**
 * Renders a check report: a table for people, JSON for machines. Both show the same facts
 * and only what the report holds (names, codes, safe messages), so neither can print a secret.
 */
import type { CheckReport, LoginReport, KvReport } from './report';

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
  const header = ['SERVICE', 'RESULT', 'SECRET', 'INJECT'];
  const rows = report.services.map((s) => [s.name, s.code ?? 'ok', s.secret, s.inject]);
  const table = columns([header, ...rows]);
  lines.push(table[0]);
  report.services.forEach((service, i) => {
    lines.push(table[i + 1]);
    // Messages are long; under the row they keep the table readable.
    if (service.message !== null) lines.push(`    ${service.message}`);
  });
  if (report.services.length === 0) lines.push('(no services configured)');
  if (report.warnings.length > 0) {
    lines.push('', 'Warnings:', ...report.warnings.map((w) => `  - ${w}`));
  }
  const good = report.services.filter((s) => s.ok).length;
  lines.push('', `${report.ok ? 'OK' : 'FAILED'}: ${good} of ${report.services.length} services ok${login.ok ? '' : '; the Vault login failed'}`);
  return `${lines.join('\n')}\n`;
}
