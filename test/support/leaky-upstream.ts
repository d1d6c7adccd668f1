/**
 * A careless API on loopback for the leak suite: it reflects the credentials it receives
 * (request headers and query values) back in every shape an API might, so a test can prove
 * the proxy never hands a secret back to its client. The route is the last path segment:
 *
 * - `json`, `text`, `html`, `xml`, `form`: the reflection as a body of that type
 * - `gzip`: the JSON body, gzip-compressed
 * - `redirect`: 302 whose `Location` carries the reflection percent-encoded in its query
 * - `error`: 500 whose JSON body quotes the credential ("invalid credential ...")
 * - `reason`: 401 whose reason phrase (status line) quotes the Authorization header
 * - `zstd`: a text body in an encoding the proxy cannot decode (it must refuse to relay it)
 *
 * Every answer also reflects the values in response headers (`x-echo-*`, `set-cookie`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

export interface LeakyUpstream {
  url: string;
  /** Method, raw URL and headers of every request received. */
  received: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** What the API reflects: the credential-carrying headers and every query value, decoded. */
interface Reflection {
  authorization: string;
  apiKey: string;
  url: string;
  query: Record<string, string>;
}

function reflect(req: http.IncomingMessage): Reflection {
  const url = new URL(req.url ?? '/', 'http://upstream.invalid');
  const header = (name: string): string => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  return { authorization: header('authorization'), apiKey: header('x-api-key'), url: req.url ?? '', query: Object.fromEntries(url.searchParams) };
}

function asText(r: Reflection): string {
  return [`authorization: ${r.authorization}`, `x-api-key: ${r.apiKey}`, `url: ${r.url}`, ...Object.entries(r.query).map(([k, v]) => `${k}=${v}`)].join('\n');
}

function asForm(r: Reflection): string {
  return new URLSearchParams({ authorization: r.authorization, apiKey: r.apiKey, url: r.url, ...r.query }).toString();
}

function asXml(r: Reflection): string {
  const query = Object.entries(r.query).map(([k, v]) => `<param name="${k}">${v}</param>`);
  return `<?xml version="1.0"?><echo><authorization>${r.authorization}</authorization><apiKey>${r.apiKey}</apiKey><url>${r.url}</url>${query.join('')}</echo>`;
}

function asHtml(r: Reflection): string {
  return `<!doctype html><html><body><h1>Your request</h1><pre>${asText(r)}</pre><a href="${r.url}">again</a></body></html>`;
}

/** The reflection in response headers; header values only carry latin1, which every credential here is. */
function echoHeaders(r: Reflection): http.OutgoingHttpHeaders {
  return {
    'x-echo-authorization': r.authorization,
    'x-echo-api-key': r.apiKey,
    'x-echo-url': r.url,
    'set-cookie': [`seen=${encodeURIComponent(r.authorization)}; Path=/`, `key=${r.apiKey}; HttpOnly`],
  };
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, origin: string): void {
  const r = reflect(req);
  const route = new URL(req.url ?? '/', origin).pathname.split('/').pop();
  const send = (status: number, contentType: string, body: string | Buffer, extra: http.OutgoingHttpHeaders = {}): void => {
    res.writeHead(status, { ...echoHeaders(r), 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };
  const json = JSON.stringify({ ...r, headers: req.headers });
  switch (route) {
    case 'json':
      return send(200, 'application/json', json);
    case 'text':
      return send(200, 'text/plain; charset=utf-8', asText(r));
    case 'html':
      return send(200, 'text/html; charset=utf-8', asHtml(r));
    case 'xml':
      return send(200, 'application/xml', asXml(r));
    case 'form':
      return send(200, 'application/x-www-form-urlencoded', asForm(r));
    case 'gzip':
      return send(200, 'application/json', zlib.gzipSync(json), { 'content-encoding': 'gzip' });
    case 'redirect':
      return send(302, 'text/plain', 'moved', { location: `${origin}/base/next?${asForm(r)}` });
    case 'error':
      return send(500, 'application/json', JSON.stringify({ error: `invalid credential ${r.authorization}${r.apiKey}`, query: r.query }));
    case 'reason':
      res.writeHead(401, `Rejected ${r.authorization}`, { ...echoHeaders(r), 'content-length': 0 });
      res.end();
      return;
    case 'zstd':
      return send(200, 'text/plain', asText(r), { 'content-encoding': 'zstd' });
    default:
      return send(404, 'text/plain', `no route ${r.url}`);
  }
}

/** Starts the careless API on 127.0.0.1 with an ephemeral port. */
export async function startLeakyUpstream(): Promise<LeakyUpstream> {
  const received: LeakyUpstream['received'] = [];
  let origin = '';
  const server = http.createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => answer(req, res, origin));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
