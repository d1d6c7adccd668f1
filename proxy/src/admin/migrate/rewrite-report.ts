/**
 * What `migrate rewrite` prints: which nodes moved to which service, which were left as they
 * were and why, and the `services:` entries for the proxy config. Built from outcomes and
 * plans without their secret data: no value is ever part of it.
 */
import { stringify } from 'yaml';
import type { InjectPlan } from './move-plan';
import type { NodeOutcome, ServicePlan } from './rewrite';

/** The proxy config's `inject` for a planned injection. */
function injectConfig(inject: InjectPlan): Record<string, string> {
  switch (inject.type) {
    case 'bearer':
      return { type: 'bearer', field: 'token' };
    case 'basic':
      return { type: 'basic', usernameField: 'username', passwordField: 'password' };
    case 'header':
      return { type: 'header', name: inject.name, template: inject.template };
    case 'query':
      return { type: 'query', param: inject.param, field: 'token' };
  }
}

/** The `services:` entries to add to the proxy config, as YAML. */
export function servicesSnippet(services: ReadonlyMap<string, ServicePlan>, kvMount: string): string {
  const entries: Record<string, unknown> = {};
  for (const [name, plan] of services) {
    entries[name] = {
      description: `Migrated from pasted credentials (${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'})`,
      target: plan.mapping.target,
      secret: plan.mapping.secret,
      inject: injectConfig(plan.inject),
    };
  }
  const fields = [...services].map(([name, plan]) => `#   ${name}: ${kvMount}/${plan.mapping.secret} (fields: ${Object.keys(plan.data).join(', ')})`);
  return [
    '# Add to the proxy config (docs/configuration.md), and grant the services to the n8n client',
    '# (secure-proxy token grant --client <client> --services <names>). Their secrets belong in Vault at:',
    ...fields,
    stringify({ services: entries }).trimEnd(),
    '',
  ].join('\n');
}

/** One line per node that held a secret, then a count. */
export function formatRewriteText(outcomes: readonly NodeOutcome[], written: readonly string[]): string {
  const lines: string[] = [];
  for (const o of outcomes) {
    const where = `${o.source}: "${o.workflowName}" / "${o.node}"`;
    if (o.rewritten) {
      const dropped = o.droppedOptions !== undefined && o.droppedOptions.length > 0 ? ` (options not carried over: ${o.droppedOptions.join(', ')})` : '';
      lines.push(`rewritten  ${where} → Secure Proxy Request, service ${o.service}${dropped}`);
    } else {
      lines.push(`unchanged  ${where} (${o.nodeType}, fingerprint ${o.fingerprints.join(', ')}): ${o.reason}`);
    }
  }
  const moved = outcomes.filter((o) => o.rewritten).length;
  lines.push('', `${moved} node(s) rewritten, ${outcomes.length - moved} left unchanged.`, ...written.map((file) => `wrote ${file}`));
  return `${lines.join('\n')}\n`;
}
