/**
 * Reads where the proxy is (URL and TLS settings) from the "Secure Proxy API" credential.
 * The token stays out of the result: only n8n's credential `authenticate` step puts it on
 * the wire, so nothing the node builds (requests, outputs, errors) ever holds it.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import { parameterError } from './errors';
import type { ProxyTarget } from './shared/types';
import type { ProxyCaller } from './transport';

/** The credential type name, as n8n knows it. */
export const CREDENTIAL_TYPE = 'secureProxyApi';

/** Either the target, or why the credential cannot be used. */
export type ProxyTargetResult = { ok: true; target: ProxyTarget } | { ok: false; problem: string };

/** Validates the credential's Proxy URL and TLS fields. */
export function proxyTargetFrom(credentials: ICredentialDataDecryptedObject): ProxyTargetResult {
  const raw = typeof credentials.url === 'string' ? credentials.url.trim() : '';
  if (raw === '') return { ok: false, problem: 'The "Secure Proxy API" credential has no Proxy URL.' };
  const url = URL.parse(raw);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return { ok: false, problem: `The Proxy URL "${raw}" is not an http:// or https:// URL, e.g. https://secure-proxy.internal:8080.` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, problem: 'The Proxy URL must not contain a user name or password; the proxy token goes into the Proxy Token field.' };
  }
  if (url.search !== '' || url.hash !== '') {
    return { ok: false, problem: 'The Proxy URL must not contain a query (?…) or fragment (#…).' };
  }
  const baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const ca = typeof credentials.caCertificate === 'string' ? credentials.caCertificate.trim() : '';
  return {
    ok: true,
    target: {
      baseUrl,
      caCertificate: ca === '' ? undefined : ca,
      skipTlsVerification: credentials.ignoreSSLIssues === true,
    },
  };
}

/** Reads the proxy target from the node's credential; an unusable credential is a NodeOperationError. */
export async function readProxyTarget(this: ProxyCaller): Promise<ProxyTarget> {
  const result = proxyTargetFrom(await this.getCredentials(CREDENTIAL_TYPE));
  if (!result.ok) throw parameterError(this.getNode(), result.problem, { description: 'Fix the "Secure Proxy API" credential.' });
  return result.target;
}
