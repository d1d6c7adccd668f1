/**
 * The parts of an exported n8n workflow the migrator reads and writes. Exports carry many
 * more fields (settings, pinData, meta, tags, versionId …); they are kept as they are.
 */

/** A node as n8n exports it. */
export interface WorkflowNode {
  id?: string;
  name: string;
  type: string;
  typeVersion?: number;
  position?: [number, number];
  parameters?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A workflow as n8n exports it (`n8n export:workflow`, the editor's download, the public API). */
export interface Workflow {
  id?: string;
  name?: string;
  nodes: WorkflowNode[];
  connections?: Record<string, unknown>;
  [field: string]: unknown;
}

/** A workflow and where it was read from (a file, an entry of a file, an n8n URL). */
export interface SourcedWorkflow {
  source: string;
  workflow: Workflow;
}

/** n8n's node types the migrator knows by shape. */
export const HTTP_REQUEST_TYPE = 'n8n-nodes-base.httpRequest';
export const SECURE_PROXY_REQUEST_TYPE = 'n8n-nodes-secure-proxy.secureProxyRequest';
/** The credential type of the Secure Proxy Request node. */
export const SECURE_PROXY_CREDENTIAL_TYPE = 'secureProxyApi';

/** Whether `value` has the shape of an exported workflow: a nodes array of named, typed nodes. */
export function isWorkflow(value: unknown): value is Workflow {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const nodes = (value as { nodes?: unknown }).nodes;
  return (
    Array.isArray(nodes) &&
    nodes.every(
      (node) =>
        node !== null &&
        typeof node === 'object' &&
        typeof (node as { name?: unknown }).name === 'string' &&
        typeof (node as { type?: unknown }).type === 'string',
    )
  );
}
