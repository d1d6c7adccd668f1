/**
 * The "Test" button of the "Secure Proxy API" credential: calls the proxy's `GET /v1/whoami`
 * and says which client the token belongs to, or exactly why it did not work (proxy
 * unreachable, TLS, token expired or unknown, not the proxy at all).
 *
 * n8n runs a node's `methods.credentialTest` function (referenced by `testedBy`) only when
 * the credential has no declarative `test`, and a declarative test can only answer
 * "Connection successful!". So the test is a function.
 *
 * n8n 2.41 gives credential-test functions exactly one HTTP helper, the legacy
 * `helpers.request` (see `ICredentialTestFunctions` in n8n-workflow): there is no
 * `httpRequestWithAuthentication` in this context and the credential's `authenticate` is not
 * applied, so this is the one place that writes the Authorization header itself. The token
 * goes only to the credential's own Proxy URL and never into the returned message.
 */
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';
import { bodyExcerpt, describeProxyError, describeRequestFailure, readProxyError } from '../errors';
import { proxyTargetFrom } from '../proxy-target';
import { WHOAMI_PATH, type WhoamiResponse } from '../shared/contract';
import { parseJsonBody } from '../shared/response';
import { normalizeResponse } from '../transport';
import { describeClient, expiryWarning, isWhoami } from './whoami';

/** The test waits this long for the proxy. */
const TEST_TIMEOUT = 15_000;

/** The HTTP helper n8n hands to credential tests. */
export type CredentialTestHelpers = ICredentialTestFunctions['helpers'];

/**
 * The success message: client, services and token expiry, plus a warning when the proxy says
 * the token expires within its warning window (older proxies do not say; then no warning).
 */
export function describeWhoami(whoami: WhoamiResponse): string {
  const connected = `Connected as ${describeClient(whoami)}`;
  const warning = expiryWarning(whoami, 'this credential');
  return warning === '' ? connected : `${connected}. ${warning}`;
}

/** Runs the test with the given helpers and credential data. */
export async function testProxyCredential(helpers: CredentialTestHelpers, data: ICredentialDataDecryptedObject): Promise<INodeCredentialTestResult> {
  const result = proxyTargetFrom(data);
  if (!result.ok) return { status: 'Error', message: result.problem };
  const target = result.target;
  const token = typeof data.token === 'string' ? data.token.trim() : '';
  if (token === '') return { status: 'Error', message: 'The "Secure Proxy API" credential has no Proxy Token.' };

  let raw: unknown;
  try {
    raw = await helpers.request({
      method: 'GET',
      uri: `${target.baseUrl}${WHOAMI_PATH}`,
      headers: { Authorization: `Bearer ${token}`, accept: 'application/json' },
      encoding: null,
      json: false,
      resolveWithFullResponse: true,
      simple: false,
      followRedirect: false,
      timeout: TEST_TIMEOUT,
      ...(target.skipTlsVerification ? { rejectUnauthorized: false } : {}),
      ...(target.caCertificate ? { agentOptions: { ca: target.caCertificate } } : {}),
    });
  } catch (error) {
    const failure = describeRequestFailure(error, { target, timeout: TEST_TIMEOUT });
    return { status: 'Error', message: `${failure.message}. ${failure.description}` };
  }

  const response = normalizeResponse(raw);
  const proxyError = readProxyError(response);
  if (proxyError !== null) {
    const described = describeProxyError(proxyError);
    return { status: 'Error', message: `${described.message} ${described.description}` };
  }
  const body = parseJsonBody(response.body);
  if (response.statusCode !== 200 || !isWhoami(body)) {
    return {
      status: 'Error',
      message: `The server at ${target.baseUrl} answered ${WHOAMI_PATH} with ${response.statusCode}, not like the secure proxy. Check that the Proxy URL points at the proxy (scheme, host, port, no extra path). Response: ${bodyExcerpt(response)}`,
    };
  }
  return { status: 'OK', message: describeWhoami(body) };
}

/** `methods.credentialTest.secureProxyApiTest`, referenced by the node's `testedBy`. */
export async function secureProxyApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
  return await testProxyCredential(this.helpers, credential.data ?? {});
}
