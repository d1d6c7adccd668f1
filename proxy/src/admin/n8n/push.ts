/**
 * Puts a freshly issued proxy token into n8n's "Secure Proxy API" credential through n8n's
 * public REST API (header `x-n8n-api-key`), so rotation needs no hand copy:
 * - before Vault is changed, `checkCredential` proves the key works and the credential
 *   exists and is a `secureProxyApi` one: `GET /api/v1/credentials/{id}`, or, where the key
 *   may not read single credentials (n8n 2.41 grants API keys `credential:list` but not
 *   `credential:read`), the credential list;
 * - after Vault holds the new token, `pushToken` sends
 *   `PATCH /api/v1/credentials/{id}` `{"data":{"token":…},"isPartialData":true}`, which keeps
 *   the credential's other fields.
 * Node's fetch with a deadline, no redirects (a redirect would carry the API key elsewhere).
 * Failures are N8nRefusal: who refused, the status and n8n's own message, never the key or token.
 */
import { REDACTED } from '../../observability/redaction';

/** The credential type the node package defines; a credential of another type is not touched. */
export const CREDENTIAL_TYPE = 'secureProxyApi';
/** Pages of the credential list read at most, 100 credentials each. */
const MAX_LIST_PAGES = 50;

export interface N8nTarget {
  /** n8n's base URL, without a trailing slash (a path prefix such as /n8n is kept). */
  baseUrl: string;
  credentialId: string;
  apiKey: string;
  timeoutMs: number;
}

/** n8n refused or could not be reached; the message says which and why. */
export class N8nRefusal extends Error {
  /** HTTP status n8n answered with; null when it did not answer. */
  readonly status: number | null;

  constructor(message: string, status: number | null) {
    super(message);
    this.name = 'N8nRefusal';
    this.status = status;
  }
}

export interface N8nAnswer {
  status: number;
  body: unknown;
}

/** Removes the values that must never be echoed from text n8n sent back. */
function withoutSecrets(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s !== '').reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

/** n8n's error text: `{"message": …}` from its API, else the start of the body. */
function n8nMessage(answer: N8nAnswer, secrets: readonly string[]): string {
  const body = answer.body;
  const raw =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : typeof body === 'string'
        ? body
        : JSON.stringify(body ?? '');
  const text = withoutSecrets(raw.replace(/\s+/g, ' ').trim(), secrets);
  return text === '' ? 'no message' : text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** What to do about a refusal, by status. */
function hint(status: number): string {
  if (status === 401) return '; check the API key (N8N_API_KEY or --n8n-api-key-file)';
  if (status === 403) return '; the API key lacks the scope for this call (it needs credential:list and credential:update)';
  if (status === 404) return '; check --n8n-credential-id and --n8n-url';
  return '';
}

/** Where and how to reach n8n's public API; an N8nTarget is one. */
export type N8nApi = Pick<N8nTarget, 'baseUrl' | 'apiKey' | 'timeoutMs'>;

/**
 * One call to n8n's public API (`/api/v1` + path): n8n's answer, or an N8nRefusal when it did
 * not answer or redirected. `secrets` are removed from any text of n8n's kept in a message.
 */
export async function callN8nApi(target: N8nApi, method: string, path: string, secrets: readonly string[], body?: unknown): Promise<N8nAnswer> {
  const url = `${target.baseUrl}/api/v1${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
      headers: { 'x-n8n-api-key': target.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    const why =
      name === 'TimeoutError'
        ? `did not answer ${method} ${path} within ${target.timeoutMs} ms`
        : `is unreachable (${typeof cause === 'string' ? cause : String(name)})`;
    throw new N8nRefusal(`n8n at ${target.baseUrl} ${why}`, null);
  }
  const text = await response.text();
  let parsed: unknown = text;
  if (response.headers.get('content-type')?.includes('json') === true && text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text; // Not JSON after all: keep the text for the message.
    }
  }
  if (response.status >= 300 && response.status < 400) {
    throw new N8nRefusal(`n8n answered ${method} ${path} with a redirect (${response.status}); pass the final n8n URL as --n8n-url`, response.status);
  }
  return { status: response.status, body: parsed };
}

/** The refusal for a non-success answer: status, n8n's message and what to check (`advice`, by default the credential calls' hints). */
export function refusal(what: string, answer: N8nAnswer, secrets: readonly string[], advice: (status: number) => string = hint): N8nRefusal {
  return new N8nRefusal(`n8n refused ${what}: ${answer.status} ${n8nMessage(answer, secrets)}${advice(answer.status)}`, answer.status);
}

function typeOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' ? (value as { type: string }).type : undefined;
}

/** Finds the credential in n8n's credential list (id and type only; n8n never lists data). */
async function typeFromList(target: N8nTarget): Promise<string | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const query = new URLSearchParams({ limit: '100', ...(cursor === undefined ? {} : { cursor }) });
    const answer = await callN8nApi(target, 'GET', `/credentials?${query.toString()}`, [target.apiKey]);
    if (answer.status !== 200) throw refusal('listing its credentials', answer, [target.apiKey]);
    const body = answer.body as { data?: unknown; nextCursor?: unknown };
    const found: unknown = Array.isArray(body.data) ? (body.data as Array<{ id?: unknown } | null>).find((c) => c?.id === target.credentialId) : undefined;
    if (found !== undefined) return typeOf(found) ?? '(unknown)';
    if (typeof body.nextCursor !== 'string' || body.nextCursor === '') return undefined;
    cursor = body.nextCursor;
  }
  return undefined;
}

/**
 * Proves the key works and the credential exists with type secureProxyApi. Throws an
 * N8nRefusal saying what is wrong; nothing is changed in n8n.
 */
export async function checkCredential(target: N8nTarget): Promise<void> {
  const id = encodeURIComponent(target.credentialId);
  const answer = await callN8nApi(target, 'GET', `/credentials/${id}`, [target.apiKey]);
  let type: string | undefined;
  if (answer.status === 200) type = typeOf(answer.body);
  else if (answer.status === 403) type = await typeFromList(target);
  else throw refusal(`reading credential ${target.credentialId}`, answer, [target.apiKey]);
  if (type === undefined)
    throw new N8nRefusal(`n8n has no credential with id ${target.credentialId} (looked through its credential list); check --n8n-credential-id`, 404);
  if (type !== CREDENTIAL_TYPE) {
    throw new N8nRefusal(
      `credential ${target.credentialId} in n8n is of type "${type}", not "${CREDENTIAL_TYPE}" (Secure Proxy API); refusing to put a proxy token into it`,
      null,
    );
  }
}

/** Writes the token into the credential's Proxy Token field, keeping its other fields. */
export async function pushToken(target: N8nTarget, token: string): Promise<void> {
  const secrets = [target.apiKey, token];
  const answer = await callN8nApi(target, 'PATCH', `/credentials/${encodeURIComponent(target.credentialId)}`, secrets, {
    data: { token },
    isPartialData: true,
  });
  if (answer.status !== 200) throw refusal(`updating credential ${target.credentialId}`, answer, secrets);
}
