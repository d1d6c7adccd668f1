/**
 * The one metric that names workflows: requests to services under a per-workflow rule
 * (`clients.<id>.workflows`), by the workflow they came from. Its label values are bounded
 * by what admins listed in those rules: a workflow id is a label only once the rule allowed
 * it; refused requests count with an empty workflow label, so a caller cannot mint series by
 * sending made-up ids. Execution ids, node and workflow names are never labels (audit log only).
 */
import { Counter, type Registry } from 'prom-client';
import type { RequestRecord } from './events';

/** Distinct workflow label values before further ones are counted as "other" (a last bound beyond the rules). */
const MAX_WORKFLOW_LABELS = 1000;

/** Creates the counter in `registers`; returns what counts one finished request, given its service and status class labels. */
export function createWorkflowMetrics(
  registers: Registry[],
  maxLabels = MAX_WORKFLOW_LABELS,
): (record: RequestRecord, service: string, statusClass: string) => void {
  const requests = new Counter({
    name: 'secure_proxy_workflow_requests_total',
    help: 'Requests to services a client may use only from listed workflows, by service, listed workflow id (empty when the rule refused the request) and status class.',
    labelNames: ['service', 'workflow', 'status_class'] as const,
    registers,
  });
  const seen = new Set<string>();
  const workflowLabel = (record: RequestRecord): string => {
    if (record.workflowRule !== 'allowed' || record.workflowId === null) return '';
    if (seen.has(record.workflowId)) return record.workflowId;
    if (seen.size >= maxLabels) return 'other';
    seen.add(record.workflowId);
    return record.workflowId;
  };
  return (record, service, statusClass) => {
    if (record.workflowRule === null) return;
    requests.inc({ service, workflow: workflowLabel(record), status_class: statusClass });
  };
}
