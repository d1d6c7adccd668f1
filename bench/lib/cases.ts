/**
 * What the bench drives: the same three request shapes (small GET, 1 MiB upload, 1 MiB JSON
 * download) against the upstream directly, the baseline and the proxy, the small GET at a
 * fixed rate directly and through the proxy (added latency), and a sanity check that each one
 * gets the right answer before any load is measured.
 */
import type { LoadSpec } from './load.ts';

export const LARGE_BODY_BYTES = 1024 * 1024;
/** The offered load of the added-latency cases, in requests per second. */
export const FIXED_RATE = 500;
/** Connections that share the fixed rate: enough that one slow answer does not hold the rate back. */
const FIXED_RATE_CONNECTIONS = 16;

export type ServerName = 'upstream' | 'baseline' | 'proxy';

export interface Case {
  id: string;
  label: string;
  /** The server under test (whose CPU per request is reported). */
  server: ServerName;
  /** Proxy log level for this case. */
  logLevel?: 'info' | 'warn';
  /**
   * Small requests are measured in rounds of their own, before the 1 MiB cases: moving
   * megabytes leaves every process slower at small requests for seconds afterwards (the
   * baseline served 5,960 req/s after the 1 MiB cases against 7,888 before), a cost common to
   * both servers that would hide how much each spends itself.
   */
  phase: 'small' | 'large';
  spec: LoadSpec;
}

export interface CaseInputs {
  urls: Record<ServerName, string>;
  /** Sent by clients of the baseline and the proxy (the baseline replaces it). */
  proxyToken: string;
  /** What the upstream accepts; the direct case sends it itself. */
  upstreamAuthorization: string;
  connections: number;
}

/** Every case, in the order of a forward round. */
export function buildCases({ urls, proxyToken, upstreamAuthorization, connections }: CaseInputs): Case[] {
  const body = Buffer.alloc(LARGE_BODY_BYTES, 'y');
  const clientAuth = { authorization: `Bearer ${proxyToken}` };
  const get = (base: string, path: string, headers: Record<string, string>): LoadSpec => ({ url: `${base}${path}`, method: 'GET', headers, connections });
  const post = (base: string, path: string): LoadSpec => ({
    url: `${base}${path}`,
    method: 'POST',
    headers: { ...clientAuth, 'content-type': 'application/octet-stream' },
    body,
    connections,
  });
  return [
    {
      id: 'direct',
      label: 'small GET   direct',
      server: 'upstream',
      phase: 'small',
      spec: get(urls.upstream, '/base/hello', { authorization: upstreamAuthorization }),
    },
    { id: 'baseline', label: 'small GET   baseline', server: 'baseline', phase: 'small', spec: get(urls.baseline, '/forward/api/hello', clientAuth) },
    {
      id: 'proxy-info',
      label: 'small GET   proxy (info)',
      server: 'proxy',
      logLevel: 'info',
      phase: 'small',
      spec: get(urls.proxy, '/forward/api/hello', clientAuth),
    },
    {
      id: 'proxy-warn',
      label: 'small GET   proxy (warn)',
      server: 'proxy',
      logLevel: 'warn',
      phase: 'small',
      spec: get(urls.proxy, '/forward/api/hello', clientAuth),
    },
    { id: 'upload-baseline', label: '1 MiB POST  baseline', server: 'baseline', phase: 'large', spec: post(urls.baseline, '/forward/api/upload') },
    { id: 'upload-proxy', label: '1 MiB POST  proxy (info)', server: 'proxy', logLevel: 'info', phase: 'large', spec: post(urls.proxy, '/forward/api/upload') },
    { id: 'download-baseline', label: '1 MiB GET   baseline', server: 'baseline', phase: 'large', spec: get(urls.baseline, '/forward/api/large', clientAuth) },
    {
      id: 'download-proxy',
      label: '1 MiB GET   proxy (info)',
      server: 'proxy',
      logLevel: 'info',
      phase: 'large',
      spec: get(urls.proxy, '/forward/api/large', clientAuth),
    },
    {
      id: 'rate-direct',
      label: `${FIXED_RATE}/s GET    direct`,
      server: 'upstream',
      phase: 'small',
      spec: { ...get(urls.upstream, '/base/hello', { authorization: upstreamAuthorization }), connections: FIXED_RATE_CONNECTIONS, rate: FIXED_RATE },
    },
    {
      id: 'rate-proxy',
      label: `${FIXED_RATE}/s GET    proxy (info)`,
      server: 'proxy',
      phase: 'small',
      logLevel: 'info',
      spec: { ...get(urls.proxy, '/forward/api/hello', clientAuth), connections: FIXED_RATE_CONNECTIONS, rate: FIXED_RATE },
    },
  ];
}

function expectedBody(spec: LoadSpec): { text?: string; length?: number } {
  if (spec.method === 'POST') return { text: `{"received":${LARGE_BODY_BYTES}}` };
  if (spec.url.endsWith('/large')) return { length: LARGE_BODY_BYTES };
  return { text: '{"hello":"world"}' };
}

/** One request per case; returns what was wrong with each that failed. */
export async function sanityCheck(cases: readonly Case[]): Promise<Array<{ where: string; what: string }>> {
  const problems: Array<{ where: string; what: string }> = [];
  for (const c of cases) {
    const { spec } = c;
    const response = await fetch(spec.url, { method: spec.method, headers: spec.headers, body: spec.body });
    const text = await response.text();
    const expected = expectedBody(spec);
    const ok =
      response.status === 200 && (expected.text === undefined || text === expected.text) && (expected.length === undefined || text.length === expected.length);
    if (!ok) problems.push({ where: `sanity ${c.id}`, what: `status ${response.status}, body ${JSON.stringify(text.slice(0, 200))}` });
  }
  return problems;
}
