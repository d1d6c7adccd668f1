/**
 * One HTTP request with node:http, exactly as given: the path goes on the request line
 * untouched (no URL parsing or normalisation on the way, unlike fetch or supertest), headers
 * may repeat, and the answer comes back whole: status line, raw headers and undecoded body
 * bytes. The leak and fuzz suites need all three to search for what must not be there.
 */
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as received (still compressed if it was). */
  body: Buffer;
  /** Status line, every header line and the body (latin1), for "never contains" assertions. */
  transcript: string;
}

export interface RawRequest {
  method?: string;
  /** Sent as-is on the request line. */
  path: string;
  /** Name/value pairs, in order; a name may repeat. Without a `host` pair, the base URL's host is sent. */
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: string | Buffer;
}

/** Sends one request on a fresh connection (no keep-alive pool left open) and reads the whole answer. */
export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const pairs = request.headers ?? [];
  // Node adds no Host of its own when headers come as a list, and its server requires one.
  const withHost = pairs.some(([name]) => name.toLowerCase() === 'host') ? pairs : [['host', new URL(baseUrl).host] as const, ...pairs];
  const headers = withHost.flatMap(([name, value]) => [name, value]);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method: request.method ?? 'GET', path: request.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const lines = [`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}`];
        for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          transcript: `${lines.join('\n')}\n\n${body.toString('latin1')}`,
        });
      });
    });
    req.on('error', reject);
    req.end(request.body);
  });
}
