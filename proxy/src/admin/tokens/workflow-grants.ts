/**
 * `--workflows <service>=<id>,<id>` of `secure-proxy token create | grant`: narrows a
 * Vault-stored client's use of a service to listed n8n workflows (the record's `workflows`,
 * read by every replica like `clients.<id>.workflows` in the config). `<service>=` with no
 * id removes the rule, so any workflow of the client may use the service again. Pure
 * functions of the flag values and the record; the commands do the Vault part.
 */
import type { TokenRecord } from '../../auth/vault-records/record';
import { WORKFLOW_ID_SHAPE } from '../../shared/workflow-id';
import { TokenAdminUsageError } from './errors';

/** Rules to set, by service: a list of ids, or null to remove the service's rule. */
export type WorkflowRuleChanges = Readonly<Record<string, readonly string[] | null>>;

/** Parses every `--workflows` value (the option repeats, one service each). */
export function parseWorkflowsFlags(values: readonly string[]): WorkflowRuleChanges {
  const rules: Record<string, readonly string[] | null> = {};
  for (const value of values) {
    const equals = value.indexOf('=');
    const service = equals === -1 ? '' : value.slice(0, equals).trim();
    if (service === '') {
      throw new TokenAdminUsageError(
        `--workflows must look like payments=wf1,wf2 (a service, "=", workflow ids; nothing after "=" removes the rule), got "${value}"`,
      );
    }
    if (Object.hasOwn(rules, service)) throw new TokenAdminUsageError(`--workflows names service "${service}" twice; list all its workflow ids in one value`);
    const ids = value
      .slice(equals + 1)
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
    const bad = ids.filter((id) => !WORKFLOW_ID_SHAPE.test(id));
    if (bad.length > 0) {
      throw new TokenAdminUsageError(
        `--workflows ${service}: ${bad.map((id) => `"${id}"`).join(', ')} ${bad.length === 1 ? 'is not a workflow id' : 'are not workflow ids'} (1-128 letters, digits, ".", "_", ":" or "-": the id in the workflow's URL)`,
      );
    }
    rules[service] = ids.length === 0 ? null : [...new Set(ids)];
  }
  return rules;
}

/** The record with the rules applied (a new object when anything changed). */
export function applyWorkflowRules(record: TokenRecord, changes: WorkflowRuleChanges): TokenRecord {
  if (Object.keys(changes).length === 0) return record;
  const next: Record<string, string[]> = { ...(record.workflows ?? {}) };
  for (const [service, ids] of Object.entries(changes)) {
    if (ids === null) delete next[service];
    else next[service] = [...ids];
  }
  const { workflows: _dropped, ...rest } = record;
  return Object.keys(next).length === 0 ? rest : { ...rest, workflows: next };
}

/** Drops the rules of services the record no longer grants (ungrant): a later grant must not inherit a forgotten rule. */
export function dropRulesOfUngranted(record: TokenRecord): TokenRecord {
  if (record.workflows === undefined) return record;
  const changes = Object.fromEntries(
    Object.keys(record.workflows)
      .filter((service) => !record.services.includes(service))
      .map((service) => [service, null]),
  );
  return applyWorkflowRules(record, changes);
}

function describeRules(rules: TokenRecord['workflows']): string {
  const entries = Object.entries(rules ?? {});
  return entries.length === 0 ? '(none: any workflow)' : entries.map(([service, ids]) => `${service}=${ids.join(',')}`).join('; ');
}

/** The stderr line for the record's workflow rules before → after; null when neither has any. */
export function describeWorkflowChange(before: TokenRecord['workflows'], after: TokenRecord['workflows']): string | null {
  const was = describeRules(before);
  const now = describeRules(after);
  if (before === undefined && after === undefined) return null;
  return `  workflows: ${was === now ? `${now} (unchanged)` : `${was} → ${now}`}`;
}
