/**
 * `inject: { type: oauth2, grant, tokenUrl, scope, clientAuth, audience }`: `Authorization:
 * Bearer <access token>`, the token minted at the service's token endpoint with the client
 * credentials (and, for the refresh token grant, the refresh token) from the Vault secret.
 * Tokens are cached by the process's {@link TokenBroker}; a 401 from the API drops the token
 * that was refused (see `rejected`). Scrubbed from answers and kept out of logs: the access
 * token, the client secret and the refresh token.
 */
import { createHash } from 'node:crypto';
import type { InjectConfig } from '../../../config/schema';
import type { SecretData, SecretWriter } from '../../../secrets/types';
import type { HostResolver } from '../../address-guard';
import { ProxyError } from '../../../contract/proxy-error';
import { freezeInjection, INVALID_HEADER_VALUE, requireField, uniqueValues, type Injector } from '../types';
import { DEFAULT_TOKEN_LIFETIME_MS, TokenBroker, type CachedToken } from './broker';
import { refreshWithRotation } from './rotation';
import { oauthLibrary, requestClientCredentials, type ClientCredentials, type GrantedToken, type TokenEndpointSettings } from './token-endpoint';
import { createTokenFetch } from './token-fetch';

export { TokenBroker, type TokenEvent, type TokenListener } from './broker';

type OAuth2Config = Extract<InjectConfig, { type: 'oauth2' }>;

/** The header an oauth2 injection sets. */
export const OAUTH2_HEADERS = ['authorization'] as const;

/** What an oauth2 service needs from its surroundings. */
export interface OAuth2Context {
  service: string;
  /** The secret's KV path under the mount (where a rotated refresh token is written); the label passed to compile only names it. */
  secretPath: string;
  /** The process's token cache; a fresh one per compile when absent (tests). */
  broker?: TokenBroker;
  /** Where a rotated refresh token is written back; the refresh token grant fails closed without it. */
  writer?: SecretWriter;
  /** The service's SSRF and TLS settings apply to its token endpoint too. */
  allowPrivateAddresses: boolean;
  ca?: string;
  resolveHost?: HostResolver;
  /** The service's timeoutMs bounds a token request too. */
  timeoutMs: number;
}

export function redactOAuth2(config: OAuth2Config): string {
  const host = new URL(config.tokenUrl).host;
  return `OAuth2 ${config.grant} bearer token from ${host} with the client from fields '${config.clientIdField}' and '${config.clientSecretField}'${
    config.grant === 'refresh_token' ? ` and the refresh token in '${config.refreshTokenField}'` : ''
  }`;
}

/** One key per client and request shape: the same client and endpoint share a token across reloads; a changed secret gets its own. */
function cacheKey(config: OAuth2Config, secretPath: string, credentials: ClientCredentials): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        config.grant,
        config.tokenUrl,
        config.scope,
        config.audience,
        config.clientAuth,
        secretPath,
        credentials.clientId,
        credentials.clientSecret,
      ]),
    )
    .digest('hex');
}

export function compileOAuth2(config: OAuth2Config, secretLabel: string, context: OAuth2Context): Injector {
  // Loaded now, so a broken install fails the start, not the first token request.
  oauthLibrary();
  const broker = context.broker ?? new TokenBroker();
  const tokenUrl = new URL(config.tokenUrl);
  const endpoint: TokenEndpointSettings = {
    service: context.service,
    tokenUrl,
    clientAuth: config.clientAuth,
    scope: config.scope,
    audience: config.audience,
    timeoutMs: context.timeoutMs,
    fetch: createTokenFetch({ tokenUrl, allowPrivateAddresses: context.allowPrivateAddresses, ca: context.ca, resolveHost: context.resolveHost }),
  };

  const credentialsOf = (secret: SecretData): ClientCredentials => ({
    clientId: requireField(secret, config.clientIdField, secretLabel, 'encoded'),
    clientSecret: requireField(secret, config.clientSecretField, secretLabel, 'encoded'),
  });

  const mint = async (credentials: ClientCredentials, reason: 'mint' | 'refresh'): Promise<CachedToken> => {
    const grant = config.grant;
    broker.emit({ service: context.service, grant, kind: reason });
    let token: GrantedToken;
    const secretValues = [credentials.clientSecret];
    try {
      if (grant === 'client_credentials') {
        token = await requestClientCredentials(endpoint, credentials);
      } else {
        if (context.writer === undefined) {
          throw new ProxyError(
            'VAULT_FORBIDDEN',
            `Service '${context.service}' uses the refresh token grant, which needs write access to its Vault secret; this proxy has none.`,
          );
        }
        const rotated = await refreshWithRotation(
          { endpoint, secretPath: context.secretPath, secretLabel, refreshTokenField: config.refreshTokenField, writer: context.writer, broker },
          credentials,
        );
        token = rotated;
        secretValues.push(rotated.storedRefreshToken);
      }
    } catch (err) {
      broker.emit({ service: context.service, grant, kind: 'failure' });
      throw err;
    }
    if (INVALID_HEADER_VALUE.test(token.accessToken)) {
      broker.emit({ service: context.service, grant: config.grant, kind: 'failure' });
      throw new ProxyError(
        'UPSTREAM_TOKEN_FAILED',
        `The OAuth2 token endpoint of service '${context.service}' issued an access token that cannot go into a header; the API was not called.`,
        {
          detail: 'invalid-response',
        },
      );
    }
    broker.registerSecrets([token.accessToken]);
    const injection = freezeInjection({
      headers: [['authorization', `Bearer ${token.accessToken}`]],
      query: null,
      queryString: null,
      secretValues: uniqueValues([token.accessToken, ...secretValues]),
    });
    return { injection, lifetimeMs: token.expiresIn === null ? DEFAULT_TOKEN_LIFETIME_MS : token.expiresIn * 1000 };
  };

  return {
    type: 'oauth2',
    description: redactOAuth2(config),
    apply(secret) {
      const credentials = credentialsOf(secret);
      const key = cacheKey(config, context.secretPath, credentials);
      return broker.get(key, (reason) => mint(credentials, reason));
    },
    rejected: (injection) => broker.reject(injection),
    close: () => endpoint.fetch.close(),
  };
}
