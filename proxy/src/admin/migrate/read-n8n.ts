/**
 * Workflows straight from a running n8n, through its public API: `GET /api/v1/workflows`,
 * 100 a page, following `nextCursor` until n8n returns none. The API key comes from
 * N8N_API_KEY or `--n8n-api-key-file`, never from a flag (ps and shell history would show it),
 * and is never printed. The key needs the `workflow:list` and `workflow:read` scopes.
 */
import { callN8nApi, N8nRefusal, refusal, type N8nApi } from '../n8n/push';
import { apiKeyOf, isLoopbackHost, parseN8nUrl } from '../n8n/target';
import { UnreadableInputError } from './errors';
import { isWorkflow, type SourcedWorkflow } from './workflow';

/** The most pages read (100 workflows each): an n8n that never stops paginating is an error, not a hang. */
const MAX_PAGES = 1000;

export interface N8nSourceFlags {
  n8nUrl: string;
  n8nApiKeyFile?: string;
  timeoutMs: number;
}

function advice(status: number): string {
  if (status === 401) return '; check the API key (N8N_API_KEY or --n8n-api-key-file)';
  if (status === 403) return '; the API key needs the workflow:list and workflow:read scopes';
  if (status === 404) return "; check --n8n-url (n8n's base URL, with the public API enabled)";
  return '';
}

/** Checks the flags and the key before any call; `warn` gets advice such as plain http across a network. */
export async function n8nApiOf(flags: N8nSourceFlags, env: Readonly<Record<string, string | undefined>>, warn: (line: string) => void): Promise<N8nApi> {
  const url = parseN8nUrl(flags.n8nUrl);
  const apiKey = await apiKeyOf(flags, env);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    warn(`warning: --n8n-url is plain http to ${url.host}: the API key and your workflows cross the network unencrypted; use https`);
  }
  return { baseUrl: url.href.replace(/\/+$/, ''), apiKey, timeoutMs: flags.timeoutMs };
}

/** Every workflow the key may read, page by page. */
export async function readN8nWorkflows(api: N8nApi): Promise<SourcedWorkflow[]> {
  const out: SourcedWorkflow[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ limit: '100' });
    if (cursor !== undefined) query.set('cursor', cursor);
    let answer;
    try {
      answer = await callN8nApi(api, 'GET', `/workflows?${query.toString()}`, [api.apiKey]);
    } catch (err) {
      if (err instanceof N8nRefusal) throw new UnreadableInputError(api.baseUrl, err.message);
      throw err;
    }
    if (answer.status !== 200) throw new UnreadableInputError(api.baseUrl, refusal('listing workflows', answer, [api.apiKey], advice).message);
    const body = answer.body as { data?: unknown; nextCursor?: unknown } | null;
    if (body === null || typeof body !== 'object' || !Array.isArray(body.data)) {
      throw new UnreadableInputError(api.baseUrl, 'GET /api/v1/workflows did not answer {"data": [workflows]}; is this an n8n with its public API?');
    }
    for (const workflow of body.data as unknown[]) {
      if (!isWorkflow(workflow)) throw new UnreadableInputError(api.baseUrl, 'GET /api/v1/workflows returned an entry that is not a workflow');
      out.push({ source: `${api.baseUrl}/workflow/${workflow.id ?? ''}`, workflow });
    }
    if (typeof body.nextCursor !== 'string' || body.nextCursor === '') return out;
    cursor = body.nextCursor;
  }
  throw new UnreadableInputError(api.baseUrl, `GET /api/v1/workflows kept returning a next page after ${MAX_PAGES} pages`);
}
