/**
 * How the secret of one HTTP Request node moves behind the proxy: which injection gives the
 * API the same credential (bearer for `Authorization: Bearer x`, basic for `Basic x` and URL
 * user info, header for an `X-Api-Key`-like header or another scheme, query for a query
 * parameter), what Vault must hold, and which parameters to remove from the node.
 *
 * A node the proxy could not serve the same way is refused with the reason: a secret in the
 * body, the URL path or code; a secret mixed with an expression that reads data; several
 * different secrets in one node (a service injects one credential).
 */
import { textOf } from './http-request-shape';
import { flattenExpression } from './literals';
import type { Detection } from './scan';
import { decodeBasic } from './secret-rules';
import { safeDecode, splitUrl } from './url-parts';
import type { WorkflowNode } from './workflow';

/** The injection of the service, in the proxy config's shape (without the secret field names' defaults). */
export type InjectPlan = { type: 'bearer' } | { type: 'basic' } | { type: 'header'; name: string; template: string } | { type: 'query'; param: string };

/** One parameter to take out of the node. */
export type Removal =
  | { kind: 'row'; path: Array<string | number> }
  | { kind: 'json-key'; parameter: string; key: string }
  | { kind: 'url-userinfo' }
  | { kind: 'url-query'; name: string };

export interface SecretMove {
  inject: InjectPlan;
  /** The fields of the Vault secret: `token`, or `username` and `password` for basic. */
  data: Record<string, string>;
  removals: Removal[];
}

export type MovePlan = { ok: true; move: SecretMove } | { ok: false; reason: string };

const refuse = (reason: string): MovePlan => ({ ok: false, reason });
const DYNAMIC = '\u0000';

/** The value a row or JSON key holds, as the slot recorded it. */
function removalOf(detection: Detection): Removal | null {
  const { slot } = detection;
  const [parameter] = slot.path;
  if (slot.jsonPath.length === 1 && slot.path.length === 1 && typeof parameter === 'string') return { kind: 'json-key', parameter, key: slot.jsonPath[0] };
  // A name/value row: [collection, 'parameter' | 'parameters', index, 'value'].
  if (slot.jsonPath.length === 0 && slot.path.length === 4 && typeof slot.path[2] === 'number' && slot.path[3] === 'value') {
    return { kind: 'row', path: slot.path.slice(0, 3) };
  }
  return null;
}

/** What the credential text is around the secret: `Bearer ` before it, say. Null when an expression reads data there. */
function around(value: string, secret: string): { prefix: string; suffix: string } | null {
  const flat = flattenExpression(value, DYNAMIC);
  const at = flat.indexOf(secret);
  if (at === -1 || flat.includes(DYNAMIC)) return null;
  return { prefix: flat.slice(0, at), suffix: flat.slice(at + secret.length) };
}

function headerMove(name: string, prefix: string, suffix: string, secret: string, removal: Removal): MovePlan {
  if (name.toLowerCase() === 'authorization' && suffix === '') {
    if (/^bearer\s+$/i.test(prefix)) return { ok: true, move: { inject: { type: 'bearer' }, data: { token: secret }, removals: [removal] } };
    if (/^basic\s+$/i.test(prefix)) {
      const basic = decodeBasic(secret);
      if (basic === null) return refuse('its Authorization: Basic value does not decode to user:password');
      return { ok: true, move: { inject: { type: 'basic' }, data: { username: basic.username, password: basic.password }, removals: [removal] } };
    }
  }
  if (prefix.includes('{{') || suffix.includes('{{')) return refuse(`header ${name} mixes the secret with template text`);
  return { ok: true, move: { inject: { type: 'header', name, template: `${prefix}{{token}}${suffix}` }, data: { token: secret }, removals: [removal] } };
}

function urlMove(node: WorkflowNode, detection: Detection): MovePlan {
  const url = splitUrl(textOf(node.parameters?.url));
  if (url === null) return refuse('its URL is not a plain absolute URL');
  if (detection.finding.location === 'url-userinfo' && url.userinfo !== null) {
    const colon = url.userinfo.indexOf(':');
    const username = safeDecode(colon === -1 ? url.userinfo : url.userinfo.slice(0, colon));
    const password = colon === -1 ? '' : safeDecode(url.userinfo.slice(colon + 1));
    return { ok: true, move: { inject: { type: 'basic' }, data: { username, password }, removals: [{ kind: 'url-userinfo' }] } };
  }
  const param = detection.urlQueryParam;
  if (detection.finding.location === 'url-query' && param !== null) {
    const pair = url.query.find((p) => safeDecode(p.name) === param);
    if (pair === undefined || safeDecode(pair.value) !== detection.secret) return refuse(`query parameter ${param} of its URL holds more than the secret`);
    return { ok: true, move: { inject: { type: 'query', param }, data: { token: detection.secret }, removals: [{ kind: 'url-query', name: pair.name }] } };
  }
  return refuse('the secret is part of the URL path; the proxy injects headers, query parameters and basic auth only');
}

/** The move of one detection of an HTTP Request node. */
function planOne(node: WorkflowNode, detection: Detection): MovePlan {
  const { location } = detection.finding;
  if (location === 'url' || location === 'url-userinfo' || location === 'url-query') return urlMove(node, detection);
  if (location !== 'header' && location !== 'query') {
    return refuse(
      `the secret is in the request ${location === 'body' ? 'body' : `parameter ${detection.finding.parameter}`}; the proxy injects headers, query parameters and basic auth only`,
    );
  }
  const removal = removalOf(detection);
  const name = detection.slot.name;
  if (removal === null || name === null) return refuse(`the secret in ${detection.finding.parameter} is inside an expression or nested JSON; move it by hand`);
  const parts = around(detection.slot.value, detection.secret);
  if (parts === null) return refuse(`${location} ${name} builds the secret with an expression that reads data; move it by hand`);
  if (location === 'header') return headerMove(name, parts.prefix, parts.suffix, detection.secret, removal);
  if (parts.prefix !== '' || parts.suffix !== '') return refuse(`query parameter ${name} holds more than the secret`);
  return { ok: true, move: { inject: { type: 'query', param: name }, data: { token: detection.secret }, removals: [removal] } };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The move of all secrets of one HTTP Request node: one credential, or a refusal. */
export function planNodeMove(node: WorkflowNode, detections: readonly Detection[]): MovePlan {
  let merged: SecretMove | null = null;
  for (const detection of detections) {
    const plan = planOne(node, detection);
    if (!plan.ok) return plan;
    if (merged === null) merged = { ...plan.move, removals: [...plan.move.removals] };
    else if (sameJson(merged.inject, plan.move.inject) && sameJson(merged.data, plan.move.data)) {
      for (const removal of plan.move.removals) if (!merged.removals.some((r) => sameJson(r, removal))) merged.removals.push(removal);
    } else return refuse(`it holds ${detections.length} different secrets; a proxy service injects one credential`);
  }
  return merged === null ? refuse('no secret found') : { ok: true, move: merged };
}
