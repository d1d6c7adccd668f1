/**
 * The attribution headers the node sends with every request (shared/contract.ts): which
 * workflow, execution and node it comes from, whether it runs as an AI agent's tool, and
 * n8n's W3C trace context when the execution has one. The proxy writes them into its audit
 * line and may narrow a service to listed workflows; it strips them before forwarding.
 *
 * Names can hold any Unicode: each value is percent-encoded as UTF-8 (encodeURIComponent),
 * after control and bidi characters became spaces and the value was cut to the contract's
 * bound (ending in "…"). An id that does not have the contract's shape (an unsaved workflow)
 * is left out rather than sent malformed.
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import {
  AI_TOOL_HEADER,
  EXECUTION_ID_HEADER,
  MAX_ATTRIBUTION_NAME_LENGTH,
  NODE_NAME_HEADER,
  TRACEPARENT_HEADER,
  WORKFLOW_ID_HEADER,
  WORKFLOW_NAME_HEADER,
} from './shared/contract';

/** The id shape the proxy accepts (its `shared/workflow-id.ts`; a unit test keeps the two equal). */
export const WORKFLOW_ID_SHAPE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Characters the proxy refuses in a name, and why they go: they could forge or hide text in a log viewer. */
const UNSAFE_TEXT = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;
/** A surrogate without its pair: encodeURIComponent throws on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * n8n 2.x has no public accessor for a node's trace context: its own `helpers.httpRequest`
 * (not `httpRequestWithAuthentication`, which this node must use) asks the execution's
 * OpenTelemetry hook to write `traceparent` into the outgoing headers. The node asks the same
 * hook, when the execution offers it (N8N_OTEL_ENABLED); otherwise no trace context is sent.
 */
interface TraceHookCarrier {
  additionalData?: { otel?: { injectTraceHeaders?: (executionId: string, nodeName: string | undefined, headers: Record<string, string>) => void } };
}

/** A name cleaned and cut to `max` UTF-16 units (never splitting a surrogate pair), then percent-encoded. */
export function encodeName(value: string, max: number = MAX_ATTRIBUTION_NAME_LENGTH): string {
  const clean = value.replace(LONE_SURROGATE, '\uFFFD').replace(UNSAFE_TEXT, ' ');
  if (clean.length <= max) return encodeURIComponent(clean);
  let cut = clean.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return encodeURIComponent(`${cut}…`);
}

/** True when the node runs as the tool variant n8n derives from a `usableAsTool` node (its type ends in "Tool"). */
export function runsAsAiTool(nodeType: string): boolean {
  return nodeType.endsWith('Tool');
}

/** The execution's W3C trace context, when n8n has one for this node; never throws. */
export function traceHeaders(ctx: IExecuteFunctions, executionId: string, nodeName: string): Record<string, string> {
  const inject = (ctx as unknown as TraceHookCarrier).additionalData?.otel?.injectTraceHeaders;
  if (typeof inject !== 'function') return {};
  const written: Record<string, string> = {};
  try {
    inject(executionId, nodeName, written);
  } catch {
    // n8n logs the hook's failure itself; a missing trace context must not fail the API call.
    return {};
  }
  const traceparent = written[TRACEPARENT_HEADER];
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return {};
  const headers: Record<string, string> = { [TRACEPARENT_HEADER]: traceparent };
  if (typeof written.tracestate === 'string' && written.tracestate !== '') headers.tracestate = written.tracestate;
  return headers;
}

/** The attribution headers for requests of this node's execution. */
export function attributionHeaders(ctx: IExecuteFunctions): Record<string, string> {
  const workflow = ctx.getWorkflow();
  const node = ctx.getNode();
  const executionId = String(ctx.getExecutionId() ?? '');
  const headers: Record<string, string> = {
    [NODE_NAME_HEADER]: encodeName(node.name),
    [AI_TOOL_HEADER]: runsAsAiTool(node.type) ? 'true' : 'false',
  };
  const workflowId = String(workflow.id ?? '');
  // Ids are percent-encoded too: ':' is allowed in an id but not in the contract's encoding.
  if (WORKFLOW_ID_SHAPE.test(workflowId)) headers[WORKFLOW_ID_HEADER] = encodeURIComponent(workflowId);
  if (typeof workflow.name === 'string' && workflow.name.trim() !== '') headers[WORKFLOW_NAME_HEADER] = encodeName(workflow.name);
  if (WORKFLOW_ID_SHAPE.test(executionId)) headers[EXECUTION_ID_HEADER] = encodeURIComponent(executionId);
  return { ...headers, ...traceHeaders(ctx, executionId, node.name) };
}
