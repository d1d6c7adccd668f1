/**
 * Token requests with oauth4webapi (RFC 6749 client credentials and refresh token grants,
 * form-encoded, HTTP Basic or body client authentication), and what their failures become:
 * UPSTREAM_TOKEN_FAILED with the endpoint's OAuth error code, never a secret or the
 * endpoint's free-text description (which could quote one).
 */
import type * as OAuth from 'oauth4webapi';
import { ProxyError } from '../../../contract/proxy-error';
import { UpstreamAddressForbiddenError } from '../../address-guard';
import type { TokenFetch } from './token-fetch';

let library: typeof OAuth | undefined;

/**
 * oauth4webapi, loaded by the first oauth2 service compiled (compileOAuth2 calls this) rather
 * than at startup: most proxies have no oauth2 service, and every loaded module stays in the
 * heap that each full garbage collection marks.
 */
export function oauthLibrary(): typeof OAuth {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  library ??= require('oauth4webapi') as typeof OAuth;
  return library;
}

/** What the endpoint granted, checked by oauth4webapi. */
export interface GrantedToken {
  accessToken: string;
  /** Seconds, as the endpoint said; null when it did not say. */
  expiresIn: number | null;
  /** A new refresh token (rotation), when the endpoint issued one. */
  refreshToken: string | null;
}

/** Fixed settings of one service's token endpoint. */
export interface TokenEndpointSettings {
  service: string;
  tokenUrl: URL;
  clientAuth: 'basic' | 'body';
  scope?: string;
  audience?: string;
  timeoutMs: number;
  fetch: TokenFetch;
}

/** The client's credentials, from the Vault secret. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** OAuth error codes are `%x20-21 / %x23-5B / %x5D-7E`; anything else is not repeated. */
const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

function tokenFailed(settings: TokenEndpointSettings, what: string, detail: string, cause: unknown): ProxyError {
  return new ProxyError('UPSTREAM_TOKEN_FAILED', `The OAuth2 token endpoint of service '${settings.service}' ${what}; the API was not called.`, {
    detail,
    cause,
  });
}

function refusedWith(settings: TokenEndpointSettings, error: string, status: number): ProxyError {
  const code = OAUTH_ERROR_CODE.test(error) ? error : 'unreadable';
  return tokenFailed(settings, `refused with OAuth error '${code}' (HTTP ${status})`, code, { status });
}

/** The `error` code of an OAuth error body (RFC 6749 5.2), or null when the body is not one. */
async function oauthErrorOf(response: Response): Promise<string | null> {
  try {
    const body = (await response.clone().json()) as { error?: unknown };
    return typeof body.error === 'string' ? body.error : null;
  } catch (err) {
    // Not JSON, or already read: the status alone has to do.
    if (err instanceof SyntaxError || err instanceof TypeError) return null;
    throw err;
  }
}

/** Maps whatever oauth4webapi or the connection threw to UPSTREAM_TOKEN_FAILED. */
export async function tokenFailure(settings: TokenEndpointSettings, err: unknown): Promise<ProxyError> {
  if (err instanceof ProxyError) return err;
  const forbidden =
    err instanceof UpstreamAddressForbiddenError ? err : err instanceof Error && err.cause instanceof UpstreamAddressForbiddenError ? err.cause : null;
  if (forbidden !== null) {
    // The same SSRF guard as the target's, with the same answer: nothing was sent.
    const remedy = forbidden.allowable
      ? 'Set allowPrivateAddresses: true on the service if this address is intended.'
      : 'Cloud metadata endpoints are never reached through a host name.';
    return new ProxyError(
      'UPSTREAM_ADDRESS_FORBIDDEN',
      `The proxy did not connect to the OAuth2 token endpoint of service '${settings.service}': its ${forbidden.message}. ${remedy}`,
      { cause: forbidden },
    );
  }
  const oauth = oauthLibrary();
  if (err instanceof oauth.ResponseBodyError) return refusedWith(settings, err.error, err.status);
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with a challenge (client authentication failed) still carries the OAuth error in its body.
    const error = await oauthErrorOf(err.response);
    if (error !== null) return refusedWith(settings, error, err.status);
    return tokenFailed(settings, `refused the client's authentication (HTTP ${err.status})`, 'challenge', { status: err.status });
  }
  if (err instanceof oauth.OperationProcessingError) {
    // Its message describes the response's shape (never a value): "unexpected HTTP status code", "invalid token_type"...
    return tokenFailed(settings, `answered with something that is not a valid token response (${err.message})`, 'invalid-response', { code: err.code });
  }
  const name = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.name) : typeof err;
  return tokenFailed(settings, `could not be reached (${name})`, 'unreachable', { code: name });
}

function endpointOf(settings: TokenEndpointSettings): OAuth.AuthorizationServer {
  // Only the token endpoint is used: no discovery, no ID token to check an issuer against.
  return { issuer: settings.tokenUrl.origin, token_endpoint: settings.tokenUrl.href };
}

function requestOptions(settings: TokenEndpointSettings): OAuth.TokenEndpointRequestOptions {
  const oauth = oauthLibrary();
  const parameters = new URLSearchParams();
  if (settings.scope !== undefined) parameters.set('scope', settings.scope);
  if (settings.audience !== undefined) parameters.set('audience', settings.audience);
  return {
    additionalParameters: parameters,
    signal: AbortSignal.timeout(settings.timeoutMs),
    [oauth.customFetch]: settings.fetch,
    // http:// is the admin's explicit choice in tokenUrl, as it is for a target.
    [oauth.allowInsecureRequests]: settings.tokenUrl.protocol === 'http:',
  };
}

function clientAuthOf(settings: TokenEndpointSettings, credentials: ClientCredentials): OAuth.ClientAuth {
  const oauth = oauthLibrary();
  return settings.clientAuth === 'body' ? oauth.ClientSecretPost(credentials.clientSecret) : oauth.ClientSecretBasic(credentials.clientSecret);
}

function granted(settings: TokenEndpointSettings, response: OAuth.TokenEndpointResponse): GrantedToken {
  if (response.token_type !== 'bearer') {
    throw tokenFailed(settings, `issued a '${String(response.token_type).slice(0, 32)}' token, not a Bearer token`, 'token-type', null);
  }
  return {
    accessToken: response.access_token,
    expiresIn: typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in : null,
    refreshToken: typeof response.refresh_token === 'string' && response.refresh_token !== '' ? response.refresh_token : null,
  };
}

/** Client credentials grant. Rejects with UPSTREAM_TOKEN_FAILED. */
export async function requestClientCredentials(settings: TokenEndpointSettings, credentials: ClientCredentials): Promise<GrantedToken> {
  const oauth = oauthLibrary();
  const as = endpointOf(settings);
  const client: OAuth.Client = { client_id: credentials.clientId };
  try {
    const options = requestOptions(settings);
    const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuthOf(settings, credentials), options.additionalParameters!, options);
    return granted(settings, await oauth.processClientCredentialsResponse(as, client, response));
  } catch (err) {
    throw await tokenFailure(settings, err);
  }
}

/** Refresh token grant. Rejects with UPSTREAM_TOKEN_FAILED. */
export async function requestRefresh(settings: TokenEndpointSettings, credentials: ClientCredentials, refreshToken: string): Promise<GrantedToken> {
  const oauth = oauthLibrary();
  const as = endpointOf(settings);
  const client: OAuth.Client = { client_id: credentials.clientId };
  try {
    const response = await oauth.refreshTokenGrantRequest(as, client, clientAuthOf(settings, credentials), refreshToken, requestOptions(settings));
    return granted(settings, await oauth.processRefreshTokenResponse(as, client, response));
  } catch (err) {
    throw await tokenFailure(settings, err);
  }
}
