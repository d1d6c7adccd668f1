/**
 * Config shapes of the per-workflow rules and per-service limits: `clients.<id>.workflows`
 * and `services.<name>.limits`. Kept beside schema.ts so the main schema only plugs them in.
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

const positive = (what: string) =>
  z.number({ error: `${what} must be a number` }).refine((n) => Number.isFinite(n) && n > 0, { message: `${what} must be more than 0` });
const wholeAtLeastOne = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(1_000_000, `${what} must be at most 1000000`);

/**
 * `services.<name>.limits`: a token bucket (`requestsPerSecond` refill, `burst` capacity,
 * default `requestsPerSecond` rounded up) and/or a cap on requests in flight. Per proxy replica.
 */
export const serviceLimitsSchema = z
  .strictObject(
    {
      requestsPerSecond: positive('requestsPerSecond').optional(),
      burst: wholeAtLeastOne('burst').optional(),
      maxConcurrent: wholeAtLeastOne('maxConcurrent').optional(),
    },
    { error: 'limits must be a mapping like { requestsPerSecond: 10, burst: 20, maxConcurrent: 5 }' },
  )
  .superRefine((limits, ctx) => {
    if (limits.burst !== undefined && limits.requestsPerSecond === undefined) {
      ctx.addIssue({ code: 'custom', path: ['burst'], message: 'burst needs requestsPerSecond (the rate that refills it)' });
    }
    if (limits.requestsPerSecond === undefined && limits.maxConcurrent === undefined) {
      ctx.addIssue({ code: 'custom', message: 'limits must set requestsPerSecond, maxConcurrent or both' });
    }
  });

export type ServiceLimitsConfig = z.infer<typeof serviceLimitsSchema>;
