/**
 * Config shape of the per-workflow rules, `clients.<id>.workflows` (also the `workflows` of a
 * Vault token record). Kept beside schema.ts so the main schema only plugs it in.
 */
import { z } from 'zod';
import { WORKFLOW_ID_SHAPE } from '../shared/workflow-id';

const workflowId = z
  .string({ error: 'must be a workflow id (the id in the workflow URL, e.g. "V9xTRe2yW6kXnqDp")' })
  .regex(WORKFLOW_ID_SHAPE, 'must be a workflow id: 1-128 letters, digits, ".", "_", ":" or "-" (the id in the workflow URL)');

/** `{ <service>: [<workflow id>, …] }`: the client may use each named service only from those workflows. */
export const workflowRulesSchema = z.record(
  z.string(),
  z.array(workflowId).min(1, "list at least one workflow id; to take the service away, remove it from the client's services"),
  { error: 'must be a mapping of service names to lists of workflow ids, like { payments: ["V9xTRe2yW6kXnqDp"] }' },
);

export type WorkflowRulesConfig = z.infer<typeof workflowRulesSchema>;

/** Problems of one client's rules against its services: a rule must name a service the client is granted. */
export function workflowRuleProblems(rules: WorkflowRulesConfig | undefined, granted: readonly string[]): Array<{ service: string; message: string }> {
  if (rules === undefined) return [];
  const grantedSet = new Set(granted);
  return Object.keys(rules)
    .filter((service) => !grantedSet.has(service))
    .map((service) => ({ service, message: `names service "${service}", which this client is not granted (add it to services, or remove the rule)` }));
}
