/**
 * Finds pasted secrets in workflows: every slot of every node (node-slots.ts) is broken into
 * candidate strings (plain values; the static text and literals of `={{ … }}` expressions;
 * the literals of code; the user info, query and whole text of URLs), and each candidate is
 * tried against the secret rules (secret-rules.ts).
 *
 * A Detection holds the secret itself, for `rewrite`; a Finding, which is all that is ever
 * printed, holds only a fingerprint of it.
 */
import { createHash } from 'node:crypto';
import { expressionParts, stringLiterals } from './literals';
import { nodeSlots, parameterPath, type Slot, type SlotLocation } from './node-slots';
import { matchSecret, type SecretKind, type SecretMatch } from './secret-rules';
import { safeDecode, staticText } from './url-parts';
import type { SourcedWorkflow, WorkflowNode } from './workflow';

/** One pasted secret, as reported: where it is and a fingerprint, never the value. */
export interface Finding {
  workflowId: string;
  workflowName: string;
  node: string;
  nodeType: string;
  /** Path inside the node's parameters, e.g. `headerParameters.parameters[0].value`. */
  parameter: string;
  kind: SecretKind;
  /** First 8 hex digits of the secret's SHA-256: tells findings of the same secret together, reveals nothing. */
  fingerprint: string;
  /** What the text is: header, query, body, url, code, field or parameter. */
  location: SlotLocation | 'url-userinfo' | 'url-query';
  /** The file (or n8n URL) the workflow was read from. */
  source: string;
}

/** A finding together with what rewrite needs to move it: the secret and its exact slot. */
export interface Detection {
  finding: Finding;
  secret: string;
  slot: Slot;
  /** For URL findings: the query parameter name, or null for user info. */
  urlQueryParam: string | null;
}

/** The short, one-way fingerprint printed instead of a secret. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
}

interface Candidate {
  text: string;
  name: string | null;
  location?: Finding['location'];
  urlQueryParam?: string | null;
}

const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^/?#@\u0000]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?/i;

function* urlCandidates(value: string): Generator<Candidate> {
  const { text } = staticText(value);
  const parts = URL_PARTS.exec(text);
  if (parts !== null) {
    const userinfo = parts[2];
    if (userinfo !== undefined) {
      const colon = userinfo.indexOf(':');
      const user = safeDecode(colon === -1 ? userinfo : userinfo.slice(0, colon));
      const password = colon === -1 ? '' : safeDecode(userinfo.slice(colon + 1));
      // A token as the user name (https://<token>@host) is as common as a password.
      yield { text: password, name: 'password', location: 'url-userinfo', urlQueryParam: null };
      yield { text: user, name: colon === -1 ? 'token' : null, location: 'url-userinfo', urlQueryParam: null };
    }
    for (const pair of (parts[5] ?? '').split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = safeDecode(pair.slice(0, eq));
      yield { text: safeDecode(pair.slice(eq + 1)), name, location: 'url-query', urlQueryParam: name };
    }
  }
  // Tokens in the path (a Telegram bot URL, a Slack webhook) match by format alone.
  yield { text: text.replace(/\u0000/g, ' '), name: null, location: 'url' };
}

/**
 * `name=value` pairs (form bodies, .env lines), `<name>value</name>` (XML), `"name": "value"`
 * (JSON inside text) and `Name: value` (a header in a curl command) inside longer text: the
 * name makes a random-looking value a secret.
 */
const EMBEDDED_PAIRS = [
  /(?:^|[?&\s;,])([A-Za-z_][\w.-]{0,60})=([^&\s;,'"]+)/g,
  /<([A-Za-z_][\w.-]{0,60})>([^<]{1,500})<\/\1>/g,
  /"([^"\\]{1,60})"\s*:\s*"((?:[^"\\]|\\.)*)"/g,
  /(?:^|['"\s])([A-Za-z][\w-]{0,60}):\s*((?:bearer|token|basic)\s+[^\s'"]+|[^\s'"]+)/gi,
];

function* embeddedPairs(text: string): Generator<Candidate> {
  if (text.length < 12) return;
  for (const pattern of EMBEDDED_PAIRS) {
    for (const match of text.matchAll(pattern)) yield { text: safeDecode(match[2]), name: match[1] };
  }
}

function* textCandidates(text: string, name: string | null): Generator<Candidate> {
  yield { text, name };
  yield* embeddedPairs(text);
}

function* candidates(slot: Slot): Generator<Candidate> {
  if (typeof slot.shape === 'object') {
    for (const literal of stringLiterals(slot.value, slot.shape.code)) yield { text: literal.value, name: literal.name };
    return;
  }
  if (slot.shape === 'url') yield* urlCandidates(slot.value);
  if (slot.value.startsWith('=') && slot.value.includes('{{')) {
    const parts = expressionParts(slot.value.slice(1));
    for (const text of parts.staticText) yield* textCandidates(text, slot.name);
    for (const literal of parts.literals) yield { text: literal.value, name: literal.name ?? slot.name };
    // A credential built from pieces: `={{ 'Bearer ' + 'sk_live_' + '…' }}`.
    for (const text of parts.concatenations) yield { text, name: slot.name };
    return;
  }
  if (slot.shape !== 'url') yield* textCandidates(slot.value.startsWith('=') ? slot.value.slice(1) : slot.value, slot.name);
}

/** The secrets of one slot, each once (several candidates can hold the same secret). */
function slotMatches(slot: Slot): Array<SecretMatch & { location?: Finding['location']; urlQueryParam: string | null }> {
  const found = new Map<string, SecretMatch & { location?: Finding['location']; urlQueryParam: string | null }>();
  for (const candidate of candidates(slot)) {
    const match = matchSecret(candidate.text, candidate.name);
    if (match === null) continue;
    // The more specific reading wins: a query parameter over the URL as a whole, `Basic x`
    // (credentials) over x alone (a random string).
    const known = found.get(match.secret);
    if (
      known === undefined ||
      (known.location === 'url' && candidate.location !== 'url') ||
      (known.kind === 'generic-secret' && match.kind !== 'generic-secret')
    ) {
      found.set(match.secret, { ...match, location: candidate.location, urlQueryParam: candidate.urlQueryParam ?? null });
    }
  }
  return [...found.values()];
}

/** Every pasted secret in one node. */
export function scanNode(node: WorkflowNode, where: { workflowId: string; workflowName: string; source: string }): Detection[] {
  const detections: Detection[] = [];
  for (const slot of nodeSlots(node.parameters ?? {}, node.type)) {
    for (const match of slotMatches(slot)) {
      detections.push({
        finding: {
          ...where,
          node: node.name,
          nodeType: node.type,
          parameter: parameterPath(slot),
          kind: match.kind,
          fingerprint: fingerprint(match.secret),
          location: match.location ?? slot.location,
        },
        secret: match.secret,
        slot,
        urlQueryParam: match.urlQueryParam,
      });
    }
  }
  return detections;
}

/** Every pasted secret in a workflow. */
export function scanWorkflow({ source, workflow }: SourcedWorkflow): Detection[] {
  const where = { workflowId: workflow.id ?? '', workflowName: workflow.name ?? '', source };
  return workflow.nodes.flatMap((node) => scanNode(node, where));
}
