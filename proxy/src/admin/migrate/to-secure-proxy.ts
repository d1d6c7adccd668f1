/**
 * Turns one HTTP Request node into a Secure Proxy Request node (typeVersion 2): the same id,
 * name, position and node settings (so connections, which n8n keys by name, stay intact), the
 * method, the path relative to the service's target, the query, headers and body without the
 * secret, and the "Secure Proxy API" credential referenced by name. n8n resolves a credential
 * reference `{ id: null, name }` to the credential of that name when the workflow is imported.
 */
import { readRequestShape, textOf } from './http-request-shape';
import type { Removal, SecretMove } from './move-plan';
import type { ServiceMapping } from './service-map';
import { splitUrl, type UrlParts } from './url-parts';
import { SECURE_PROXY_CREDENTIAL_TYPE, SECURE_PROXY_REQUEST_TYPE, type WorkflowNode } from './workflow';

/** The credential the rewritten nodes reference. */
export interface CredentialRef {
  id: string | null;
  name: string;
}

export type Conversion = { ok: true; node: WorkflowNode; droppedOptions: string[] } | { ok: false; reason: string };

/** Headers the Secure Proxy Request node refuses: the proxy owns authentication and the host. */
const REFUSED_HEADER = /^(?:authorization|proxy-authorization|host|x-secure-proxy-.*)$/i;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** JSON text without one `"key": "string"` pair, or null when the pair is not there in that form. */
function withoutJsonKey(text: string, key: string): string | null {
  const pair = new RegExp(`"${escapeRegExp(key)}"\\s*:\\s*"(?:[^"\\\\]|\\\\.)*"\\s*,?`);
  if (!pair.test(text)) return null;
  return text.replace(pair, '').replace(/,(\s*)\}/g, '$1}');
}

function withoutRows(parameters: Record<string, unknown>, paths: Array<Array<string | number>>): void {
  // Highest index first, so earlier removals do not shift later ones.
  for (const path of [...paths].sort((a, b) => Number(b[2]) - Number(a[2]))) {
    const [collection, key, index] = path;
    const rows = (parameters[collection as string] as Record<string, unknown> | undefined)?.[key as string];
    if (Array.isArray(rows)) rows.splice(index as number, 1);
  }
}

/** The URL value rebuilt without user info and without the removed query parameters. */
function pathAndQuery(url: UrlParts, removedQuery: ReadonlySet<string>): string {
  const query = url.query.filter((pair) => !removedQuery.has(pair.name)).map((pair) => (pair.value === '' ? pair.name : `${pair.name}=${pair.value}`));
  return `${url.path === '' ? '/' : url.path}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

/** The path relative to the service target's base path, or null when the URL is outside it. */
function relativeTo(target: string, path: string): string | null {
  const base = new URL(target).pathname.replace(/\/+$/, '');
  if (base === '') return path;
  if (path !== base && !path.startsWith(`${base}/`) && !path.startsWith(`${base}?`)) return null;
  const rest = path.slice(base.length);
  return rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
}

/** Applies the removals to a copy of the parameters; null with a reason when one does not apply. */
function cleanedParameters(node: WorkflowNode, removals: readonly Removal[]): { parameters: Record<string, unknown>; removedQuery: Set<string> } | string {
  const parameters = structuredClone(node.parameters ?? {});
  const removedQuery = new Set<string>();
  withoutRows(
    parameters,
    removals.flatMap((r) => (r.kind === 'row' ? [r.path] : [])),
  );
  for (const removal of removals) {
    if (removal.kind === 'json-key') {
      const next = withoutJsonKey(textOf(parameters[removal.parameter]), removal.key);
      if (next === null) return `the secret under "${removal.key}" in ${removal.parameter} is not a plain JSON string`;
      parameters[removal.parameter] = next;
    } else if (removal.kind === 'url-query') removedQuery.add(removal.name);
  }
  return { parameters, removedQuery };
}

/** The Secure Proxy Request node that replaces `node`, or why it cannot. */
export function toSecureProxyNode(node: WorkflowNode, move: SecretMove, mapping: ServiceMapping, credential: CredentialRef): Conversion {
  const cleaned = cleanedParameters(node, move.removals);
  if (typeof cleaned === 'string') return { ok: false, reason: cleaned };
  const url = splitUrl(textOf(node.parameters?.url));
  if (url === null) return { ok: false, reason: 'its URL is not a plain absolute URL' };
  const relative = relativeTo(mapping.target, pathAndQuery(url, cleaned.removedQuery));
  if (relative === null) return { ok: false, reason: `its URL is outside the service target ${mapping.target}` };

  const shape = readRequestShape(cleaned.parameters, node.typeVersion ?? 1);
  const refused = shape.headerNames.find((name) => REFUSED_HEADER.test(name));
  if (refused !== undefined)
    return { ok: false, reason: `it also sends a ${refused} header, which the Secure Proxy Request node refuses (the proxy owns authentication)` };

  const { parameters: _old, type: _type, typeVersion: _version, credentials: _credentials, ...kept } = node;
  return {
    ok: true,
    droppedOptions: shape.droppedOptions,
    node: {
      parameters: {
        service: { __rl: true, mode: 'name', value: mapping.service },
        method: shape.method,
        path: url.expression ? `=${relative}` : relative,
        ...shape.parameters,
      },
      ...kept,
      type: SECURE_PROXY_REQUEST_TYPE,
      typeVersion: 2,
      credentials: { [SECURE_PROXY_CREDENTIAL_TYPE]: { id: credential.id, name: credential.name } },
    },
  };
}
