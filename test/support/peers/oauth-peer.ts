/**
 * The authorization server (oauth-server.mjs, oidc-provider in a child process) and a
 * resource server that accepts a bearer token only when the authorization server's
 * introspection endpoint says it is active: the two real peers an oauth2 service talks to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A client registered at the authorization server (oidc-provider client metadata). */
export interface RegisteredClient {
  client_id: string;
  client_secret: string;
  grant_types: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
  scope?: string;
}

export interface TokenStats {
  token: { client_credentials: number; refresh_token: number };
  success: number;
  error: number;
  errors: string[];
}

export interface AuthorizationServer {
  url: string;
  tokenUrl: string;
  stats(): Promise<TokenStats>;
  /** A fresh refresh token for `clientId` (the consent done once in a browser). */
  issueRefreshToken(clientId: string): Promise<string>;
  /** RFC 7009 revocation, authenticated as the token's client. */
  revoke(client: RegisteredClient, token: string): Promise<void>;
  /** RFC 7662 introspection, authenticated as the token's client. */
  isActive(client: RegisteredClient, token: string): Promise<boolean>;
  close(): Promise<void>;
}

function registered(client: RegisteredClient): Record<string, unknown> {
  const interactive = client.grant_types.includes('refresh_token');
  return {
    ...client,
    grant_types: interactive ? ['authorization_code', 'refresh_token'] : client.grant_types,
    redirect_uris: interactive ? ['https://client.example/callback'] : [],
    response_types: interactive ? ['code'] : [],
  };
}

function clientAuth(client: RegisteredClient, form: URLSearchParams): Record<string, string> {
  if (client.token_endpoint_auth_method === 'client_secret_post') {
    form.set('client_id', client.client_id);
    form.set('client_secret', client.client_secret);
    return {};
  }
  const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64');
  return { authorization: `Basic ${basic}` };
}

/** Starts the authorization server; `accessTtlSeconds` is the life of every access token it issues. */
export async function startAuthorizationServer(clients: RegisteredClient[], accessTtlSeconds = 600): Promise<AuthorizationServer> {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'oauth-server.mjs')], {
    env: { ...process.env, OAUTH_CLIENTS: JSON.stringify(clients.map(registered)), OAUTH_ACCESS_TTL: String(accessTtlSeconds) },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the authorization server exited (${code}) before it listened`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const post = async (route: string, form: URLSearchParams, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${url}${route}`, { method: 'POST', body: form, headers });
  return {
    url,
    tokenUrl: `${url}/token`,
    async stats() {
      return (await (await fetch(`${url}/_stats`)).json()) as TokenStats;
    },
    async issueRefreshToken(clientId) {
      const res = await post(`/_refresh-token?client=${encodeURIComponent(clientId)}`, new URLSearchParams());
      if (!res.ok) throw new Error(`issuing a refresh token failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { refresh_token: string }).refresh_token;
    },
    async revoke(client, token) {
      const form = new URLSearchParams({ token });
      const res = await post('/token/revocation', form, clientAuth(client, form));
      if (!res.ok) throw new Error(`revocation failed: ${res.status}`);
    },
    async isActive(client, token) {
      const form = new URLSearchParams({ token });
      const res = await post('/token/introspection', form, clientAuth(client, form));
      return ((await res.json()) as { active: boolean }).active === true;
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) resolve();
        else {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }
      }),
  };
}

export interface ResourceServer {
  url: string;
  /** Every bearer token presented, in order, and whether it was accepted. */
  seen: Array<{ method: string; token: string; accepted: boolean }>;
  close(): Promise<void>;
}

/**
 * An API that introspects every bearer token at `as` (as `client`) and answers 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` unless it is active; `/echo` answers with
 * the token it got, so the tests can check the proxy scrubs it.
 */
export async function startResourceServer(as: AuthorizationServer, client: RegisteredClient): Promise<ResourceServer> {
  const seen: ResourceServer['seen'] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      as.isActive(client, token).then(
        (active) => {
          seen.push({ method: req.method!, token, accepted: active });
          res.setHeader('content-type', 'application/json');
          if (!active) {
            res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
            res.end(JSON.stringify({ error: 'invalid_token' }));
            return;
          }
          res.end(JSON.stringify(req.url!.includes('/echo') ? { ok: true, youSent: token } : { ok: true }));
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
