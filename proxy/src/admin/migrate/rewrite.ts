/**
 * `migrate rewrite` without its input and output: for each workflow, every HTTP Request node
 * that calls a mapped host with a pasted secret becomes a Secure Proxy Request node, and each
 * service collects the credential its nodes held. Everything else with a secret is left as
 * it was and reported with the reason: an unmapped host, another node type, a secret the
 * proxy cannot inject the same way, or a service that would need two different credentials.
 */
import { planNodeMove, type InjectPlan } from './move-plan';
import { scanWorkflow, type Detection } from './scan';
import type { ServiceMap, ServiceMapping } from './service-map';
import { toSecureProxyNode, type CredentialRef } from './to-secure-proxy';
import { textOf } from './http-request-shape';
import { splitUrl } from './url-parts';
import { HTTP_REQUEST_TYPE, type SourcedWorkflow, type WorkflowNode } from './workflow';

/** What happened to one node that held a secret. Fingerprints only, never values. */
export interface NodeOutcome {
  source: string;
  workflowId: string;
  workflowName: string;
  node: string;
  nodeType: string;
  fingerprints: string[];
  rewritten: boolean;
  /** The service the node now calls (rewritten), or the reason it was left unchanged. */
  service?: string;
  reason?: string;
  /** HTTP Request options the Secure Proxy Request node has no equivalent for. */
  droppedOptions?: string[];
}

/** A service the rewritten nodes call, with the credential to put into Vault. */
export interface ServicePlan {
  mapping: ServiceMapping;
  inject: InjectPlan;
  /** Secret fields for Vault (`token`, or `username` and `password`). Never printed. */
  data: Record<string, string>;
  /** `workflow / node` of each node that now uses it. */
  nodes: string[];
}

export interface RewriteResult {
  workflows: SourcedWorkflow[];
  outcomes: NodeOutcome[];
  services: Map<string, ServicePlan>;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function groupByNode(detections: readonly Detection[]): Map<string, Detection[]> {
  const groups = new Map<string, Detection[]>();
  for (const detection of detections) {
    const list = groups.get(detection.finding.node) ?? [];
    list.push(detection);
    groups.set(detection.finding.node, list);
  }
  return groups;
}

type NodeResult =
  | { ok: true; node: WorkflowNode; mapping: ServiceMapping; inject: InjectPlan; data: Record<string, string>; droppedOptions: string[] }
  | { ok: false; reason: string };

function rewriteNode(
  node: WorkflowNode,
  detections: readonly Detection[],
  map: ServiceMap,
  services: ReadonlyMap<string, ServicePlan>,
  credential: CredentialRef,
): NodeResult {
  if (node.type !== HTTP_REQUEST_TYPE)
    return { ok: false, reason: `only HTTP Request nodes are rewritten; move the secret out of this ${node.type} node by hand` };
  const url = splitUrl(textOf(node.parameters?.url));
  if (url === null) return { ok: false, reason: 'its URL host is not fixed (an expression or not an absolute URL)' };
  const mapping = map.get(url.host);
  if (mapping === undefined) return { ok: false, reason: `unmapped host ${url.host}: add it to the services map to move it` };
  const plan = planNodeMove(node, detections);
  if (!plan.ok) return plan;
  const known = services.get(mapping.service);
  if (known !== undefined && !(sameJson(known.inject, plan.move.inject) && sameJson(known.data, plan.move.data))) {
    return { ok: false, reason: `service ${mapping.service} already gets a different credential (from ${known.nodes[0]}); one service injects one credential` };
  }
  const converted = toSecureProxyNode(node, plan.move, mapping, credential);
  if (!converted.ok) return converted;
  return { ok: true, node: converted.node, mapping, inject: plan.move.inject, data: plan.move.data, droppedOptions: converted.droppedOptions };
}

/** Rewrites copies of the workflows; the inputs are not changed. */
export function rewriteWorkflows(inputs: readonly SourcedWorkflow[], map: ServiceMap, credential: CredentialRef): RewriteResult {
  const services = new Map<string, ServicePlan>();
  const outcomes: NodeOutcome[] = [];
  const workflows = inputs.map(({ source, workflow }) => {
    const copy = structuredClone(workflow);
    for (const [nodeName, detections] of groupByNode(scanWorkflow({ source, workflow }))) {
      const index = copy.nodes.findIndex((n) => n.name === nodeName);
      const node = copy.nodes[index];
      const base = {
        source,
        workflowId: workflow.id ?? '',
        workflowName: workflow.name ?? '',
        node: nodeName,
        nodeType: node.type,
        fingerprints: [...new Set(detections.map((d) => d.finding.fingerprint))],
      };
      const result = rewriteNode(node, detections, map, services, credential);
      if (!result.ok) {
        outcomes.push({ ...base, rewritten: false, reason: result.reason });
        continue;
      }
      copy.nodes[index] = result.node;
      const user = `${base.workflowName} / ${nodeName}`;
      const known = services.get(result.mapping.service);
      if (known === undefined) services.set(result.mapping.service, { mapping: result.mapping, inject: result.inject, data: result.data, nodes: [user] });
      else known.nodes.push(user);
      outcomes.push({ ...base, rewritten: true, service: result.mapping.service, droppedOptions: result.droppedOptions });
    }
    return { source, workflow: copy };
  });
  return { workflows, outcomes, services };
}
