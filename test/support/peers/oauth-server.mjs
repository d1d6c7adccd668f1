/**
 * A real OAuth 2.0 authorization server for the oauth2 injection tests: oidc-provider on
 * 127.0.0.1, in its own process (it is ESM-only, and a separate process is what the proxy
 * meets in production). Clients from the OAUTH_CLIENTS environment variable (JSON), client
 * authentication checked as registered (client_secret_basic or client_secret_post), the
 * client credentials grant, the refresh token grant with rotation (a reused refresh token
 * revokes the grant, as oidc-provider does), revocation and introspection.
 *
 * Prints one JSON line `{"port":N}` when it listens. Test-only routes:
 * - GET  /_stats: token requests counted by grant type and outcome;
 * - POST /_refresh-token?client=<id>&account=<id>: a new grant with a refresh token for that
 *   client (the consent an admin does once in a browser), answered as `{"refresh_token"}`.
 */
import http from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OAUTH_CLIENTS ?? '[]');
const accessTtl = Number(process.env.OAUTH_ACCESS_TTL ?? 600);
const stats = { token: { client_credentials: 0, refresh_token: 0 }, success: 0, error: 0, errors: [] };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  scopes: ['openid', 'offline_access', 'read', 'write'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
  },
  ttl: { AccessToken: accessTtl, ClientCredentials: accessTtl, RefreshToken: 86400, Grant: 86400 },
  rotateRefreshToken: true,
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id };
      },
    };
  },
  async loadExistingGrant() {
    return undefined;
  },
});
provider.on('grant.success', () => (stats.success += 1));
provider.on('grant.error', (_ctx, err) => {
  stats.error += 1;
  stats.errors.push(err.error ?? err.name);
});

async function mintRefreshToken(clientId, accountId) {
  const client = await provider.Client.find(clientId);
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope('openid offline_access');
  grant.addResourceScope(issuer, 'read');
  const grantId = await grant.save();
  const token = new provider.RefreshToken({
    accountId,
    client,
    grantId,
    scope: 'openid offline_access',
    gty: 'authorization_code',
    iat: Math.floor(Date.now() / 1000),
  });
  return token.save();
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/_stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  if (url.pathname === '/_refresh-token' && req.method === 'POST') {
    mintRefreshToken(url.searchParams.get('client'), url.searchParams.get('account') ?? 'user-1').then(
      (value) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ refresh_token: value }));
      },
      (err) => {
        res.statusCode = 500;
        res.end(String(err?.message ?? err));
      },
    );
    return;
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    // Counted before the provider reads the form, from a copy of the body.
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const grantType = new URLSearchParams(Buffer.concat(chunks).toString()).get('grant_type');
      if (grantType in stats.token) stats.token[grantType] += 1;
    });
  }
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
