/**
 * Dev mode's stand-in for a real API: answers every request with what it received, so a
 * first-time user sees the proxy at work. The injected credential is shown only as a
 * verdict (did it match the dev secret?), never as a value: even a demo should not teach
 * that printing secrets is fine.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';

export interface SampleUpstream {
  url: string;
  close(): Promise<void>;
}

/** Starts the sample API on loopback; `expectedAuthorization` is what the proxy should inject. */
export function startSampleUpstream(expectedAuthorization: string, port = 0): Promise<SampleUpstream> {
  const server: Server = createServer((req, res) => {
    const body = JSON.stringify(
      {
        message: 'Hello from the dev sample upstream. The proxy injected the credential below; your request never carried it.',
        method: req.method,
        url: req.url,
        headers: describeHeaders(req, expectedAuthorization),
      },
      null,
      2,
    );
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    req.resume();
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${bound}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function describeHeaders(req: IncomingMessage, expectedAuthorization: string): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization') {
      shown[name] = sameString(String(value), expectedAuthorization)
        ? 'Bearer <dev secret from Vault, injected by the proxy (value hidden)>'
        : '<unexpected value: hidden>';
    } else {
      shown[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  if (shown.authorization === undefined) shown.authorization = '<missing: the proxy did not inject a credential>';
  return shown;
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
