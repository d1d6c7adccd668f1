/**
 * Per-workflow rules: a client's grant of a service may be narrowed to listed n8n workflow
 * ids (`clients.<id>.workflows: { <service>: [<workflow id>, …] }` in the config, or
 * `workflows` in the client's Vault token record). A request for such a service must name
 * one of them in `x-secure-proxy-workflow-id`, else it is refused with WORKFLOW_NOT_ALLOWED.
 *
 * The workflow id is a claim by the holder of the client's proxy token (docs/security.md):
 * the rule keeps honest workflows of a shared n8n credential apart and makes a mistake loud,
 * it does not stop someone who holds the token and forges the header. Services without a
 * rule are not affected.
 */
import { ProxyError } from '../contract/proxy-error';
import type { RequestContext } from '../app/request-context';

/** Where a client's rules were written, for the refusal message: the admin must find them. */
export type WorkflowRuleSource = 'config' | 'token record';

/** A client's per-service workflow allowlists, compiled once per config or token-record read. */
export interface WorkflowRules {
  readonly source: WorkflowRuleSource;
  readonly byService: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Compiles `{ service: [ids] }` (already validated); null when there is no rule. */
export function compileWorkflowRules(rules: Readonly<Record<string, readonly string[]>> | undefined, source: WorkflowRuleSource): WorkflowRules | null {
  if (rules === undefined) return null;
  const byService = new Map<string, ReadonlySet<string>>();
  for (const [service, ids] of Object.entries(rules)) byService.set(service, new Set(ids));
  return byService.size === 0 ? null : Object.freeze({ source, byService });
}

function where(clientId: string, service: string, source: WorkflowRuleSource): string {
  return source === 'config' ? `clients.${clientId}.workflows.${service} in the proxy config` : `workflows.${service} in the client's token record in Vault`;
}

/**
 * Applies the client's rule for `service`, if any, to the request's claimed workflow: records
 * the verdict in the context and returns WORKFLOW_NOT_ALLOWED for a refusal, else null.
 */
export function checkWorkflowRule(ctx: RequestContext, service: string): ProxyError | null {
  const rules = ctx.client?.workflows ?? null;
  const allowed = rules?.byService.get(service);
  if (rules === null || allowed === undefined) return null;
  const workflowId = ctx.attribution?.workflowId ?? null;
  if (workflowId !== null && allowed.has(workflowId)) {
    ctx.workflowRule = 'allowed';
    return null;
  }
  ctx.workflowRule = 'refused';
  const clientId = ctx.client!.id;
  const count = allowed.size === 1 ? 'one listed workflow' : `${allowed.size} listed workflows`;
  const claimed =
    workflowId !== null
      ? `this request came from workflow '${workflowId}'`
      : ctx.attribution?.invalid?.includes('workflowId') === true
        ? 'this request sent an x-secure-proxy-workflow-id that is not a valid workflow id'
        : 'this request named no workflow (the Secure Proxy Request node sends x-secure-proxy-workflow-id)';
  return new ProxyError(
    'WORKFLOW_NOT_ALLOWED',
    `Client '${clientId}' may use service '${service}' only from ${count} (${where(clientId, service, rules.source)}); ${claimed}.`,
  );
}
