/**
 * `secure-proxy token grant | ungrant`: the only commands that change which services a
 * Vault-stored client may use. The client's tokens stay as they are, so a running n8n keeps
 * working; every replica applies the new grants within tokenStore.refreshSeconds.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ProxyConfig } from '../../config/schema';
import type { TokenRecordStore } from '../../auth/vault-records/kv-records';
import type { TokenRecord } from '../../auth/vault-records/record';
import { changeOf, checkClientName, checkServices } from './commands';
import { TokenAdminFailure } from './errors';
import { grant, ungrant, type GrantChange } from './record-math';
import type { RecordChange } from './record-diff';
import { updateRecord } from './update-record';
import { applyWorkflowRules, dropRulesOfUngranted, type WorkflowRuleChanges } from './workflow-grants';

/** What a grant or ungrant did. */
export interface GrantReport {
  client: string;
  /** Services granted (grant) or taken away (ungrant). */
  changed: readonly string[];
  /** Services named that were already granted (grant) or were not granted (ungrant): nothing to do for them. */
  unchanged: readonly string[];
  /** The client's services afterwards. */
  services: readonly string[];
  /** The record before → after; null when nothing changed, so nothing was written. */
  change: RecordChange | null;
  checkedAndSet: boolean;
}

async function changeGrants(
  config: ProxyConfig,
  store: TokenRecordStore,
  client: string,
  services: readonly string[],
  apply: (record: TokenRecord) => GrantChange,
  alsoKnown: 'record' | 'none',
  rules: WorkflowRuleChanges = {},
): Promise<GrantReport> {
  checkClientName(config, client);
  // An empty list is refused before Vault is asked (unless only workflow rules change); names are checked against the record too when ungranting.
  const onlyRules = services.length === 0 && Object.keys(rules).length > 0;
  if (!onlyRules && (alsoKnown === 'none' || services.length === 0)) checkServices(config, services);
  const outcome = await updateRecord(store, client, (current) => {
    if (current === null) {
      throw new TokenAdminFailure(`client "${client}" has no record in ${store.location}; create it with "token create --client ${client} --services …"`);
    }
    // A service the config dropped may still be in the record: ungrant must be able to remove it.
    if (alsoKnown === 'record') checkServices(config, services, current.services);
    const granted = apply(current);
    // Rules of services the record no longer grants go with them: a later grant must not inherit a forgotten rule.
    const record = dropRulesOfUngranted(applyWorkflowRules(granted.record, rules));
    const result = { ...granted, record };
    return { record: isDeepStrictEqual(record, current) ? null : record, result };
  });
  const { changed, unchanged, record } = outcome.result;
  return { client, changed, unchanged, services: record.services, change: changeOf(client, outcome), checkedAndSet: outcome.checkedAndSet };
}

/**
 * `token grant`: the client may also use these services (each must be defined by the config),
 * and `rules` narrow services to listed workflows (or widen them again).
 */
export function grantServices(
  config: ProxyConfig,
  store: TokenRecordStore,
  client: string,
  services: readonly string[],
  rules: WorkflowRuleChanges = {},
): Promise<GrantReport> {
  return changeGrants(config, store, client, services, (record) => grant(record, services), 'none', rules);
}

/** `token ungrant`: the client may no longer use these services (defined by the config, or named in its record). */
export function ungrantServices(config: ProxyConfig, store: TokenRecordStore, client: string, services: readonly string[]): Promise<GrantReport> {
  return changeGrants(config, store, client, services, (record) => ungrant(record, services), 'record');
}
