/**
 * Attribution: which n8n workflow, execution and node a request claims to come from, read
 * from the `x-secure-proxy-*` attribution headers (and the W3C `traceparent`) of the
 * contract, for the audit line and the per-workflow rules.
 *
 * These are claims made by whoever holds a valid proxy token, not proof (docs/security.md):
 * they are checked for shape and bounded, never trusted for more than the rules that an
 * admin chose to base on them. A value that does not have the contract's shape (not
 * percent-encoded UTF-8, too long, control or bidi characters, a repeated header) is
 * ignored and named in `invalid`; it never fails a request by itself. Where a rule needs the
 * workflow id, an ignored one counts as none, so the rule refuses (fails closed).
 *
 * Read before anything else touches the headers: forwarding strips every `x-secure-proxy-*`
 * header in place, and the audit line of a refused request needs the values too.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import {
  AI_TOOL_HEADER,
  EXECUTION_ID_HEADER,
  MAX_ATTRIBUTION_ID_LENGTH,
  MAX_ATTRIBUTION_NAME_LENGTH,
  NODE_NAME_HEADER,
  TRACEPARENT_HEADER,
  WORKFLOW_ID_HEADER,
  WORKFLOW_NAME_HEADER,
} from '../contract/contract';
import { contextOf } from '../app/request-context';
import { WORKFLOW_ID_SHAPE } from '../shared/workflow-id';

/** What a request says about its origin; each field null when not sent or not usable. */
export interface Attribution {
  workflowId: string | null;
  workflowName: string | null;
  executionId: string | null;
  nodeName: string | null;
  /** True when the node ran as an AI agent's tool. */
  aiTool: boolean | null;
  /** The 32 hex digits of the W3C trace id. */
  traceId: string | null;
  /** The fields that were sent but ignored for their shape, e.g. `['workflowName']`; null when none. */
  invalid: string[] | null;
}

/** What `encodeURIComponent` produces: anything else (a space, a comma of a repeated header) is not the contract's encoding. */
const PERCENT_ENCODED = /^[A-Za-z0-9\-_.!~*'()%]+$/;
/** Control characters, line and paragraph separators, and bidi controls: they could forge or hide text in a log viewer. */
const UNSAFE_TEXT = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
/** version-traceid-parentid-flags; version ff is invalid, all-zero ids are invalid (W3C Trace Context §3.2). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);
/** The longest percent-encoding of a value within the bounds: 9 characters per UTF-16 unit (3 bytes as %XX). */
const MAX_ENCODED_NAME = MAX_ATTRIBUTION_NAME_LENGTH * 9;
const MAX_ENCODED_ID = MAX_ATTRIBUTION_ID_LENGTH * 3;

type Field = 'workflowId' | 'workflowName' | 'executionId' | 'nodeName' | 'aiTool' | 'traceId';

/** Percent-decodes one header value, or null when it is not the contract's encoding. */
function decoded(raw: string, maxEncoded: number): string | null {
  if (raw.length === 0 || raw.length > maxEncoded || !PERCENT_ENCODED.test(raw)) return null;
  if (raw.indexOf('%') === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    if (err instanceof URIError) return null; // not UTF-8, or a broken escape
    throw err;
  }
}

function idFrom(raw: string): string | null {
  const value = decoded(raw, MAX_ENCODED_ID);
  return value !== null && WORKFLOW_ID_SHAPE.test(value) ? value : null;
}

function nameFrom(raw: string): string | null {
  const value = decoded(raw, MAX_ENCODED_NAME);
  return value !== null && value.trim() !== '' && value.length <= MAX_ATTRIBUTION_NAME_LENGTH && !UNSAFE_TEXT.test(value) ? value : null;
}

function aiToolFrom(raw: string): boolean | null {
  const lower = raw.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : null;
}

/** The trace id of a W3C `traceparent`, or null when it is not a valid one. */
export function traceIdFrom(raw: string): string | null {
  const match = TRACEPARENT.exec(raw.trim());
  if (match === null) return null;
  const [, version, traceId, parentId, rest] = match;
  if (version === 'ff' || traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return null;
  if (version === '00' && rest !== undefined) return null; // version 00 has exactly four fields
  return traceId;
}

const READERS: ReadonlyArray<readonly [string, Field, (raw: string) => string | boolean | null]> = [
  [WORKFLOW_ID_HEADER, 'workflowId', idFrom],
  [WORKFLOW_NAME_HEADER, 'workflowName', nameFrom],
  [EXECUTION_ID_HEADER, 'executionId', idFrom],
  [NODE_NAME_HEADER, 'nodeName', nameFrom],
  [AI_TOOL_HEADER, 'aiTool', aiToolFrom],
  [TRACEPARENT_HEADER, 'traceId', traceIdFrom],
];

/** Reads the attribution headers of a request; null when it sent none of them (most requests that are not from the node). */
export function readAttribution(headers: IncomingHttpHeaders): Attribution | null {
  let attribution: Attribution | null = null;
  for (const [header, field, read] of READERS) {
    const raw = headers[header];
    if (raw === undefined) continue;
    attribution ??= { workflowId: null, workflowName: null, executionId: null, nodeName: null, aiTool: null, traceId: null, invalid: null };
    // Node joins a repeated custom header with ", ", which no valid value contains; an array never comes for these names.
    const value = typeof raw === 'string' ? read(raw) : null;
    if (value === null) (attribution.invalid ??= []).push(field);
    else (attribution as unknown as Record<Field, string | boolean>)[field] = value;
  }
  return attribution;
}

/** Express middleware, mounted right after request tracking: puts the request's attribution into its context. */
export const attributeRequest: RequestHandler = (req, res, next) => {
  contextOf(res).attribution = readAttribution(req.headers);
  next();
};
