/** What `secure-proxy vault bootstrap` prints: one line per step, the writes in a dry run, and next steps. */
import type { BootstrapResult, Change } from './steps';

const MARK: Readonly<Record<Change['status'], string>> = { created: '+', updated: '~', unchanged: '=', todo: '!' };

export function formatBootstrap(result: BootstrapResult, address: string, dryRun: boolean): string {
  const lines = [`Vault ${address}${dryRun ? ' (dry run: reads only, nothing written)' : ''}`];
  for (const change of result.changes) {
    const verb = dryRun && change.call !== undefined ? `would be ${change.status}` : change.status;
    lines.push(`  ${MARK[change.status]} ${change.subject}: ${verb}${change.detail === undefined ? '' : ` (${change.detail})`}`);
    if (dryRun && change.call !== undefined) {
      lines.push(`      ${change.call.method} /v1/${change.call.path}`);
      for (const line of JSON.stringify(change.call.body ?? {}, null, 2).split('\n')) lines.push(`        ${line}`);
    }
  }
  const writes = result.changes.filter((c) => c.call !== undefined).length;
  const todo = result.changes.filter((c) => c.status === 'todo').length;
  if (dryRun) lines.push(writes === 0 ? 'Nothing to change.' : `${writes} write${writes === 1 ? '' : 's'} would be made; nothing was written.`);
  else if (writes === 0) lines.push(`Nothing changed: everything was already in place${todo > 0 ? ', apart from what is marked !' : ''}.`);
  else {
    const count = (status: Change['status']): number => result.changes.filter((c) => c.status === status).length;
    lines.push(`Done: ${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged.`);
  }
  if (todo > 0) lines.push(`Still to do by hand: ${todo} (marked !).`);
  lines.push('', ...result.notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}
