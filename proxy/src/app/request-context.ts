/**
 * Per-request state shared by the pipeline stages (auth, forwarding, audit), kept on
 * `res.locals` so no stage needs to know another's internals.
 */
import type { Response } from 'express';
import type { ErrorCode, ErrorSource } from '../contract/contract';
import type { WorkflowRules } from '../auth/workflow-policy';
import type { Attribution } from '../forward/attribution';

export interface AuthenticatedClient {
  id: string;
  tokenId: string | null;
  expiresAt: Date | null;
  services: ReadonlySet<string>;
  /** Services this client may use only from listed workflows; absent or null when it has no such rule. */
  workflows?: WorkflowRules | null;
}

export interface RequestContext {
  requestId: string;
  /** process.hrtime.bigint() when the request arrived. */
  startedAt: bigint;
  route: 'forward' | 'control' | 'ops' | 'other';
  client: AuthenticatedClient | null;
  service: string | null;
  errorCode: ErrorCode | null;
  errorSource: ErrorSource | null;
  /** What exactly went wrong (a fixed key or a Node error code), when the error says. */
  errorDetail: string | null;
  secretMs: number | null;
  upstreamMs: number | null;
  /** The workflow, execution and node the request claims to come from; null when it sent no attribution header. */
  attribution: Attribution | null;
  /** Whether a per-workflow rule applied to the request, and its verdict. */
  workflowRule: 'allowed' | 'refused' | null;
}

/** The context of a request; created by the request-id middleware, always present after it. */
export function contextOf(res: Response): RequestContext {
  return res.locals.ctx as RequestContext;
}

export function newContext(requestId: string): RequestContext {
  return {
    requestId,
    startedAt: process.hrtime.bigint(),
    route: 'other',
    client: null,
    service: null,
    errorCode: null,
    errorSource: null,
    errorDetail: null,
    secretMs: null,
    upstreamMs: null,
    attribution: null,
    workflowRule: null,
  };
}
